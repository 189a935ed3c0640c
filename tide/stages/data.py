"""The data stage's work: the validated, split artifact, the tiny model built on it, and their summary."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def tiny_model_settings(config: dict) -> dict | None:
    """What builds the tiny model (its tokenizer is trained on the train split); None for a real model."""
    model_cfg = config["model"]
    if not model_cfg.get("tokenizer"):
        return None
    return {"path": model_cfg["path"], "architecture": model_cfg["architecture"],
            "tokenizer": model_cfg["tokenizer"], "seed": config["seed"]}


def prepare_data(config: dict) -> dict:
    """Build (or reuse) the artifact and, for the tiny model, the model; returns the summary it writes."""
    from tide.data.artifact import load_split, write_json_atomic
    from tide.data.lengths import token_length_percentiles
    from tide.data.prepare import prepare_dataset, split_summary

    data_cfg, model_cfg = config["data"], config["model"]
    manifest = prepare_dataset(data_cfg)
    artifact_dir = Path(data_cfg["artifact_dir"])
    summary = {"manifest": manifest, "artifact_dir": str(artifact_dir), **split_summary(artifact_dir)}

    train = load_split(artifact_dir, "train")
    tiny = tiny_model_settings(config)
    if tiny is not None:
        from tide.models.tiny import build_tiny_model

        texts = [text for row in train for text in (row["client"], row["reference"])]
        build_tiny_model(tiny["path"], texts, tiny["architecture"], tiny["tokenizer"], seed=tiny["seed"])
    tokenizer = _tokenizer_or_none(model_cfg)
    if tokenizer is not None:
        summary["tokens"] = token_length_percentiles(
            train, tokenizer, config["prompt"]["system"], config["prompt"]["max_length"], model_cfg["stop_token"])
        summary["model"] = {"name": model_cfg["name"], "source": model_cfg["path"] or model_cfg["hf_id"]}
    write_json_atomic(artifact_dir / "summary.json", summary)
    return summary


def _tokenizer_or_none(model_cfg: dict):
    from tide.models.loading import ModelNotAvailableError, load_tokenizer

    try:
        return load_tokenizer(model_cfg)
    except ModelNotAvailableError as error:
        log.warning("token lengths skipped: %s", error)
        return None
