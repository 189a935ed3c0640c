"""One configuration end to end: data -> train -> generate -> evaluate in one run directory, one W&B run.

Stages run through the contract (tide/stages/contract.py): a stage complete for its fingerprint is
skipped, a changed setting reruns the stage it shapes and those after it, and a run directory holding
another setting's results is refused unless `pipeline.force=true`. Zero-shot is the same pipeline
without the train stage. Everything goes into one tracked run (W&B, offline by default): training
curves at their training steps, generation telemetry, evaluation summary keys and a table of sample
dialogues, under names that do not depend on the model (tide/track/keys.py). Writes run.dir/pipeline.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tide.stages.contract import StageOutcome, check_conflicts, run_stages
from tide.stages.steps import data_stage, evaluate_stage, generate_stage, log_complete_stage, train_stage
from tide.track import TrackedRun

CONDITIONS = ("zero_shot", "finetuned")
PIPELINE_FILE = "pipeline.json"


def check_condition(config: dict) -> str:
    condition = config["pipeline"]["condition"]
    if condition not in CONDITIONS:
        raise ValueError(f"pipeline.condition={condition!r}: expected one of {CONDITIONS}")
    return condition


def pipeline_config(config: dict) -> dict:
    """The config a pipeline run works with: generation of the run's own condition only."""
    condition = check_condition(config)
    return {**config, "generate": {**config["generate"], "conditions": [condition]}}


def pipeline_stages(config: dict, tracker) -> list:
    """The run's stages, in order (zero-shot: no train stage)."""
    config = pipeline_config(config)
    builders = [data_stage, train_stage, generate_stage, evaluate_stage]
    if config["pipeline"]["condition"] == "zero_shot":
        builders.remove(train_stage)
    return [build(config, tracker) for build in builders]


def start_pipeline_run(config: dict, params: dict | None):
    """The run's tracker: group = logger.group (the sweep), job_type = condition, tags = model and method."""
    from tide.track import start_run

    condition = config["pipeline"]["condition"]
    method = config["train"]["method"] if condition == "finetuned" else "zero_shot"
    return start_run(config["logger"], config, name=config["run"]["name"], job_type=condition,
                     tags=[config["model"]["name"], method], params=params)


def run_pipeline(config: dict, params: dict | None = None) -> dict:
    """Run the stages for config['pipeline']['condition']; `params` (e.g. the command line's overrides,
    {"train.lora.r": 8}) are logged as top-level config keys. Returns what pipeline.json holds."""
    from tide.core.files import write_json_atomic

    config = pipeline_config(config)
    condition = config["pipeline"]["condition"]
    run_dir, started, force = Path(config["run"]["dir"]), time.perf_counter(), bool(config["pipeline"]["force"])
    check_conflicts(pipeline_stages(config, TrackedRun(None)), run_dir, force)  # before a W&B run exists
    tracker = start_pipeline_run(config, params)
    try:
        def replay(outcome: StageOutcome) -> None:
            if not outcome.ran:
                log_complete_stage(outcome.name, outcome.result, config, tracker)

        outcomes = run_stages(pipeline_stages(config, tracker), run_dir, force=force, on_outcome=replay)
        summary = json.loads((Path(config["eval"]["output_dir"]) / "summary.json").read_text())
        result = {"run_dir": str(run_dir), "condition": condition, "model": config["model"]["name"],
                  "stages": {o.name: describe(o) for o in outcomes},
                  "fingerprints": {o.name: o.fingerprint for o in outcomes},
                  "metrics": condition_means(summary, config["model"]["name"], condition),
                  "seconds": round(time.perf_counter() - started, 1), "wandb_dir": tracker.run_dir}
        tracker.summary({"pipeline/seconds": result["seconds"]})
    except BaseException:
        tracker.finish(exit_code=1)
        raise
    tracker.finish()
    write_json_atomic(run_dir / PIPELINE_FILE, result)
    return result


def describe(outcome: StageOutcome) -> str:
    if not outcome.ran:
        return "skipped (complete)"
    result = outcome.result
    if outcome.name == "train":
        return f"{result['steps']} steps, final val loss {result['final_val_loss']:.4f}"
    if outcome.name == "generate":
        return ", ".join(f"{r['generated']} new rows of {r['rows']}" for r in result.values())
    return "done"


def condition_means(summary: dict, model: str, condition: str) -> dict:
    """{metric: mean} of this model and condition from an evaluation summary."""
    for group in summary["by_model_condition"]:
        if group["model"] == model and group["condition"] == condition:
            return {metric: group[metric]["mean"] for metric in summary["metrics"]}
    raise ValueError(f"evaluation summary has no rows for model {model!r}, condition {condition!r}")


def format_result(result: dict) -> str:
    lines = [f"pipeline {result['model']} / {result['condition']} ({result['seconds']} s): {result['run_dir']}"]
    lines += [f"  {stage:<9} {status}" for stage, status in result["stages"].items()]
    lines += [f"  {metric:<22} {value:.4f}" for metric, value in result["metrics"].items() if value is not None]
    if result.get("wandb_dir"):
        lines.append(f"  W&B run: {result['wandb_dir']}")
    return "\n".join(lines)
