"""The plan of a sweep: its trials, what each needs, how many fit the cluster at once.

A trial is a small driver (the pipeline process: 0.5 CPU, so two trials' drivers fit on one core next
to the workers) plus the Ray Train workers its config asks for (`cluster.num_workers` x
`cluster.cpus_per_worker` CPUs and `cluster.gpus_per_worker` GPUs each when `cluster.use_gpu`). The
trial's Ray reservation is only the driver; the workers reserve their own share when training starts,
so the runner limits how many trials run at once instead: reserving the workers twice (in the trial and
again in Ray Train) is what leaves Tune trials PENDING forever on a small cluster. `cluster.trial_resources`
adds custom Ray resources to the driver's reservation (e.g. {trial_slot: 1} on nodes started with
`ray start --resources='{"trial_slot": 1}'`: one trial per node).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from tide.sweep.overrides import to_overrides
from tide.sweep.spec import SweepSpec

TRIAL_DRIVER_CPUS = 0.5


class PlanDoesNotFit(RuntimeError):
    """A trial needs more than the whole cluster has: its trials would wait forever."""


@dataclass(frozen=True)
class TrialResources:
    cpus: float
    gpus: float
    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    custom: tuple[tuple[str, float], ...] = ()   # cluster.trial_resources, reserved with the driver

    def describe(self) -> str:
        custom = "".join(f", {amount:g} {name}" for name, amount in self.custom)
        return (f"{self.cpus:g} CPU, {self.gpus:g} GPU{custom} ({TRIAL_DRIVER_CPUS:g} CPU trial driver{custom} + "
                f"{self.workers} worker(s) x {self.cpus_per_worker:g} CPU, {self.gpus_per_worker:g} GPU)")

    def driver_reservation(self) -> dict:
        """What Ray reserves for a trial's driver (Tune's resource dict)."""
        return {"cpu": TRIAL_DRIVER_CPUS, **dict(self.custom)}


@dataclass(frozen=True)
class Plan:
    spec: SweepSpec
    trials: list[list[str]] | None        # every trial's overrides (grid); None: sampled as it runs
    resources: TrialResources
    cluster: dict                          # {"CPU": n, "GPU": n}
    cluster_source: str
    concurrent: int

    @property
    def num_trials(self) -> int:
        return self.spec.num_trials


def trial_resources(cluster_cfg: dict) -> TrialResources:
    workers = int(cluster_cfg["num_workers"])
    cpus_per_worker = float(cluster_cfg["cpus_per_worker"])
    gpus_per_worker = float(cluster_cfg["gpus_per_worker"]) if cluster_cfg["use_gpu"] else 0.0
    custom = tuple(sorted((str(name), float(amount)) for name, amount in (cluster_cfg.get("trial_resources") or {}).items()))
    return TrialResources(cpus=TRIAL_DRIVER_CPUS + workers * cpus_per_worker, gpus=workers * gpus_per_worker,
                          workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker,
                          custom=custom)


def largest(resources: list[TrialResources]) -> TrialResources:
    """Trials may differ (e.g. a swept cluster.num_workers); plan for the largest."""
    return max(resources, key=lambda r: (r.gpus, r.cpus))


def fit(resources: TrialResources, cluster: dict) -> int:
    """How many trials run at once; refuses a trial bigger than the cluster."""
    cpus, gpus = float(cluster.get("CPU", 0)), float(cluster.get("GPU", 0))
    if resources.cpus > cpus or resources.gpus > gpus:
        raise PlanDoesNotFit(
            f"a trial needs {resources.describe()} but the cluster has {cpus:g} CPU and {gpus:g} GPU: "
            f"lower cluster.num_workers / cluster.cpus_per_worker / cluster.gpus_per_worker, or use a bigger "
            f"cluster (RAY_ADDRESS)")
    for name, amount in resources.custom:
        if float(cluster.get(name, 0)) < amount:
            raise PlanDoesNotFit(f"cluster.trial_resources: a trial reserves {amount:g} {name} but the cluster has "
                                 f"{float(cluster.get(name, 0)):g}; start nodes with `ray start --resources` or drop it")
    by_cpu = math.floor(cpus / resources.cpus + 1e-9)
    by_gpu = math.floor(gpus / resources.gpus + 1e-9) if resources.gpus else by_cpu
    by_custom = [math.floor(float(cluster[name]) / amount + 1e-9) for name, amount in resources.custom if amount > 0]
    return max(1, min(by_cpu, by_gpu, *by_custom))


def local_resources() -> dict:
    """What a local Ray started here would have (without starting it)."""
    import torch

    return {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}


def make_plan(spec: SweepSpec, cluster_cfgs: list[dict], cluster: dict, cluster_source: str) -> Plan:
    """`cluster_cfgs`: the resolved `cluster` section of each representative trial config."""
    resources = largest([trial_resources(c) for c in cluster_cfgs])
    concurrent = min(fit(resources, cluster), spec.num_trials)
    trials = [to_overrides(point) for point in spec.grid_points()] if spec.method == "grid" else None
    return Plan(spec=spec, trials=trials, resources=resources, cluster=cluster, cluster_source=cluster_source,
                concurrent=concurrent)


def format_plan(plan: Plan) -> str:
    spec = plan.spec
    lines = [
        f"Sweep {spec.name} ({spec.method}, {spec.goal} {spec.metric}): {plan.num_trials} trial(s)"
        + (f", early termination: hyperband {spec.early_terminate}" if spec.early_terminate else ""),
        f"  per trial: {plan.resources.describe()}",
        f"  cluster:   {plan.cluster.get('CPU', 0):g} CPU, {plan.cluster.get('GPU', 0):g} GPU "
        f"({plan.cluster_source}) -> {plan.concurrent} trial(s) at a time",
    ]
    if plan.trials is not None:
        lines.append("  trials:")
        width = len(str(len(plan.trials)))
        lines += [f"    {i:>{width}}. {' '.join(overrides)}" for i, overrides in enumerate(plan.trials, 1)]
    else:
        lines.append("  search space:")
        lines += [f"    {p.key}: {p.describe()}" for p in spec.parameters]
    return "\n".join(lines)


# --- Time estimate for a dry run: the sweep's wall time and GPU-hours from single-GPU throughput ---

# When no measured throughput is given (outputs/bench/throughput.json from `make bench` on a GPU), the
# FLOP formula (tide/bench/flops.py) turns an assumed MFU into tokens/s. LoRA training of 0.5B-4B
# models commonly reaches 30-45% on an H100; batched sampling is memory-bound, far lower.
ASSUMED_TRAIN_MFU = 0.35
ASSUMED_GENERATION_MFU = 0.05
ASSUMED_GPU = "H100"
# Prompt (system + client turn) plus reply in the chat format; real tokenizers give 200-350 on TIDE.
ASSUMED_TOKENS_PER_DIALOGUE = 300
TIDE_DIALOGUES = 10_000  # when the data artifact is not on this machine: TIDE's size, split by data.split


@dataclass(frozen=True)
class TrialEstimate:
    model: str
    condition: str
    gpus: int
    train_tokens: int
    generate_tokens: int
    seconds: float
    source: str          # "measured on <device>" or "FLOP formula, assumed MFU ..."


def split_dialogues(config: dict) -> dict:
    """Dialogues per split: the artifact's manifest when it is here, else TIDE's size split by data.split."""
    from tide.data.artifact import read_manifest

    manifest = read_manifest(config["data"]["artifact_dir"])
    if manifest:
        return {name: split["dialogues"] for name, split in manifest["splits"].items()}
    return {name: round(TIDE_DIALOGUES * float(config["data"]["split"][name])) for name in ("train", "val", "test")}


def trial_tokens_per_second(config: dict, throughput: dict | None) -> tuple[float, float, str]:
    """(training, generation) tokens/s on one GPU: measured for this model, else the FLOP formula."""
    from tide.core.telemetry import parameter_counts, peak_flops, training_flops_per_token

    model = config["model"]["name"]
    measured = (throughput or {}).get("models", {}).get(model)
    if measured:
        return measured["train_tokens_per_s"], measured["generate_tokens_per_s"], f"measured on {throughput['device']}"
    params, trainable = parameter_counts(config["model"]["architecture"], config["train"])
    peak = peak_flops(ASSUMED_GPU)
    source = (f"FLOP formula, {ASSUMED_GPU} at assumed MFU {ASSUMED_TRAIN_MFU:.0%} train / "
              f"{ASSUMED_GENERATION_MFU:.0%} generate")
    return (peak * ASSUMED_TRAIN_MFU / training_flops_per_token(params, trainable),
            peak * ASSUMED_GENERATION_MFU / (2.0 * params), source)


def estimate_trial(config: dict, throughput: dict | None) -> TrialEstimate:
    """One pipeline trial: training (fine-tuned condition only) then generation, on its workers' GPUs.

    Assumes linear scaling over the trial's workers; data preparation and evaluation are left out.
    """
    dialogues = split_dialogues(config)
    workers, condition = int(config["cluster"]["num_workers"]), config["pipeline"]["condition"]
    epochs = int(config["train"]["epochs"])
    train_tokens = dialogues["train"] * epochs * ASSUMED_TOKENS_PER_DIALOGUE if condition == "finetuned" else 0
    generate_tokens = dialogues["test"] * ASSUMED_TOKENS_PER_DIALOGUE
    train_rate, generate_rate, source = trial_tokens_per_second(config, throughput)
    seconds = (train_tokens / train_rate + generate_tokens / generate_rate) / workers
    return TrialEstimate(config["model"]["name"], condition, workers, train_tokens, generate_tokens, seconds, source)


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
