"""One configuration end to end, or up to one stage: the runner every command goes through.

    run_pipeline(config)                    data -> train -> generate -> evaluate   (python -m launch.pipeline)
    run_pipeline(config, target="train")    train and the earlier stages it needs   (python -m launch.train)

The stages are the objects in STAGES, built from the typed config (a zero-shot run has no train stage).
A command for one stage runs that stage and the earlier stages it reads from (`Stage.after`), through the
same contract: a stage complete for its fingerprint is skipped (and logs its outputs into this run), a
changed setting reruns the stage it shapes and those after it, and a run directory holding another
setting's results is refused unless `pipeline.force=true`. Everything goes into one tracked run (W&B,
offline by default). A whole pipeline writes run.dir/pipeline.json.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tide.config import TideConfig, to_plain, with_options
from tide.core.domain import PIPELINE_FILE
from tide.stages.contract import Stage
from tide.stages.data import DataStage
from tide.stages.evaluate import EvaluateStage
from tide.stages.generate import GenerateStage
from tide.stages.records import read_stage_json
from tide.stages.runner import StageOutcome, check_conflicts, run_stages
from tide.stages.train import TrainStage
from tide.track import TrackedRun, check_logger

STAGES: tuple[type[Stage], ...] = (DataStage, TrainStage, GenerateStage, EvaluateStage)


def pipeline_config(config: TideConfig) -> TideConfig:
    """The config a run works with: generation of the run's own condition only."""
    return with_options(config, {"generate.conditions": [config.pipeline.condition]})


def build_stages(config: TideConfig, target: str | None = None) -> list[Stage]:
    """The run's stages in order; with a target, that stage and the earlier ones it reads from."""
    stages = [stage for stage in (kind.from_config(config) for kind in STAGES) if stage is not None]
    if target is None:
        return stages
    by_name = {stage.name: stage for stage in stages}
    if target not in by_name:
        raise ValueError(f"stage {target!r} is not part of this run (its stages: {', '.join(by_name)}; "
                         f"pipeline.condition={config.pipeline.condition})")
    needed, queue = set(), [target]
    while queue:
        name = queue.pop()
        if name not in needed:
            needed.add(name)
            queue.extend(by_name[name].after())
    return [stage for stage in stages if stage.name in needed]


def start_tracked_run(config: TideConfig, job_type: str, params: dict | None) -> TrackedRun:
    """The run's tracker: group = logger.group (the sweep), tags = model and method."""
    from tide.track import start_run

    condition = config.pipeline.condition
    method = config.train.method if condition == "finetuned" else "zero_shot"
    return start_run(config.logger, to_plain(config), name=config.run.name, job_type=job_type,
                     tags=[config.model.name, method], params=params)


def run_pipeline(config: TideConfig, params: dict | None = None, target: str | None = None,
                 stage_options: dict[str, dict] | None = None) -> dict:
    """Run the stages (all, or up to `target`); `params` (e.g. the command line's overrides,
    {"train.lora.r": 8}) are logged as top-level config keys; `stage_options` replace fields of a stage
    object that are not settings ({"evaluate": {"judge_model": fake}}). Returns what pipeline.json holds."""
    from tide.core.files import write_json_atomic

    config = pipeline_config(config)
    run_dir, started, force = Path(config.run.dir), time.perf_counter(), config.pipeline.force
    stages = [dataclasses.replace(stage, **(stage_options or {}).get(stage.name, {}))
              for stage in build_stages(config, target)]
    check_conflicts(stages, run_dir, force)  # before a W&B run exists
    # The W&B run starts with the first stage that logs (the runner opens it): a command that fails before
    # then (bad input, the data stage) leaves none. Whether it can start is checked now, before any work.
    if any(stage.logs for stage in stages):
        check_logger(config.logger)
    tracker = TrackedRun.deferred(lambda: start_tracked_run(config, target or config.pipeline.condition, params))
    try:
        outcomes = run_stages(stages, run_dir, tracker, force=force)
        by_name = {stage.name: stage for stage in stages}
        result = {"run_dir": str(run_dir), "condition": config.pipeline.condition, "model": config.model.name,
                  "stages": {o.name: describe(by_name[o.name], o) for o in outcomes},
                  "fingerprints": {o.name: o.fingerprint for o in outcomes},
                  "seconds": round(time.perf_counter() - started, 1), "wandb_dir": tracker.run_dir}
        if target is None:  # the run's own model and condition (a one-stage evaluation may score other runs')
            summary = read_stage_json(run_dir, "evaluate", "summary")
            result["metrics"] = condition_means(summary, config.model.name, config.pipeline.condition)
        tracker.summary({"pipeline/seconds": result["seconds"]})
    except BaseException as error:
        tracker.fail(error)  # a stage's failure already marked it, with the stage's name
        raise
    tracker.finish()
    if target is None:
        write_json_atomic(run_dir / PIPELINE_FILE, result)
    return result


def describe(stage: Stage, outcome: StageOutcome) -> str:
    return stage.describe(outcome.result) if outcome.ran else "skipped (complete)"


def condition_means(summary: dict, model: str, condition: str) -> dict:
    """{metric: mean} of this model and condition from an evaluation summary."""
    for group in summary["by_model_condition"]:
        if group["model"] == model and group["condition"] == condition:
            return {metric: group[metric]["mean"] for metric in summary["metrics"]}
    raise ValueError(f"evaluation summary has no rows for model {model!r}, condition {condition!r}")


def format_result(result: dict) -> str:
    scope = "pipeline" if "metrics" in result and "evaluate" in result["stages"] else "stages"
    lines = [f"{scope} {result['model']} / {result['condition']} ({result['seconds']} s): {result['run_dir']}"]
    lines += [f"  {stage:<9} {status}" for stage, status in result["stages"].items()]
    lines += [f"  {metric:<22} {value:.4f}" for metric, value in result.get("metrics", {}).items() if value is not None]
    if result.get("wandb_dir"):
        lines.append(f"  W&B run: {result['wandb_dir']}")
    return "\n".join(lines)
