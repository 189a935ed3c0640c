"""The data stage: the validated, split artifact, the tiny model built on it, and their summary.

    settings  data.* (+ what builds the tiny model)   outputs  data.artifact_dir/{manifest,summary}.json
                                                                (+ model.path for the tiny model)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from tide.config import DataConfig, ModelConfig, PromptConfig, to_plain
from tide.core.domain import DATA_SUMMARY_FILE, MANIFEST_FILE
from tide.stages.contract import Stage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataStage(Stage):
    data: DataConfig
    model: ModelConfig
    prompt: PromptConfig
    seed: int
    name = "data"
    logs = False  # its summary is printed and written next to the artifact; `make data` opens no W&B run

    @classmethod
    def from_config(cls, config) -> "DataStage":
        return cls(config.data, config.model, config.prompt, config.seed)

    def tiny_model(self) -> dict | None:
        """What builds the tiny model (its tokenizer is trained on the train split); None for a real model."""
        if self.model.tokenizer is None:
            return None
        return {"path": self.model.path, "architecture": self.model.architecture,
                "tokenizer": to_plain(self.model.tokenizer), "seed": self.seed}

    def settings(self) -> dict:
        return {"data": to_plain(self.data), "tiny_model": self.tiny_model()}

    def inputs(self) -> dict[str, str]:
        return {}

    def outputs(self) -> dict[str, str]:
        artifact = Path(self.data.artifact_dir)
        outputs = {"manifest": str(artifact / MANIFEST_FILE), "summary": str(artifact / DATA_SUMMARY_FILE)}
        if self.tiny_model():
            outputs["tiny_model"] = self.model.path
        return outputs

    def replaceable(self) -> tuple[str, ...]:
        return ()  # the artifact and the tiny model are shared by every run on this data

    def intact(self, result: dict) -> bool:
        """Whether the shared artifact (and tiny model) are still what this run made or reused: changed source
        files, or a config pointed at the same place with other settings, may have rebuilt them since."""
        from tide.data.artifact import read_manifest

        manifest = read_manifest(self.data.artifact_dir)
        # (a record from before the tiny model's build was kept says nothing of it)
        same_model = "tiny_model_build" not in result or result["tiny_model_build"] == self._tiny_build()
        return manifest is not None and manifest["fingerprint"] == result["fingerprint"] and same_model

    def _tiny_build(self) -> str | None:
        from tide.models.tiny import existing_build_hash

        return existing_build_hash(self.model.path) if self.tiny_model() else None

    def run(self, tracker) -> dict:
        summary = prepare_data(self.data, self.model, self.prompt, self.tiny_model())
        result = {"fingerprint": summary["manifest"]["fingerprint"], "reused": summary["manifest"]["reused"],
                  "splits": {name: split["dialogues"] for name, split in summary["splits"].items()}}
        return {**result, "tiny_model_build": self._tiny_build()} if self.tiny_model() else result

    def made(self, result: dict) -> str:
        """The artifact's content (and the tiny model's build), whether this run built or reused them."""
        return ":".join(filter(None, (result["fingerprint"], result.get("tiny_model_build"))))

    def describe(self, result: dict) -> str:
        return f"{'reused' if result['reused'] else 'built'} {result['fingerprint'][:12]}: " + ", ".join(
            f"{name} {count}" for name, count in result["splits"].items())


def prepare_data(data: DataConfig, model: ModelConfig, prompt: PromptConfig, tiny: dict | None) -> dict:
    """Build (or reuse) the artifact and, for the tiny model, the model; returns the summary it writes."""
    from tide.core.files import write_json_atomic
    from tide.data.artifact import load_split
    from tide.data.prepare import prepare_dataset, split_summary

    manifest = prepare_dataset(data)
    artifact_dir = Path(data.artifact_dir)
    summary = {"manifest": manifest, "artifact_dir": str(artifact_dir), **split_summary(artifact_dir)}
    train = load_split(artifact_dir, "train")
    if tiny is not None:
        from tide.models.tiny import build_tiny_model

        texts = [text for row in train for text in (row["client"], row["reference"])]
        build_tiny_model(tiny["path"], texts, model.architecture, model.tokenizer, seed=tiny["seed"])
    summary.update(_token_lengths(manifest, train, model, prompt, reuse=tiny is None, artifact_dir=artifact_dir))
    write_json_atomic(artifact_dir / DATA_SUMMARY_FILE, summary)
    return summary


def _token_lengths(manifest: dict, train, model: ModelConfig, prompt: PromptConfig, reuse: bool,
                   artifact_dir: Path) -> dict:
    """The train split's token lengths under this model's chat template ({} without a tokenizer)."""
    from tide.data.lengths import token_length_percentiles

    lengths_key = {"fingerprint": manifest["fingerprint"], "model": [model.name, model.path, model.hf_id,
                                                                      model.gguf_file],
                   "prompt": {"system": prompt.system, "max_length": prompt.max_length}}
    earlier = _earlier_summary(artifact_dir)
    if manifest.get("reused") and reuse and earlier.get("lengths_key") == lengths_key:
        # A sweep's trials share the artifact: one chat-template render per row is paid once, not per trial.
        return {key: earlier[key] for key in ("tokens", "model", "lengths_key") if key in earlier}
    tokenizer = _tokenizer_or_none(model)
    if tokenizer is None:
        return {}
    tokens = token_length_percentiles(train, tokenizer, prompt.system, prompt.max_length, model.stop_token)
    return {"tokens": tokens, "model": {"name": model.name, "source": _model_source(model)},
            "lengths_key": lengths_key}


def _earlier_summary(artifact_dir: Path) -> dict:
    path = artifact_dir / DATA_SUMMARY_FILE
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):  # a summary from an older layout is simply recomputed
        return {}


def _model_source(model: ModelConfig) -> str:
    """Where the weights come from: a directory (also a converted GGUF) or the Hub id."""
    from tide.models.loading import resolve_model_source

    return model.path or resolve_model_source(model)


def _tokenizer_or_none(model: ModelConfig):
    from tide.models.loading import ModelNotAvailableError, load_tokenizer

    try:
        return load_tokenizer(model)
    except ModelNotAvailableError as error:
        log.warning("token lengths skipped: %s", error)
        return None
