"""Token-length statistics under a model's tokenizer, through the shared chat format."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from tide.data.chat import encode_example

PERCENTILES = (50, 90, 99, 100)


def token_length_percentiles(rows, tokenizer, system_prompt: str | None, max_length: int | None = None,
                             stop_token: str | None = None, progress: bool = True) -> dict:
    """{"prompt"|"reply"|"total": {"p50", "p90", "p99", "max"}, "truncated": n} over `rows`."""
    prompt, total, truncated = [], [], 0
    for row in tqdm(rows, desc="token lengths", unit="dialogue", disable=not progress, mininterval=1.0):
        example = encode_example(tokenizer, system_prompt, row["client"], row["reference"], None, stop_token)
        prompt.append(example["prompt_length"])
        total.append(len(example["input_ids"]))
        truncated += max_length is not None and len(example["input_ids"]) > max_length
    prompt, total = np.array(prompt), np.array(total)
    stats = {name: _percentiles(values) for name, values in
             (("prompt", prompt), ("reply", total - prompt), ("total", total))}
    return {**stats, "over_max_length": int(truncated), "max_length": max_length}


def _percentiles(values: np.ndarray) -> dict:
    names = [f"p{p}" if p < 100 else "max" for p in PERCENTILES]
    return {name: int(np.percentile(values, p)) for name, p in zip(names, PERCENTILES)}
