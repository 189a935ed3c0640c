"""Merge a LoRA adapter into its base model, in fp32, into an ordinary model directory.

Merging in the training dtype (bf16) rounds base + B·A once more and drifts from what the adapter
computes; fp32 keeps merged and adapter outputs within float error (tests/models/test_merge.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tide.models.loading import load_model, load_tokenizer
from tide.core.files import fresh_sibling, replace_dir


def merge_adapter(model_cfg: dict, adapter_dir: str | Path, out_dir: str | Path) -> Path:
    """Base model of `model_cfg` + the adapter at `adapter_dir`, merged and saved (with the tokenizer) to `out_dir`."""
    from peft import PeftModel

    out_dir = Path(out_dir)
    merged = PeftModel.from_pretrained(load_model(model_cfg, "float32"), str(adapter_dir)).merge_and_unload()
    staging = fresh_sibling(out_dir, "tmp")
    try:
        merged.save_pretrained(staging)
        load_tokenizer(model_cfg).save_pretrained(staging)
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
