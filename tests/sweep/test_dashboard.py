"""The W&B dashboard script: refuses without a key; builds the standard panels offline; charts only keys runs log."""

from pathlib import Path

from launch.wandb_dashboard import build_workspace, describe, main, panel_keys
from tests.stages.trial_run import finetuned_trial  # noqa: F401  (a session fixture)


def test_refuses_clearly_without_a_key(monkeypatch, capsys, no_network):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["--project", "tide"]) == 2
    assert "needs WANDB_API_KEY in the environment" in capsys.readouterr().err


def test_standard_panels_grouped_by_sweep(no_network):
    workspace = build_workspace("team", "tide", sweep="paper")
    assert [s.name for s in workspace.sections] == ["Leaderboard", "Training", "Sweep", "Generations"]
    assert workspace.name == "TIDE paper" and "paper" in str(workspace.runset_settings.filters)
    text = describe(workspace)
    assert "ParallelCoordinatesPlot" in text and "WeavePanelSummaryTable: sweep/results" in text
    assert "LinePlot: train/loss" in text and "BarPlot: eval/cosine/mean by model" in text


def test_dry_run_needs_no_key(monkeypatch, capsys, no_network):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["--dry-run", "--sweep", "smoke"]) == 0
    assert "W&B workspace 'TIDE smoke'" in capsys.readouterr().out


def resolve(config: dict, key: str):
    """A config key as W&B's panels name it: a top-level key (a sweep parameter) or a dotted path."""
    if key in config:
        return config[key]
    node = config
    for part in key.split("."):
        node = node[part]
    return node


def test_every_panel_key_and_every_spec_metric_is_logged_by_a_trial(finetuned_trial, tmp_path, no_network):
    """A real trial's offline W&B run, read back with W&B's reader, holds every key the dashboard charts and
    the metric of every spec in sweeps/; the sweep's own run holds the results table."""
    import pandas as pd

    from tests.configs import config_for
    from tests.stages.trial_run import AGENT_RUN_ID, history_keys, read_wandb
    from tide.config import with_options
    from tide.core.runtime import PROJECT_ROOT
    from tide.sweep.spec import load_spec
    from tide.sweep.tracking import log_results

    [run_dir] = [p for p in finetuned_trial.wandb_runs() if p.name.endswith(AGENT_RUN_ID)]
    summary, records = read_wandb(run_dir)
    logged, history = set(summary["summary"]), history_keys(records)
    panels = panel_keys(build_workspace("team", "tide"))
    assert panels["summary"] - logged == set()
    assert panels["history"] - history == set()
    for key in panels["config"]:
        resolve(summary["config"], key)  # KeyError names a config key no run has
    assert panels["tables"] - {"sweep/results"} <= logged

    specs = sorted((PROJECT_ROOT / "sweeps").glob("*.yaml"))
    assert len(specs) >= 4
    missing = {spec.name: load_spec(spec).metric for spec in specs if load_spec(spec).metric not in logged | history}
    assert missing == {}

    spec = load_spec(PROJECT_ROOT / "sweeps" / "smoke.yaml")
    frame = pd.DataFrame([{"trial": "k1", "status": "completed", **finetuned_trial.metrics, "overrides": ""}])
    logger = with_options(config_for().logger, {"name": "wandb", "mode": "offline", "project": "tide", "entity": None,
                                                "dir": str(tmp_path)})
    sweep_run = log_results(frame, spec, logger, [])
    assert "sweep/results" in read_wandb(Path(sweep_run))[0]["summary"]
