"""The suite's training as the benchmarks run it: short runs of a `TrainingJob`, and its encoded train split.

Every benchmark training is one `TrainingJob` changed with `with_options` (so it is checked like a
command line's options) and run by `tide.train.trainer.train` itself, with no W&B run: a benchmark is
not an experiment to track.
"""

from __future__ import annotations

from pathlib import Path

from tide.config import with_options
from tide.train.job import TrainingJob

# Steps no benchmark reaches: no validation and no checkpoint inside the timed steps.
NEVER = 10**9


def benchmark_job(job: TrainingJob, steps: int, label: str, bench_dir: Path, options: dict | None = None
                  ) -> TrainingJob:
    """`job` as a short benchmark training named bench-<label>, under bench_dir, nothing resumed or merged.

    `options` ({"cluster.num_workers": 2, "train.precision": "bf16"}) are applied on top, in the same call.
    """
    return with_options(job, {
        "train.max_steps": steps, "train.eval_every_steps": NEVER, "train.save_every_steps": NEVER,
        "train.eval_max_batches": 1, "train.resume": False, "train.merge": False,
        "cluster.storage_path": str(bench_dir / "ray"),
        "run_name": f"bench-{label}", "run_dir": str(bench_dir / "runs" / label),
        **(options or {})})


def train_untracked(job: TrainingJob) -> dict:
    """The training summary of `job`, run by the suite's trainer without a W&B run."""
    from tide.track import TrackedRun
    from tide.train.trainer import train

    return train(job, TrackedRun(None))


def encoded_train_split(job: TrainingJob, tokenizer, rows: int | None = None):
    """The data artifact's train split (its first `rows` when given) encoded as the worker loop encodes it."""
    from tide.data.artifact import load_split
    from tide.train.data import encode_split

    split = load_split(job.data_dir, "train")
    if rows is not None:
        split = split.select(range(rows))
    return encode_split(split, tokenizer, job.prompt.system, job.prompt.max_length, job.model.stop_token)
