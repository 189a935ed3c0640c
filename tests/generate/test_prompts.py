"""Generation prompts: the shared chat format, no reference text, longest first, a seed per dialogue."""

from transformers import AutoTokenizer

from tide.data.chat import encode_prompt
from tide.generate.prompts import build_prompts, row_seed


def test_prompts_use_the_chat_format_and_never_the_reference(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = [{"dialogue_id": f"p{i}-c1", "persona_id": f"p{i}", "scenario": "flashbacks", "client": client,
             "reference": "SECRET REFERENCE"} for i, client in enumerate(["Short.", "A much longer client turn here."])]
    prompts = build_prompts(rows, tokenizer, "Be kind.", seed=3)
    assert [p["dialogue_id"] for p in prompts] == ["p1-c1", "p0-c1"]  # longest first
    for prompt, row in zip(prompts, rows[::-1]):
        assert prompt["prompt_ids"] == encode_prompt(tokenizer, "Be kind.", row["client"])
        assert prompt["prompt_tokens"] == len(prompt["prompt_ids"])
        assert "SECRET" not in prompt["prompt"] and prompt["prompt"].endswith("<|im_start|>assistant\n")
        assert prompt["seed"] == row_seed(3, row["dialogue_id"])


def test_row_seed_depends_on_run_seed_and_dialogue_only():
    assert row_seed(42, "p1-c1") == row_seed(42, "p1-c1")
    assert len({row_seed(42, "p1-c1"), row_seed(42, "p1-c2"), row_seed(43, "p1-c1")}) == 3
    assert 0 <= row_seed(42, "p1-c1") < 2**63
