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
    from tide.data.artifact import load_split
    from tide.core.files import write_json_atomic
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
    lengths_key = {"fingerprint": manifest["fingerprint"], "model": [model_cfg.get(key) for key in ("name", "path", "hf_id", "gguf_file")],
                   "prompt": {key: config["prompt"][key] for key in ("system", "max_length")}}
    earlier = _earlier_summary(artifact_dir)
    if manifest.get("reused") and tiny is None and earlier.get("lengths_key") == lengths_key:
        # A sweep's trials share the artifact: one chat-template render per row is paid once, not per trial.
        summary.update({key: earlier[key] for key in ("tokens", "model", "lengths_key") if key in earlier})
    else:
        tokenizer = _tokenizer_or_none(model_cfg)
        if tokenizer is not None:
            summary["tokens"] = token_length_percentiles(
                train, tokenizer, config["prompt"]["system"], config["prompt"]["max_length"], model_cfg["stop_token"])
            summary["model"] = {"name": model_cfg["name"], "source": _model_source(model_cfg)}
            summary["lengths_key"] = lengths_key
    write_json_atomic(artifact_dir / "summary.json", summary)
    return summary


def _earlier_summary(artifact_dir: Path) -> dict:
    import json

    path = artifact_dir / "summary.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):  # a summary from an older layout is simply recomputed
        return {}


def _model_source(model_cfg: dict) -> str:
    """Where the weights come from: a directory (also a converted GGUF) or the Hub id."""
    from tide.models.loading import resolve_model_source

    return model_cfg.get("path") or resolve_model_source(model_cfg)


def _tokenizer_or_none(model_cfg: dict):
    from tide.models.loading import ModelNotAvailableError, load_tokenizer

    try:
        return load_tokenizer(model_cfg)
    except ModelNotAvailableError as error:
        log.warning("token lengths skipped: %s", error)
        return None
