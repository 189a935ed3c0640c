"""Trial functions: what one sweep trial runs.

A trial function is `trial_fn(overrides, trial_dir, report) -> metrics`: it runs one configuration
(Hydra overrides, `key=value`), may call `report({...})` with intermediate metrics (each call is one
iteration for early termination), and returns the final metrics as a flat dict. The default runs the
whole pipeline in a subprocess; tests and custom studies pass their own as "module:function".

The pipeline's side of the contract (launch.pipeline, run with `run.dir=<trial_dir>`):
  - `<run.dir>/progress.jsonl` (tide.core.domain.PROGRESS_FILE): optional, a live file while training
    runs, one flat JSON object of numbers per line ({"train/step": 10, "train/val_loss": 1.9, ...},
    tide/train/progress.py); each new line is reported, so early termination acts on them;
  - the evaluate stage's "summary" output, found through its stage record (tide.stages.records): the
    final metrics, see `final_metrics` (e.g. the fine-tuned condition's mean cosine -> "eval/cosine/mean").
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from tide.core.domain import PROGRESS_FILE
from tide.core.runtime import PROJECT_ROOT
from tide.stages.records import read_stage_json, record_path, stage_output
from tide.track.keys import evaluation_keys, flatten

TrialFn = Callable[[list, Path, Callable[[dict], None]], dict]
DEFAULT_TRIAL_FN = "tide.sweep.trial:pipeline_trial"
PIPELINE_MODULE = "launch.pipeline"
STOP_GRACE_SECONDS = 1.0
POLL_SECONDS = 0.5  # how soon a validation reaches Tune: early termination acts on it


class TrialFailed(RuntimeError):
    pass


def load_trial_fn(path: str) -> TrialFn:
    """'package.module:function' -> the function."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"trial function {path!r}: expected 'package.module:function'")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ValueError(f"trial function {path!r}: {module_name} has no function {attribute!r}")
    return function


def pipeline_trial(overrides: list[str], trial_dir: Path, report: Callable[[dict], None]) -> dict:
    """`python -m launch.pipeline <overrides>` on the same Ray cluster as the sweep; output in pipeline.log."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    log_path = trial_dir / "pipeline.log"
    progress = ProgressReader(trial_dir / PROGRESS_FILE)
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", PIPELINE_MODULE, *overrides], cwd=PROJECT_ROOT,
                                   env=_pipeline_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            while process.poll() is None:
                progress.report_new(report)
                time.sleep(POLL_SECONDS)
        finally:
            if process.poll() is None:  # the trial was stopped (early termination or interrupt)
                stop_process(process)
    progress.report_new(report)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        raise TrialFailed(f"{PIPELINE_MODULE} exited with {process.returncode}; log {log_path}:\n" + "\n".join(tail))
    # The last validation's numbers come along, so a sweep ranked by train/val_loss has its final value.
    return {**progress.last, **final_metrics(trial_dir)}


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after STOP_GRACE_SECONDS: Tune reuses a stopped trial's actor for the next
    trial only when the trial's thread ends within 2 s (TUNE_FUNCTION_THREAD_TIMEOUT_S); otherwise the
    next trial fails. The pipeline's stages resume from what they wrote, so nothing is lost."""
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _pipeline_env() -> dict:
    """The trial's environment, pointed at the sweep's Ray cluster so the pipeline's workers join it."""
    import ray

    env = dict(os.environ)
    if ray.is_initialized():
        env["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    return env


class ProgressReader:
    """Reports each new line of a JSON-lines progress file once."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0
        self.last: dict = {}  # the last line reported

    def report_new(self, report: Callable[[dict], None]) -> None:
        if not self.path.is_file():
            return
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self.offset += len(complete)
        for line in complete.decode().splitlines():
            if line.strip():
                self.last = flatten(json.loads(line))
                report(self.last)


def final_metrics(run_dir: Path) -> dict:
    """A run's metrics from its evaluate stage's summary, flat, for the sweep and its table.

    The keys of tide.track.keys.evaluation_keys (e.g. "eval/cosine/mean": the run's own condition);
    the pipeline logs the same keys to its W&B run, so online sweeps see the same metric.
    """
    summary = read_stage_json(run_dir, "evaluate", "summary")
    if summary is None:
        raise TrialFailed(f"the pipeline finished without an evaluation summary (no complete evaluate stage "
                          f"in {record_path(run_dir, 'evaluate')})")
    try:
        return evaluation_keys(summary)
    except ValueError as error:
        raise TrialFailed(f"{stage_output(run_dir, 'evaluate', 'summary')}: {error}") from error
