"""Create the standard TIDE dashboard (a W&B workspace view) in a project, through the W&B API.

    WANDB_API_KEY=... python -m launch.wandb_dashboard --project tide [--entity TEAM] [--sweep paper]
    python -m launch.wandb_dashboard --project tide --dry-run    # list the panels; no key, no network

Sections: leaderboard (the sweep metric per run, grouped by model and condition), training curves,
the sweep (parallel coordinates, parameter importance, the results table) and generations (sample
replies with their scores, from the evaluation). Runs are grouped by W&B group, i.e. by sweep. The panels name the keys
listed in docs/sweeps.md; the key is read from the environment only (WANDB_API_KEY).
"""

from __future__ import annotations

import argparse
import os
import sys

METRIC = "eval/cosine/mean"
# Keys every pipeline run logs (tide/track/keys.py), whatever its model: summary values of the run's own
# condition, and the curves tide/train logs against W&B's step (= training step). A test reads an offline
# trial back with W&B's reader and checks that every key named here is in it (tests/sweep/test_dashboard.py).
# eval/gain/<metric> is left out: a pipeline run generates one condition, so only an evaluation of
# both (make evaluate over zero_shot + finetuned generations) logs a gain; the report compares runs.
EVAL_METRICS = ["eval/cosine/mean", "eval/bertscore_f1/mean", "eval/rouge_l/mean", "eval/bleu/mean",
                "eval/factor_empathy/mean", "eval/safety/pass_rate"]
TRAIN_CURVES = ["train/loss", "train/val_loss", "train/lr", "train/grad_norm", "train/tokens_per_s"]
SWEPT_CONFIG = ["model.name", "pipeline.condition", "train.lora.r", "train.lora.alpha", "train.learning_rate",
                "train.epochs"]
GENERATION_TABLES = ["eval/samples"]
SWEEP_TABLE = "sweep/results"  # logged by the sweep's own run (tide/sweep/tracking.py), not by a trial


def build_workspace(entity: str, project: str, sweep: str | None = None, name: str = "TIDE"):
    """The workspace object (nothing is sent until it is saved)."""
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws

    leaderboard = ws.Section(name="Leaderboard", is_open=True, panels=[
        wr.BarPlot(title=f"{METRIC} by model", metrics=[wr.SummaryMetric(METRIC)],
                   groupby=wr.Config("model.name"), orientation="h"),
        *[wr.ScalarChart(title=metric, metric=wr.SummaryMetric(metric), groupby_aggfunc="mean",
                         groupby_rangefunc="stderr") for metric in EVAL_METRICS],
    ])
    training = ws.Section(name="Training", is_open=True, panels=[
        wr.LinePlot(title=y, y=[y], smoothing_factor=0.6) for y in TRAIN_CURVES])
    search = ws.Section(name="Sweep", is_open=True, panels=[
        wr.ParallelCoordinatesPlot(title="trials", columns=[
            *[wr.ParallelCoordinatesPlotColumn(metric=wr.Config(key)) for key in SWEPT_CONFIG],
            wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric(METRIC))]),
        wr.ParameterImportancePlot(with_respect_to=METRIC),
        wr.WeavePanelSummaryTable(table_name=SWEEP_TABLE),
    ])
    generations = ws.Section(name="Generations", panels=[wr.WeavePanelSummaryTable(table_name=t) for t in GENERATION_TABLES])
    filters = f"Metric('Group') = '{sweep}'" if sweep else ""
    return ws.Workspace(entity=entity, project=project, name=f"{name} {sweep}" if sweep else name,
                        sections=[leaderboard, training, search, generations],
                        runset_settings=ws.RunsetSettings(groupby=[ws.Metric("Group")], filters=filters))


def panel_keys(workspace) -> dict[str, set[str]]:
    """What the workspace's panels read: {"summary", "history", "config", "tables"} -> key names."""
    import wandb_workspaces.reports.v2 as wr

    keys: dict[str, set[str]] = {"summary": set(), "history": set(), "config": set(), "tables": set()}

    def add(metric) -> None:
        keys["config" if isinstance(metric, wr.Config) else "summary"].add(metric.name)

    for panel in (panel for section in workspace.sections for panel in section.panels):
        for metric in getattr(panel, "metrics", None) or []:
            add(metric)
        for attribute in ("metric", "groupby"):
            if isinstance(getattr(panel, attribute, None), (wr.SummaryMetric, wr.Config)):
                add(getattr(panel, attribute))
        for column in getattr(panel, "columns", None) or []:
            add(column.metric)
        keys["history"].update(getattr(panel, "y", None) or [])
        if getattr(panel, "with_respect_to", None):
            keys["summary"].add(panel.with_respect_to)
        if getattr(panel, "table_name", None):
            keys["tables"].add(panel.table_name)
    return keys


def describe(workspace) -> str:
    lines = [f"W&B workspace '{workspace.name}' for {workspace.entity}/{workspace.project}"]
    for section in workspace.sections:
        lines.append(f"  {section.name}:")
        lines += [f"    {type(panel).__name__}: {getattr(panel, 'title', None) or _panel_subject(panel)}"
                  for panel in section.panels]
    return "\n".join(lines)


def _panel_subject(panel) -> str:
    for attribute in ("table_name", "with_respect_to"):
        if getattr(panel, attribute, None):
            return str(getattr(panel, attribute))
    return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.wandb_dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--project", default="tide", help="W&B project (logger.project; default: tide)")
    parser.add_argument("--entity", default=os.environ.get("WANDB_ENTITY"), help="W&B entity (default: yours)")
    parser.add_argument("--sweep", help="show only this sweep's runs (its W&B group, the spec's name)")
    parser.add_argument("--dry-run", action="store_true", help="print the panels; no key needed, nothing sent")
    args = parser.parse_args(argv)

    if args.dry_run:
        print(describe(build_workspace(args.entity or "<your entity>", args.project, args.sweep)))
        return 0
    if not os.environ.get("WANDB_API_KEY"):
        print("launch.wandb_dashboard: creating a W&B workspace needs WANDB_API_KEY in the environment "
              "(W&B online); nothing was sent. Use --dry-run to see the panels offline.", file=sys.stderr)
        return 2
    import wandb

    entity = args.entity or wandb.Api().default_entity
    workspace = build_workspace(entity, args.project, args.sweep)
    workspace.save()
    print(describe(workspace))
    print(f"saved: {workspace.url}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.wandb_dashboard", main))
