"""One real fine-tuned pipeline run as a sweep trial runs it, shared by the stage, W&B and dashboard tests.

`pipeline_trial` (tide/sweep/trial.py) runs `python -m launch.pipeline` in a subprocess on the test
session's Ray with the tiny model, W&B offline and the environment a W&B agent gives its command
(WANDB_RUN_ID), so the tests read back a real run. It runs once per test session, whichever test
module asks first.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.launch.test_data import SMALL, config

AGENT_RUN_ID = "agentrun01"
# Seconds, not minutes: few steps, few replies, a small bootstrap.
FAST = ["generate.limit=6", "generate.sampling.max_new_tokens=8", "generate.batch_size=6", "cluster.num_workers=1",
        "cluster.cpus_per_worker=0.5", "eval.bootstrap_samples=50",
        "train.max_steps=6", "train.per_device_batch_size=4", "train.gradient_accumulation_steps=1",
        "train.eval_every_steps=2", "train.eval_max_batches=2", "train.save_every_steps=100",
        "train.learning_rate=2e-2", "train.lora.r=4", "train.lora.alpha=8"]


@dataclass
class TrialRun:
    outputs: Path
    run_dir: Path
    overrides: list[str]                # the trial's, without the small-model ones `config` adds itself
    reports: list[tuple[float, dict]]   # (time, what the trial reported to Tune)
    metrics: dict                       # what the trial returned

    def config(self, *changes) -> dict:
        """The run's config as the pipeline composed it, with `changes` (overrides) on top."""
        return config(self.outputs, *self.overrides, *changes)

    def wandb_runs(self) -> list[Path]:
        return sorted((self.outputs / "wandb" / "wandb").glob("offline-run-*"))


@functools.cache
def _run_once(base: Path) -> TrialRun:
    from tide.sweep.trial import pipeline_trial

    outputs, run_dir = base / "outputs", base / "outputs" / "sweeps" / "t" / "trials" / "k1"
    overrides = [*FAST, f"run.dir={run_dir}", "run.name=t-k1", "logger.group=t"]
    reports: list[tuple[float, dict]] = []
    os.environ["WANDB_RUN_ID"] = AGENT_RUN_ID  # what `wandb agent` sets for the command it runs
    try:
        metrics = pipeline_trial([*SMALL, *overrides, f"paths.outputs={outputs}"], run_dir,
                                 lambda metrics: reports.append((time.time(), metrics)))
    finally:
        del os.environ["WANDB_RUN_ID"]
    return TrialRun(outputs, run_dir, overrides, reports, metrics)


@pytest.fixture(scope="session")
def finetuned_trial(tmp_path_factory, ray_local) -> TrialRun:
    return _run_once(tmp_path_factory.getbasetemp() / "finetuned-trial")


def read_wandb(run_dir: Path) -> tuple[dict, list[dict]]:
    """W&B's own reader on an offline run: (the --summary object, every record of the run as JSON)."""
    wandb_cli = str(Path(sys.executable).parent / "wandb")
    summary = subprocess.run([wandb_cli, "leet", "inspect", "--summary", "--json", str(run_dir)], capture_output=True,
                             text=True, timeout=120, check=True)
    records = subprocess.run([wandb_cli, "leet", "inspect", "--json", str(run_dir)], capture_output=True, text=True,
                             timeout=120, check=True)
    return json.loads(summary.stdout), [json.loads(line) for line in records.stdout.splitlines() if line.strip()]


def history_keys(records: list[dict]) -> set[str]:
    return {key for record in records if record["type"] == "history" for key in record["history"]["item"]}
