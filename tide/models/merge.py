"""Merge a LoRA adapter into its base model, in fp32, into an ordinary model directory.

Merging in the training dtype (bf16) rounds base + B·A once more and drifts from what the adapter
computes; fp32 keeps merged and adapter outputs within float error (tests/models/test_merge.py).
"""

from __future__ import annotations

from pathlib import Path

from tide.config import ModelConfig
from tide.core.files import staged_dir
from tide.models.loading import load_model, load_tokenizer


def merge_adapter(model: ModelConfig, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Base model of `model` + the adapter at `adapter_dir`, merged and saved (with the tokenizer) to `out_dir`.

    An older `out_dir` stays whole until the new merge is complete.
    """
    from peft import PeftModel

    out_dir = Path(out_dir)
    merged = PeftModel.from_pretrained(load_model(model, "float32"), str(adapter_dir)).merge_and_unload()
    with staged_dir(out_dir) as staging:
        merged.save_pretrained(staging)
        load_tokenizer(model).save_pretrained(staging)
    return out_dir
