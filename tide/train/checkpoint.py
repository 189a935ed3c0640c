"""Checkpoint folders: everything a worker needs to continue exactly where it stopped.

    trainer_state.json   step, epoch, position in the epoch, loss history, tokens seen (rank 0)
    rng_rank<N>.pt       each worker's random state (dropout differs per worker)
    ddp_state.pt | deepspeed/   trainable weights, optimizer and schedule (engine.py)
    adapter/ | model/    the final checkpoint only: the PEFT adapter, or the whole model (full fine-tuning)

Every worker writes its own files into its own folder and reports it; Ray Train merges them into one
checkpoint folder in cluster.storage_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tide.core.domain import ADAPTER_DIR  # a checkpoint's adapter/ is named like the run's

TRAINER_STATE_FILE = "trainer_state.json"
MODEL_DIR = "model"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class EmptyAdapterError(RuntimeError):
    """A saved adapter holds no weights (the classic ZeRO-3 failure: parameters saved while sharded)."""


def save_training_checkpoint(directory: Path, engine, state: dict, rank: int) -> None:
    engine.save_state(directory, rank)
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, directory / f"rng_rank{rank}.pt")
    if rank == 0:
        (directory / TRAINER_STATE_FILE).write_text(json.dumps(state, indent=1))


def load_training_checkpoint(directory: Path, engine, rank: int) -> dict:
    rng_file = directory / f"rng_rank{rank}.pt"
    if not rng_file.is_file():
        raise FileNotFoundError(f"{rng_file}: this checkpoint was written by fewer workers; resume it with "
                                "the cluster.num_workers it was trained with")
    engine.load_state(directory)
    rng = torch.load(rng_file, weights_only=True)
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["cuda"])
    return json.loads((directory / TRAINER_STATE_FILE).read_text())


def export_weights(directory: Path, engine, method: str, tokenizer, rank: int) -> None:
    """Write the trained weights whole: adapter/ (LoRA, QLoRA) or model/ (full). Collective."""
    state = engine.full_trainable_state(rank)
    if rank != 0:
        return
    if method == "full":
        engine.module.save_pretrained(directory / MODEL_DIR, state_dict=state)
        tokenizer.save_pretrained(directory / MODEL_DIR)
    else:
        engine.module.save_pretrained(directory / ADAPTER_DIR, state_dict=state)
        check_adapter(directory / ADAPTER_DIR)


def check_adapter(adapter_dir: Path) -> int:
    """Raise EmptyAdapterError unless every tensor of the adapter has values; returns the tensor count."""
    from safetensors import safe_open

    path = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not path.is_file():
        raise EmptyAdapterError(f"{path}: adapter weights missing")
    with safe_open(str(path), framework="pt") as weights:
        names = list(weights.keys())
        empty = [name for name in names if 0 in weights.get_slice(name).get_shape()]
    if not names or empty:
        raise EmptyAdapterError(f"{path}: adapter is empty ({len(names)} tensors, empty: {empty[:3]}); under "
                                "ZeRO-3 the weights must be gathered before saving")
    return len(names)
