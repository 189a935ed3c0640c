"""The sweep's own W&B run: the results table and the best trial, grouped with the trials' runs.

Each trial's run (config, curves, generation tables, summary) is written by the pipeline with
`logger.group=<sweep>`; this run (job_type "sweep") adds one table with a row per trial. Only the
spec and the overrides are logged as config: nothing from the environment.
"""

from __future__ import annotations

import math
from pathlib import Path

from tide.config import LoggerConfig
from tide.sweep.spec import SweepSpec


def best_row(frame, spec: SweepSpec) -> dict | None:
    if frame.empty or spec.metric not in frame:
        return None
    scored = frame[frame[spec.metric].notna()]
    if scored.empty:
        return None
    index = scored[spec.metric].idxmax() if spec.goal == "maximize" else scored[spec.metric].idxmin()
    return scored.loc[index].to_dict()


def log_results(frame, spec: SweepSpec, logger: LoggerConfig, fixed_overrides: list[str]) -> str | None:
    """Log the table to W&B (offline or online, as `logger.mode` says); returns the run's directory."""
    if logger.name == "none" or logger.mode == "disabled":
        return None
    import wandb

    if logger.dir:
        Path(logger.dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=logger.project, entity=logger.entity, dir=logger.dir,
                     mode=logger.mode, group=spec.name, job_type="sweep", name=f"{spec.name}-results",
                     config={"sweep": spec.raw, "fixed_overrides": list(fixed_overrides)})
    try:
        table = frame.astype(object).where(frame.notna(), None)
        run.log({"sweep/results": wandb.Table(dataframe=table)})
        run.summary["sweep/trials"] = len(frame)
        run.summary["sweep/completed"] = int((frame["status"] == "completed").sum()) if len(frame) else 0
        best = best_row(frame, spec)
        if best is not None:
            run.summary[f"best/{spec.metric}"] = best[spec.metric]
            run.summary["best/trial"] = best["trial"]
            run.summary["best/overrides"] = best["overrides"]
        return str(Path(run.dir).parent)
    finally:
        run.finish()


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
