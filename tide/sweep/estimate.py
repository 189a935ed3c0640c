"""A dry run's time estimate: the sweep's wall time and GPU-hours from single-GPU throughput.

A trial runs only the stages that are not complete in its run directory (the stage contract,
tide.stages.pending), so a trial whose stages are all complete costs nothing. Of those stages the
estimate counts training (train.max_steps optimizer steps when set, else the epochs) and generation;
data preparation and evaluation are left out. Tokens/s come from the throughput `make bench` measured
on a GPU (<paths.outputs>/bench/throughput.json) or, without it, from the FLOP formula
(tide.core.telemetry, with tide.models.presets' parameter counts) at an assumed MFU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tide.config import ClusterConfig, DataConfig, ModelConfig, TideConfig, TrainConfig
from tide.core.domain import BENCH_THROUGHPUT_FILE
from tide.stages import build_stages, pending
from tide.stages.pipeline import pipeline_config
from tide.sweep.plan import Plan

# LoRA training of 0.5B-4B models commonly reaches 30-45% MFU on an H100; batched sampling is
# memory-bound, far lower.
ASSUMED_TRAIN_MFU = 0.35
ASSUMED_GENERATION_MFU = 0.05
ASSUMED_GPU = "H100"
# Prompt (system + client turn) plus reply in the chat format; real tokenizers give 200-350 on TIDE.
ASSUMED_TOKENS_PER_DIALOGUE = 300
TIDE_DIALOGUES = 10_000  # when the data artifact is not on this machine: TIDE's size, split by data.split


@dataclass(frozen=True)
class PlannedTrial:
    """What the estimate reads of one trial: the slices that size its work and the stages it will run."""
    model: ModelConfig
    train: TrainConfig
    data: DataConfig
    cluster: ClusterConfig
    condition: str
    stages: tuple[str, ...]   # the stages the pipeline would run now, in order

    @classmethod
    def from_config(cls, config: TideConfig, fresh: bool = False) -> "PlannedTrial":
        """The trial of this (composed) config: its pending stages, as the pipeline would build them.
        `fresh`: its run directory will be a new one (a W&B agent's run), so every stage runs."""
        config = pipeline_config(config)
        stages = build_stages(config)
        names = [stage.name for stage in stages] if fresh else pending(stages, Path(config.run.dir))
        return cls(config.model, config.train, config.data, config.cluster, config.pipeline.condition, tuple(names))


@dataclass(frozen=True)
class TrialEstimate:
    model: str
    condition: str
    gpus: int
    train_tokens: int
    generate_tokens: int
    seconds: float
    source: str          # "measured on <device>" or "FLOP formula, assumed MFU ..."


def read_throughput(outputs: str | Path, path: str | Path | None = None) -> dict | None:
    """Measured single-GPU tokens/s per model: `path`, else the bench's file under paths.outputs; None
    when there is none."""
    path = Path(path) if path is not None else Path(outputs) / BENCH_THROUGHPUT_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def split_dialogues(data: DataConfig) -> dict:
    """Dialogues per split: the artifact's manifest when it is here, else TIDE's size split by data.split."""
    from tide.data.artifact import read_manifest

    manifest = read_manifest(data.artifact_dir)
    if manifest:
        return {name: split["dialogues"] for name, split in manifest["splits"].items()}
    shares = {"train": data.split.train, "val": data.split.val, "test": data.split.test}
    return {name: round(TIDE_DIALOGUES * float(share)) for name, share in shares.items()}


def training_dialogues(train: TrainConfig, train_split: int, workers: int) -> int:
    """Dialogues a training run reads, as tide/train/loop.py counts its steps: train.max_steps (> 0)
    optimizer steps of per_device_batch_size x gradient_accumulation_steps dialogues on each worker
    (however many epochs that takes), else int(epochs) passes over the train split."""
    if train.max_steps > 0:
        return train.max_steps * train.per_device_batch_size * train.gradient_accumulation_steps * workers
    return train_split * int(train.epochs)


def trial_tokens_per_second(model: ModelConfig, train: TrainConfig,
                            throughput: dict | None) -> tuple[float, float, str]:
    """(training, generation) tokens/s on one GPU: measured for this model, else the FLOP formula."""
    from tide.core.telemetry import peak_flops, training_flops_per_token
    from tide.models.presets import parameter_counts

    measured = (throughput or {}).get("models", {}).get(model.name)
    if measured:
        return measured["train_tokens_per_s"], measured["generate_tokens_per_s"], f"measured on {throughput['device']}"
    params, trainable = parameter_counts(model.architecture, train)
    peak = peak_flops(ASSUMED_GPU)
    source = (f"FLOP formula, {ASSUMED_GPU} at assumed MFU {ASSUMED_TRAIN_MFU:.0%} train / "
              f"{ASSUMED_GENERATION_MFU:.0%} generate")
    return (peak * ASSUMED_TRAIN_MFU / training_flops_per_token(params, trainable),
            peak * ASSUMED_GENERATION_MFU / (2.0 * params), source)


def estimate_trial(trial: PlannedTrial, throughput: dict | None) -> TrialEstimate:
    """One pipeline trial: training then generation, each when it is among the trial's stages to run,
    on its workers' GPUs (linear scaling over them)."""
    dialogues = split_dialogues(trial.data)
    workers = trial.cluster.num_workers
    train_tokens = (training_dialogues(trial.train, dialogues["train"], workers) * ASSUMED_TOKENS_PER_DIALOGUE
                    if "train" in trial.stages else 0)
    generate_tokens = dialogues["test"] * ASSUMED_TOKENS_PER_DIALOGUE if "generate" in trial.stages else 0
    train_rate, generate_rate, source = trial_tokens_per_second(trial.model, trial.train, throughput)
    seconds = (train_tokens / train_rate + generate_tokens / generate_rate) / workers
    return TrialEstimate(trial.model.name, trial.condition, workers, train_tokens, generate_tokens, seconds, source)


def sweep_wall_seconds(trial_seconds: list[float], concurrent: int) -> float:
    """Longest trials first, each to the slot that frees up first (what the runner's queue does)."""
    slots = [0.0] * max(1, concurrent)
    for seconds in sorted(trial_seconds, reverse=True):
        slots[slots.index(min(slots))] += seconds
    return max(slots)


def format_estimate(plan: Plan, estimates: list[TrialEstimate]) -> str:
    """Wall time and GPU-hours; a sampled sweep's trials are its representative points, repeated."""
    if plan.trials is None:
        estimates = [estimates[i % len(estimates)] for i in range(plan.num_trials)]
    gpu_hours = sum(e.seconds * e.gpus for e in estimates) / 3600
    wall = sweep_wall_seconds([e.seconds for e in estimates], plan.concurrent)
    lines = [f"  estimate:  {wall / 3600:.2f} h wall, {gpu_hours:.2f} GPU-hours for {len(estimates)} trial(s), "
             f"{plan.concurrent} at a time (training + generation; data prep and evaluation not included)"]
    for source in sorted({e.source for e in estimates}):
        lines.append(f"    throughput: {source}")
    lines.append(f"    tokens: {ASSUMED_TOKENS_PER_DIALOGUE} per dialogue (assumed), linear scaling over a trial's GPUs")
    for e in estimates if plan.trials is not None else []:
        lines.append(f"    {e.model:<14} {e.condition:<10} {e.gpus} GPU  {e.seconds / 60:7.1f} min")
    return "\n".join(lines)
