"""The four stages of a run, each declared through the contract (tide/stages/contract.py).

    data      data.* (+ the tiny model's build)             -> data.artifact_dir (+ model.path)
    train     model, train.*, deepspeed, prompt, seed, workers -> run.dir/adapter | merged, train_summary.json
    generate  generate.* (sampling, split, backend, ...), model, system prompt -> generate.output_dir/<condition>
    evaluate  eval.* (metrics, encoders, statistics, judge) + the mechanism scorer's arrays -> eval.output_dir

Settings that change how fast a stage runs but not what it writes (batch sizes of the encoders, actor
counts, shard sizes, logging) are left out of its slice, so changing them reruns nothing. Each stage
logs into the pipeline's tracker: live when it runs, from its outputs when it was already complete.
"""

from __future__ import annotations

import json
from pathlib import Path

from tide.stages.contract import Stage
from tide.stages.data import tiny_model_settings

# How a stage runs, not what it writes: left out of the fingerprints.
GENERATE_EXECUTION = ("concurrency", "cpus_per_actor", "gpus_per_actor", "shard_rows", "max_failures",
                      "gpu_memory_utilization")
EVAL_EXECUTION = ("batch_size", "shard_rows", "concurrency", "cpus_per_actor", "sample_table_rows")


def _without(section: dict, keys: tuple[str, ...]) -> dict:
    return {key: value for key, value in section.items() if key not in keys}


def data_stage(config: dict, tracker) -> Stage:
    from tide.data.artifact import MANIFEST, read_manifest

    artifact_dir = config["data"]["artifact_dir"]
    tiny = tiny_model_settings(config)

    def run() -> dict:
        from tide.stages.data import prepare_data

        summary = prepare_data(config)
        return {"fingerprint": summary["manifest"]["fingerprint"], "reused": summary["manifest"]["reused"],
                "splits": {name: split["dialogues"] for name, split in summary["splits"].items()}}

    def intact(result: dict) -> bool:  # the artifact is shared by runs: another data setting may have replaced it
        manifest = read_manifest(artifact_dir)
        return manifest is not None and manifest["fingerprint"] == result["fingerprint"]

    return Stage("data", settings={"data": config["data"], "tiny_model": tiny}, inputs={},
                 outputs=(f"{artifact_dir}/{MANIFEST}", *([tiny["path"]] if tiny else [])), run=run, intact=intact)


def train_stage(config: dict, tracker) -> Stage:
    from tide.train.progress import PROGRESS_FILE
    from tide.train.trainer import SUMMARY_FILE, trajectory_settings

    run_dir, train_cfg = Path(config["run"]["dir"]), config["train"]
    weights = run_dir / ("merged" if train_cfg["method"] == "full" else "adapter")
    outputs = [str(weights), str(run_dir / SUMMARY_FILE)]
    if train_cfg["merge"] and train_cfg["method"] != "full":
        outputs.append(str(run_dir / "merged"))

    def run() -> dict:
        from tide.train.trainer import train

        (run_dir / PROGRESS_FILE).unlink(missing_ok=True)  # this training's validations only
        summary = train(config, tracker=tracker)
        return {key: summary[key] for key in ("steps", "final_train_loss", "final_val_loss", "adapter_dir",
                                              "merged_dir", "ray_run")}

    return Stage("train", settings={**trajectory_settings(config), "merge": train_cfg["merge"]},
                 inputs={"data": config["data"]["artifact_dir"]}, outputs=tuple(outputs), run=run, after=("data",),
                 replaceable=(*outputs, str(run_dir / "merged"), str(run_dir / PROGRESS_FILE)))


def generate_stage(config: dict, tracker) -> Stage:
    gen_cfg = config["generate"]
    condition_dirs = tuple(str(Path(gen_cfg["output_dir"]) / c) for c in gen_cfg["conditions"])
    finetuned = "finetuned" in gen_cfg["conditions"]
    inputs = {"data": config["data"]["artifact_dir"]}
    if finetuned:
        inputs["weights"] = gen_cfg["merged_dir"] or gen_cfg["adapter_dir"]

    def run() -> dict:
        from tide.generate.pipeline import generate
        from tide.stages.cluster import init_ray
        from tide.track.keys import generation_keys

        init_ray(config["cluster"])
        results = generate(config)
        tracker.log(generation_keys(results))
        return results

    settings = {"generate": _without(gen_cfg, GENERATE_EXECUTION), "model": config["model"],
                "system_prompt": config["prompt"]["system"]}
    return Stage("generate", settings=settings, inputs=inputs, outputs=condition_dirs, run=run,
                 after=("data", "train") if finetuned else ("data",),
                 replaceable=condition_dirs)


def evaluate_stage(config: dict, tracker) -> Stage:
    eval_cfg = config["eval"]
    out_dir = Path(eval_cfg["output_dir"])

    def run() -> dict:
        from tide.evaluate.pipeline import evaluate

        summary = evaluate(config, tracker=tracker)
        return {"rows": summary["rows"], "summary": str(out_dir / "summary.json")}

    settings = {"eval": _without(eval_cfg, EVAL_EXECUTION)}
    if eval_cfg["mechanisms"]:
        from tide.evaluate.mechanisms import scorer_fingerprint

        settings["mechanism_scorer"] = scorer_fingerprint()  # the trained arrays shape the scores as settings do
    return Stage("evaluate", settings=settings,
                 inputs={"generations": eval_cfg["generations_dir"], "data": config["data"]["artifact_dir"]},
                 outputs=(str(out_dir / "summary.json"), str(out_dir / "metrics.parquet")), run=run,
                 after=("data", "generate"), replaceable=(str(out_dir),))


def log_complete_stage(name: str, result: dict, config: dict, tracker) -> None:
    """A stage that was already complete: its outputs into this run, under the keys a fresh run logs."""
    from tide.track.keys import generation_keys, training_summary_keys

    if name == "train":
        from tide.train.progress import replay_history
        from tide.train.trainer import SUMMARY_FILE

        summary = json.loads((Path(config["run"]["dir"]) / SUMMARY_FILE).read_text())
        replay_history(tracker, summary)
        tracker.summary(training_summary_keys(summary))
    elif name == "generate":
        tracker.log(generation_keys(result))
    elif name == "evaluate":
        import pandas as pd

        from tide.evaluate.pipeline import log_evaluation

        out_dir = Path(config["eval"]["output_dir"])
        summary = json.loads((out_dir / "summary.json").read_text())
        log_evaluation(config, summary, pd.read_parquet(out_dir / "metrics.parquet"), tracker=tracker)
