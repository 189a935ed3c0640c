"""Load a model preset's tokenizer and weights, from a local directory, a GGUF file or the local HF cache.

The suite runs offline by default (HF_HUB_OFFLINE=1), so a missing model must fail early with a message
that says how to get it, not with a connection error deep inside transformers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from huggingface_hub import snapshot_download
from huggingface_hub.errors import LocalEntryNotFoundError
from transformers import AutoModelForCausalLM, AutoTokenizer

from tide.config import ModelConfig
from tide.models.errors import ModelNotAvailableError

__all__ = ["ModelNotAvailableError", "load_model", "load_tokenizer", "resolve_model_source"]


def resolve_model_source(model: ModelConfig) -> str:
    """A local directory holding the model, or (online only) the hub id for transformers to download."""
    name = model.name
    if model.path is not None:
        return _local_dir(model)
    if model.gguf_file or model.gguf_wheel:
        from tide.models.gguf import ensure_converted  # converts once, then reuses the directory

        return ensure_converted(model)
    hf_id = model.hf_id
    if hf_id is None:
        raise ModelNotAvailableError(
            f"model {name!r} sets neither `path` nor `hf_id`: set model.path=/dir/with/weights "
            "or pick a preset with an hf_id (see conf/model/)"
        )
    snapshot = _cached_snapshot(hf_id)
    if snapshot is not None:
        # A local path: from_pretrained then never asks the Hub, whatever the offline flags say.
        return snapshot
    if _offline():
        raise ModelNotAvailableError(
            f"model {name!r} ({hf_id}) is not in the local Hugging Face cache ({_hub_cache_dir()}) and "
            "the Hub is off (HF_HUB_OFFLINE=1). On a machine with Hub access run "
            f"`huggingface-cli download {hf_id}` (accept the model's licence on the Hub first; gated models "
            "read HF_TOKEN from the environment) and share the cache (HF_HOME), or copy the files "
            "somewhere and set model.path=/dir/with/weights."
        )
    return hf_id


def load_tokenizer(model: ModelConfig):
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(model))
    # Batching needs a pad token and some instruct models (Llama 3.2) ship none; the attention mask
    # hides padding, so reusing eos is safe.
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: ModelConfig, dtype: str = "float32"):
    """The causal LM in `dtype` ("float32", "bfloat16", "float16", or "auto" for the checkpoint's own)."""
    torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
    return AutoModelForCausalLM.from_pretrained(resolve_model_source(model), dtype=torch_dtype)


def _local_dir(model: ModelConfig) -> str:
    path = Path(model.path).expanduser()
    if (path / "config.json").is_file():
        return str(path)
    message = f"model {model.name!r}: {path} is not a model directory (no config.json)."
    if model.tokenizer is not None:
        # A `tokenizer` section marks a model this suite trains itself (tiny), not one to download.
        message += " It is built from the synthetic corpus by `make demo` or `python -m launch.data`."
    else:
        message += " Point model.path at a directory with the weights, or set model.path=null to use hf_id."
    raise ModelNotAvailableError(message)


def _cached_snapshot(hf_id: str) -> str | None:
    """The cached snapshot of `hf_id` when its config and every weight file are present."""
    try:
        snapshot = Path(snapshot_download(hf_id, cache_dir=_hub_cache_dir(), local_files_only=True))
    except LocalEntryNotFoundError:
        return None
    if not (snapshot / "config.json").is_file():
        return None
    # Sharded checkpoints list their shards in an index; an interrupted download lacks some of them.
    indexes = list(snapshot.glob("*.index.json"))
    if indexes:
        complete = any(
            all((snapshot / shard).is_file() for shard in json.loads(index.read_text())["weight_map"].values())
            for index in indexes
        )
    else:
        complete = any(snapshot.glob("*.safetensors")) or any(snapshot.glob("*.bin"))
    return str(snapshot) if complete else None


def _hub_cache_dir() -> str:
    # huggingface_hub reads these variables once, at import; reading them now honours a launcher or
    # test that sets them later.
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    hf_home = os.environ.get("HF_HOME", os.path.join(xdg, "huggingface"))
    return os.path.join(os.path.expanduser(hf_home), "hub")


def _offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return any(str(flag).upper() in {"1", "ON", "YES", "TRUE"} for flag in flags)
