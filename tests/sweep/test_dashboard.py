"""The W&B dashboard script: refuses without a key; builds the standard panels offline."""

from launch.wandb_dashboard import build_workspace, describe, main


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
