"""Where a training worker runs: under Ray Train, or alone in this process (cluster.runner=bare).

The loop (tide/train/loop.py) asks its context four things: its rank and world size, its device, the
latest checkpoint of this run (to resume), and where to report a checkpoint. Ray Train answers them for
its workers; `BareWorkerContext` answers them for one process with no Ray at all (a GPU machine where
Ray is not installed, and the bare-vs-Ray overhead benchmark), keeping checkpoints in a local folder
with the same contents, so a bare run resumes the same way.
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

CHECKPOINT_PREFIX = "checkpoint_"
REPORTED_METRICS_FILE = "metrics.json"


class RayWorkerContext:
    """A Ray Train worker's view: ray.train's context, device, checkpoint and report."""

    def __init__(self):
        import ray.train
        import ray.train.torch

        context = ray.train.get_context()
        self.rank, self.world_size = context.get_world_rank(), context.get_world_size()
        self.device = ray.train.torch.get_device()

    def torch_threads(self) -> int:
        from tide.core.runtime import match_torch_threads_to_ray

        return match_torch_threads_to_ray()

    def latest_checkpoint(self):
        import ray.train

        return ray.train.get_checkpoint()

    def report(self, metrics: dict, directory: str) -> None:
        import ray.train

        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory))


@dataclass(frozen=True)
class LocalCheckpoint:
    """A checkpoint folder on local disk, read the way a Ray Train checkpoint is (`as_directory`)."""

    path: Path

    @contextmanager
    def as_directory(self):
        yield str(self.path)


class BareWorkerContext:
    """The only worker of a run in this process: rank 0 of 1, checkpoints under `checkpoint_root`.

    Each report copies the worker's folder to checkpoint_root/checkpoint_<step> through a temporary
    sibling and a rename (a killed run never leaves a half-written checkpoint that looks complete),
    then keeps the newest `keep` (None: all), as Ray Train's CheckpointConfig(num_to_keep) does.
    """

    rank, world_size = 0, 1

    def __init__(self, device: torch.device, checkpoint_root: Path, keep: int | None):
        self.device, self.root, self.keep = device, Path(checkpoint_root), keep

    def torch_threads(self) -> int:
        return torch.get_num_threads()

    def checkpoints(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        found = [path for path in self.root.iterdir() if path.is_dir() and path.name.startswith(CHECKPOINT_PREFIX)
                 and path.name[len(CHECKPOINT_PREFIX):].isdigit()]
        return sorted(found, key=lambda path: int(path.name[len(CHECKPOINT_PREFIX):]))

    def latest_checkpoint(self) -> LocalCheckpoint | None:
        found = self.checkpoints()
        return LocalCheckpoint(found[-1]) if found else None

    def report(self, metrics: dict, directory: str) -> None:
        target = self.root / f"{CHECKPOINT_PREFIX}{int(metrics['step']):09d}"
        staging = target.with_name(f".{target.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(directory, staging)
        (staging / REPORTED_METRICS_FILE).write_text(json.dumps(metrics, default=str), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        if self.keep:
            for old in self.checkpoints()[:-self.keep]:
                shutil.rmtree(old, ignore_errors=True)
