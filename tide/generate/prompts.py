"""Generation inputs: one prompt per dialogue, rendered by the shared chat format, with its own seed.

The reference reply never enters the prompt: the model sees the system prompt and the client turn only,
exactly as in training (tide.data.chat). Rows are sorted longest first so that consecutive rows, and
therefore the batches Ray Data cuts from them, have similar lengths (little padding), and so that a
batch too long for memory fails at the start of a job rather than at its end.
"""

from __future__ import annotations

import hashlib

from tide.data.chat import encode_prompt, render_prompt


def row_seed(seed: int, dialogue_id: str) -> int:
    """A dialogue's sampling seed: fixed by the run seed and the dialogue, not by batch or position.

    Both conditions use the same seed for a dialogue (paired comparison: same random numbers).
    """
    digest = hashlib.sha256(f"{seed}:{dialogue_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # 63 bits: fits torch and vLLM seeds


def build_prompts(rows, tokenizer, system_prompt: str | None, seed: int) -> list[dict]:
    """One generation input per dialogue row of a split, longest prompt first."""
    prompts = []
    for row in rows:
        prompt_ids = encode_prompt(tokenizer, system_prompt, row["client"])
        prompts.append({
            "dialogue_id": row["dialogue_id"],
            "persona_id": row["persona_id"],
            "scenario": row["scenario"],
            "prompt": render_prompt(tokenizer, system_prompt, row["client"]),
            "prompt_ids": prompt_ids,
            "prompt_tokens": len(prompt_ids),
            "seed": row_seed(seed, row["dialogue_id"]),
        })
    return sorted(prompts, key=lambda p: (-p["prompt_tokens"], p["dialogue_id"]))
