"""The train stage: fine-tune on the data artifact's train split (Ray Train; tide/train).

    settings  everything that shapes the trajectory (model, train.*, deepspeed, prompt, seed, workers)
              + train.merge
    outputs   run.dir/adapter (or merged for full fine-tuning), run.dir/train_summary.json (+ merged)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tide.core.domain import ADAPTER_DIR, MERGED_DIR, PROGRESS_FILE, TRAIN_SUMMARY_FILE
from tide.stages.contract import Stage
from tide.train.job import TrainingJob

RESULT_KEYS = ("steps", "final_train_loss", "final_val_loss", "adapter_dir", "merged_dir", "ray_run")


@dataclass(frozen=True)
class TrainStage(Stage):
    job: TrainingJob
    name = "train"

    @classmethod
    def from_config(cls, config) -> "TrainStage | None":
        if config.pipeline.condition != "finetuned":
            return None  # zero-shot: the base model's replies, nothing to train
        return cls(TrainingJob.from_config(config))

    @property
    def run_dir(self) -> Path:
        return Path(self.job.run_dir)

    def weights_dir(self) -> str:
        """Where the trained weights land: the adapter, or the whole model for full fine-tuning."""
        return str(self.run_dir / (MERGED_DIR if self.job.train.method == "full" else ADAPTER_DIR))

    def settings(self) -> dict:
        from tide.train.trainer import trajectory_settings

        return {**trajectory_settings(self.job), "merge": self.job.train.merge}

    def inputs(self) -> dict[str, str]:
        return {"data": self.job.data_dir}

    def outputs(self) -> dict[str, str]:
        outputs = {"weights": self.weights_dir(), "summary": str(self.run_dir / TRAIN_SUMMARY_FILE)}
        if self.job.train.merge and self.job.train.method != "full":
            outputs["merged"] = str(self.run_dir / MERGED_DIR)
        return outputs

    def after(self) -> tuple[str, ...]:
        return ("data",)

    def replaceable(self) -> tuple[str, ...]:
        return (*self.outputs().values(), str(self.run_dir / MERGED_DIR), str(self.run_dir / PROGRESS_FILE))

    def run(self, tracker) -> dict:
        from tide.train.trainer import train

        (self.run_dir / PROGRESS_FILE).unlink(missing_ok=True)  # this training's validations only
        summary = train(self.job, tracker)
        return {key: summary[key] for key in RESULT_KEYS}

    def log_complete(self, result: dict, tracker) -> None:
        from tide.track.keys import training_summary_keys
        from tide.train.progress import replay_history

        summary = json.loads(Path(self.outputs()["summary"]).read_text())
        replay_history(tracker, summary)
        tracker.summary(training_summary_keys(summary))

    def describe(self, result: dict) -> str:
        return f"{result['steps']} steps, final val loss {result['final_val_loss']:.4f}"
