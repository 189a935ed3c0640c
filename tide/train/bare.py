"""cluster.runner=bare: the suite's own training loop in this one process, without Ray.

The same worker code as under Ray Train (tide/train/loop.py: engine, batching, collation, checkpoints,
summary), as rank 0 of 1 on this machine's first GPU (or the CPU). DeepSpeed needs torch.distributed:
it gets a one-process group (NCCL on a GPU, gloo on the CPU), the group Ray Train would have set up.
It serves a GPU machine where Ray is not installed, and measures what Ray Train adds (`make gpu-check`'s
ray_train_overhead). A run resumes from its latest local checkpoint like a Ray run does.
"""

from __future__ import annotations

import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from tide.train.context import BareWorkerContext, LocalCheckpoint
from tide.train.job import WorkerPlan


class BareRunnerError(RuntimeError):
    """The bare runner cannot run this job here (a GPU asked for and none present)."""


@dataclass(frozen=True)
class BareResult:
    """What the trainer reads of a finished run, as of a Ray Train Result: rank 0's summary, last checkpoint."""

    return_value: dict | None
    checkpoint: LocalCheckpoint | None


def bare_device(use_gpu: bool) -> torch.device:
    if not use_gpu:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise BareRunnerError("cluster.use_gpu=true but torch sees no CUDA device (cluster.runner=bare runs here)")
    return torch.device("cuda", torch.cuda.current_device())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def one_process_group(device: torch.device):
    """torch.distributed with this process alone (world size 1), for DeepSpeed; removed afterwards."""
    import torch.distributed as dist

    if dist.is_initialized():  # someone else's group (a test harness): use it as it is
        yield
        return
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0",
                       "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}.items():
        os.environ[key] = value
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()
        _forget_deepspeed_backend()


def _forget_deepspeed_backend() -> None:
    """DeepSpeed caches the first group it saw: its backend (deepspeed.comm.comm.cdb) and the groups it made
    from it (deepspeed.utils.groups: _WORLD_GROUP...). A second bare run in this process makes a new group,
    which those stale ones would refuse ("Group ... is not registered"): forget them with the group."""
    comm, groups = sys.modules.get("deepspeed.comm.comm"), sys.modules.get("deepspeed.utils.groups")
    if comm is not None:
        comm.cdb = None
    if groups is not None:
        for name, value in vars(groups).copy().items():
            if name.startswith("_") and ("GROUP" in name) and name.isupper():
                setattr(groups, name, {} if isinstance(value, dict) else None)


def fit_bare(plan: WorkerPlan, checkpoint_root: Path) -> BareResult:
    """Train `plan` in this process; checkpoints in checkpoint_root (resumed from when it holds some)."""
    from tide.train.loop import run_worker

    device = bare_device(plan.job.cluster.use_gpu)
    context = BareWorkerContext(device, checkpoint_root, plan.job.train.keep_last_checkpoints)
    if plan.ds_config is None:
        summary = run_worker(plan, context)
    else:
        with one_process_group(device):
            summary = run_worker(plan, context)
    return BareResult(summary, context.latest_checkpoint())
