"""One configuration end to end: data -> train -> generate -> evaluate, in one run directory.

    python -m launch.pipeline                                    # tiny model, fine-tuned, embedded defaults
    python -m launch.pipeline pipeline.condition=zero_shot       # no training: the base model's replies
    python -m launch.pipeline experiment=smoke model=tiny run.name=try1

A stage whose complete artifact exists is skipped (the data artifact, run.dir/train_summary.json with
its adapter, the generations, run.dir/eval/summary.json newer than the generations), so rerunning
the same command after a crash resumes where it stopped. Writes run.dir/pipeline.json and prints the
condition's mean metrics; a sweep trial reads the same dictionary.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import hydra

from launch.common import CONFIG_PATH, setup_run

log = logging.getLogger(__name__)
CONDITIONS = ("zero_shot", "finetuned")


def run(config: dict, report=None) -> dict:
    """Run the stages for config['pipeline']['condition']; `report(metrics)` hears each stage finish."""
    from launch import data, evaluate, generate
    from tide.data.artifact import write_json_atomic

    condition = config["pipeline"]["condition"]
    if condition not in CONDITIONS:
        raise ValueError(f"pipeline.condition={condition!r}: expected one of {CONDITIONS}")
    config = {**config, "generate": {**config["generate"], "conditions": [condition]}}
    run_dir = Path(config["run"]["dir"])
    report = report or (lambda metrics: None)
    stages, started = {}, time.perf_counter()

    data.run(config)
    stages["data"] = "done"
    report({"stage": 1})
    if condition == "finetuned":
        stages["train"] = "skipped (complete)" if _trained(run_dir) else _train(config)
    report({"stage": 2})
    generate.init_ray(config["cluster"])
    generated = generate.run(config)[condition]
    stages["generate"] = f"{generated['generated']} new rows of {generated['rows']}"
    report({"stage": 3})
    if _evaluated(run_dir, Path(config["eval"]["generations_dir"])):
        summary = json.loads((Path(config["eval"]["output_dir"]) / "summary.json").read_text())
        stages["evaluate"] = "skipped (complete)"
    else:
        summary = evaluate.run(config)
        stages["evaluate"] = "done"

    result = {"run_dir": str(run_dir), "condition": condition, "model": config["model"]["name"],
              "stages": stages, "metrics": condition_means(summary, config["model"]["name"], condition),
              "seconds": round(time.perf_counter() - started, 1)}
    write_json_atomic(run_dir / "pipeline.json", result)
    report({"stage": 4, **result["metrics"]})
    return result


def condition_means(summary: dict, model: str, condition: str) -> dict:
    """{metric: mean} of this model and condition from an evaluation summary."""
    for group in summary["by_model_condition"]:
        if group["model"] == model and group["condition"] == condition:
            return {metric: group[metric]["mean"] for metric in summary["metrics"]}
    raise ValueError(f"evaluation summary has no rows for model {model!r}, condition {condition!r}")


def _trained(run_dir: Path) -> bool:
    path = run_dir / "train_summary.json"
    if not path.is_file():
        return False
    summary = json.loads(path.read_text())
    target = summary.get("adapter_dir") or summary.get("merged_dir")
    return summary.get("status") == "completed" and bool(target) and Path(target).is_dir()


def _train(config: dict) -> str:
    from tide.train.trainer import train

    summary = train(config)
    return f"{summary['steps']} steps, final val loss {summary['final_val_loss']:.4f}"


def _evaluated(run_dir: Path, generations_dir: Path) -> bool:
    summary = run_dir / "eval" / "summary.json"
    shards = list(generations_dir.glob("*/*.parquet"))
    return summary.is_file() and bool(shards) and summary.stat().st_mtime > max(p.stat().st_mtime for p in shards)


def format_result(result: dict) -> str:
    lines = [f"pipeline {result['model']} / {result['condition']} ({result['seconds']} s): {result['run_dir']}"]
    lines += [f"  {stage:<9} {status}" for stage, status in result["stages"].items()]
    lines += [f"  {metric:<22} {value:.4f}" for metric, value in result["metrics"].items() if value is not None]
    return "\n".join(lines)


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
def main(cfg) -> None:
    print(format_result(run(setup_run(cfg))))


if __name__ == "__main__":
    main()
