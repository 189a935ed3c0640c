"""The demo's comparison: its report, its machine-readable summary and what it prints.

`build_demo_report` turns the demo sweep's evaluated trials into the usual report (tide/report/render.py),
with a note on what a 135M model on synthetic data can and cannot show, and into the summary
`{"model", "rows", "seconds", "gain": {metric: {"mean", "ci_low", "ci_high", "p"}}, "eos_rate": {...}}`
that launch/demo.py writes to ${paths.outputs}/demo/summary.json. The trials' outputs are read through
their stage records (tide/stages/records.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tide.config import DataConfig, ModelConfig, ReportConfig, SamplingConfig, TrainConfig
from tide.core.domain import PIPELINE_FILE
from tide.report.compare import FINETUNED, ZERO_SHOT, format_gains, format_samples, side_by_side
from tide.stages.records import read_stage_json


@dataclass(frozen=True)
class DemoSetup:
    """What the demo's trials ran with, as its report tells it (the slices it prints), and how the report
    is computed (report.primary_metric, report.bootstrap_samples, the seed)."""
    model: ModelConfig
    data: DataConfig
    train: TrainConfig
    sampling: SamplingConfig
    report: ReportConfig
    seed: int


def model_description(model: ModelConfig) -> dict:
    """Name, parameter count and source of the preset (the conversion record's count when there is one)."""
    from tide.models.gguf import CONVERSION_FILE
    from tide.models.loading import resolve_model_source

    directory = Path(resolve_model_source(model))
    conversion = directory / CONVERSION_FILE
    parameters = json.loads(conversion.read_text())["parameters"] if conversion.is_file() else None
    return {"name": model.name, "parameters": parameters, "params_b": model.params_b,
            "source": model.source or model.hf_id or model.path, "directory": str(directory)}


def about_lines(model: dict, data: DataConfig, train: TrainConfig, sampling: SamplingConfig, rows: int) -> list[str]:
    """What these runs are (`model`: its `model_description`) and what they can and cannot show."""
    size = f"{model['parameters'] / 1e6:.1f}M parameters" if model["parameters"] else f"{model['params_b']}B parameters"
    return [
        f"Model: {model['name']} ({size}), from {model['source']}; loaded from {model['directory']}.",
        f"Data: synthetic TIDE ({data.name}), generated offline from templates; zero-shot vs LoRA "
        f"r={train.lora.r} fine-tuned for {train.max_steps} steps on the train split "
        f"(learning rate {train.learning_rate}), {rows} test dialogues per condition, "
        f"{'greedy' if not sampling.do_sample else 'sampled'} replies of at most {sampling.max_new_tokens} tokens.",
        "What it can show: that the suite runs the paper's comparison end to end on a real instruct model on a CPU, "
        "and whether a few LoRA steps move replies towards the reference style, with the uncertainty of that gain.",
        "What it cannot show: anything about trauma-informed empathy in real conversations. The references are "
        "templated, so a gain partly measures learning the template; a 135M model is far below the study's range. "
        "The real study needs real TIDE (data=tide) and the 0.5-5B presets on GPUs (sweeps/paper.yaml).",
    ]


def build_demo_report(setup: DemoSetup, trials_dir: Path, out_dir: Path, samples: int = 3) -> tuple[dict, dict]:
    """The report of the demo's trials and the demo summary (without its wall time)."""
    from tide.report.collect import collect
    from tide.report.render import write_report

    data = collect([trials_dir], setup.report.primary_metric, setup.report.bootstrap_samples, setup.seed)
    model = model_description(setup.model)
    found = data.comparison.get(model["name"])
    if found is None:
        raise ValueError(f"{trials_dir}: no evaluated zero-shot and fine-tuned trials of model {model['name']!r}")
    found["samples"] = side_by_side(data.rows[data.rows["model"] == model["name"]], samples, setup.seed)
    rows = int((data.rows["model"] == model["name"]).sum() // 2)
    data.about = about_lines(model, setup.data, setup.train, setup.sampling, rows)
    paths = write_report(data, out_dir, title="TIDE demo: SmolLM2-135M-Instruct, zero-shot vs LoRA")
    return demo_summary(data, model, found, rows), paths


def demo_summary(data, model: dict, found: dict, rows: int) -> dict:
    """The summary launch/demo.py writes: the model, its gains with CIs and p, end-of-turn rates, leaderboard."""
    leaderboard = [{"condition": g["condition"], "rows": g["rows"],
                    **{m: g[m]["mean"] for m in data.metrics}} for g in data.leaderboard if g["model"] == model["name"]]
    return {"model": model, "rows": rows, "seconds": None,
            "gain": {m: {k: g[k] for k in ("mean", "ci_low", "ci_high", "p", "p_holm")}
                     for m, g in found["gain"].items()},
            "eos_rate": {ZERO_SHOT: found["eos_rate"].get(ZERO_SHOT), FINETUNED: found["eos_rate"].get(FINETUNED)},
            "leaderboard": leaderboard, "samples": found["samples"], "primary_metric": data.primary}


def trial_seconds(trials_dir: Path) -> dict:
    """Wall time of each trial's pipeline (its pipeline.json) and of its training steps (its train stage's
    summary)."""
    out = {}
    for pipeline in sorted(Path(trials_dir).glob(f"*/{PIPELINE_FILE}")):
        record = json.loads(pipeline.read_text())
        condition = record.get("condition", pipeline.parent.name)
        if record.get("seconds") is not None:
            out[f"trial {condition}"] = {"wall_s": record["seconds"]}
        summary = read_stage_json(pipeline.parent, "train", "summary") or {}
        if summary.get("step_time_s") and summary.get("steps"):
            out[f"trial {condition}: training steps"] = {
                "wall_s": round(summary["step_time_s"] * summary["steps"], 1), "steps": summary["steps"],
                "tokens_per_s": round(sum(summary.get("tokens_per_second_per_worker") or [0.0]), 1),
                "torch_threads_per_worker": summary.get("torch_threads_per_worker")}
    return out


def format_stages(stages: dict) -> list[str]:
    lines = [f"  {'stage':<34}{'wall s':>8}{'CPU s':>8}  load (1 min, start-end)"]
    for name, stage in stages.items():
        cpu = f"{stage['cpu_s']:>8.0f}" if "cpu_s" in stage else f"{'':>8}"
        load = "-".join(str(x) for x in stage.get("load_1min", []))
        lines.append(f"  {name:<34}{stage['wall_s']:>8.0f}{cpu}  {load}")
    return lines


def format_demo(summary: dict, summary_path: Path) -> str:
    primary = summary["primary_metric"]
    eos = summary["eos_rate"]
    lines = [f"Demo: {summary['model']['name']} on {summary['rows']} test dialogues per condition, "
             f"{summary['seconds']:.0f} s in all",
             *format_stages(summary["stages"]),
             "", "Fine-tuned minus zero-shot (paired, same dialogues; 95% bootstrap CI, Wilcoxon p):",
             *format_gains(summary["gain"], [primary]), "",
             "Replies ending with the end-of-turn token: "
             + ", ".join(f"{c} {eos[c]:.0%}" for c in (ZERO_SHOT, FINETUNED) if eos.get(c) is not None),
             "", "Sample dialogues:", *format_samples(summary["samples"]), "",
             f"report:  {summary['report']['html']}", f"summary: {summary_path}"]
    return "\n".join(lines)
