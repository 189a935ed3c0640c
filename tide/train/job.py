"""What a training needs from the configuration, as one frozen value the driver checks and Ray ships to workers.

`TrainingJob` holds the typed slices that shape a training (model, train, deepspeed, cluster, prompt)
and the few single values it reads from other groups (the data artifact, the run's name and directory,
the seed). `WorkerPlan` is what every Ray Train worker receives: the job plus what the driver derived
from it once (precision, the DeepSpeed config, rank 0's progress queue), never the whole config.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from tide.config.schema import (ClusterConfig, DeepSpeedConfig, ModelConfig, PromptConfig, TideConfig,
                                TrainConfig)


@dataclass(frozen=True)
class TrainingJob:
    model: ModelConfig
    train: TrainConfig
    deepspeed: DeepSpeedConfig
    cluster: ClusterConfig
    prompt: PromptConfig
    data_dir: str      # data.artifact_dir: the prepared splits
    run_name: str      # run.name: names the Ray run (with the trajectory fingerprint)
    run_dir: str       # run.dir: adapter/, merged/, train_summary.json, progress.jsonl
    seed: int

    @classmethod
    def from_config(cls, config: TideConfig) -> TrainingJob:
        """The job a composed config describes (the train stage's, the bench's, the tests')."""
        return cls(model=config.model, train=config.train, deepspeed=config.deepspeed, cluster=config.cluster,
                   prompt=config.prompt, data_dir=config.data.artifact_dir, run_name=config.run.name,
                   run_dir=config.run.dir, seed=config.seed)


@dataclass(frozen=True)
class WorkerPlan:
    """The job and what the driver resolved from it, handed to every Ray Train worker."""

    job: TrainingJob
    precision: str                # "bf16" or "fp32" (tide/train/ds_config.py: resolve_precision)
    ds_config: dict | None        # the checked DeepSpeed config; None: plain DDP
    progress_queue: object        # ray.util.queue.Queue to the driver (tide/train/progress.py); rank 0 uses it

    def as_loop_config(self) -> dict:
        """Ray Train's `train_loop_config` (a dict); `WorkerPlan(**loop_config)` on the worker rebuilds it.

        One level only: the slices stay dataclasses (dataclasses.asdict would turn them into dicts).
        """
        return {field.name: getattr(self, field.name) for field in fields(self)}
