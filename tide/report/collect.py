"""Gather evaluated runs into the tables a report shows.

A run directory counts when its evaluate stage is complete: its stage record (tide/stages/records.py)
names a summary and per-row metrics that exist. Their paths come from that record, never from a layout
of our own. The tables are recomputed from the per-row metrics of all runs together, so models
evaluated in different runs land in one leaderboard, with the same bootstrap settings for every cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tide.evaluate.safety import pass_rates
from tide.evaluate.stats import group_means, paired_tests, transfer_ceiling
from tide.stages.records import read_stage_json, stage_output

# The evaluate stage's outputs a report reads (tide/stages/evaluate.py).
EVALUATION_OUTPUTS = ("summary", "metrics")


@dataclass
class ReportData:
    runs: list[dict]
    rows: pd.DataFrame
    metrics: list[str]
    primary: str
    settings: dict
    leaderboard: list[dict] = field(default_factory=list)
    by_scenario: list[dict] = field(default_factory=list)
    paired: list[dict] = field(default_factory=list)
    ceiling: dict | None = None
    correlations: pd.DataFrame | None = None
    safety: list[dict] = field(default_factory=list)
    human_ratings: list[dict] = field(default_factory=list)
    human_study: list[dict] = field(default_factory=list)  # analyses by launch.study (tide/report/human.py)
    comparison: dict = field(default_factory=dict)  # {model: gain / eos_rate / samples} (tide/report/compare.py)
    about: list[str] = field(default_factory=list)  # what the caller says these runs can and cannot show


def is_evaluated(run_dir: Path) -> bool:
    """Its evaluate stage is complete: a record naming a summary and per-row metrics that exist."""
    return all(stage_output(run_dir, "evaluate", output) is not None for output in EVALUATION_OUTPUTS)


def find_runs(paths) -> list[Path]:
    """Evaluated run directories: each path is a run directory or a folder holding some."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"report: no such run directory: {path}")
        found += [path] if is_evaluated(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_evaluated(p))
    if not found:
        raise FileNotFoundError(f"report: no evaluated runs (no complete evaluate stage) under "
                                f"{', '.join(map(str, paths))}; run `python -m launch.evaluate` first")
    return sorted(set(found))


def collect(paths, primary: str = "cosine", n_boot: int = 1000, seed: int = 0) -> ReportData:
    runs, frames, metrics = [], [], []
    for run_dir in find_runs(paths):
        summary = read_stage_json(run_dir, "evaluate", "summary")
        runs.append({"dir": str(run_dir), "name": run_dir.name, "rows": summary["rows"],
                     "models": summary["models"], "conditions": summary["conditions"],
                     "metrics_info": summary.get("metrics_info", {}), "wandb_url": summary.get("wandb_url"),
                     "human_ratings": summary.get("human_ratings")})
        frames.append(pd.read_parquet(stage_output(run_dir, "evaluate", "metrics")).assign(run=run_dir.name))
        metrics += [m for m in summary["metrics"] if m not in metrics]
    rows = pd.concat(frames, ignore_index=True)
    if primary not in metrics:
        raise ValueError(f"report.primary_metric={primary!r} is not among the evaluated metrics {metrics}")
    numeric = rows.assign(safety_pass=rows["safety_pass"].astype(float)) if "safety_pass" in rows else rows
    data = ReportData(runs, rows, metrics, primary,
                      {"bootstrap_samples": n_boot, "seed": seed, "ci": "percentile bootstrap 95%",
                       "runs": len(runs), "rows": len(rows)})
    data.leaderboard = group_means(numeric, metrics, ("model", "condition"), n_boot, seed)
    data.by_scenario = group_means(numeric.assign(scenario=numeric["scenario"].fillna("(none)")), [primary],
                                   ("model", "condition", "scenario"), n_boot, seed)
    data.paired = paired_tests(numeric, [m for m in metrics if m != "safety_pass"])
    if "model_params_b" in rows:
        data.ceiling = transfer_ceiling(numeric, primary)
    correlation_metrics = [m for m in metrics if numeric[m].nunique() > 1]
    if len(correlation_metrics) > 1:
        data.correlations = numeric[correlation_metrics].corr(method="spearman")
    if "safety_pass" in rows:
        from tide.evaluate.risk import default_detector

        data.safety = pass_rates(rows, validated=default_detector().validated())
    data.human_ratings = [{"run": r["name"], **r["human_ratings"]} for r in runs if r["human_ratings"]]
    data.comparison = compare_conditions(rows, [m for m in metrics if m != "safety_pass"], n_boot, seed)
    return data


def compare_conditions(rows: pd.DataFrame, metrics: list[str], n_boot: int, seed: int) -> dict:
    """Per model evaluated in both conditions: the paired gains, end-of-turn rates and a few samples."""
    from tide.report.compare import CONDITIONS, eos_rates, gains, side_by_side

    out = {}
    for model, group in rows.groupby("model"):
        if not set(CONDITIONS) <= set(group["condition"]):
            continue
        out[model] = {"gain": gains(group, metrics, n_boot, seed),
                      "eos_rate": eos_rates(group) if "finish_reason" in group else {},
                      "samples": side_by_side(group, seed=seed) if {"client", "reference"} <= set(group) else []}
    return out
