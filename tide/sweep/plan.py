"""The plan of a sweep: its trials, what each needs, how many fit the cluster at once.

A trial is a small driver (the pipeline process: 0.5 CPU, so two trials' drivers fit on one core next
to the workers) plus the Ray Train workers its config asks for (`cluster.num_workers` x
`cluster.cpus_per_worker` CPUs and `cluster.gpus_per_worker` GPUs each when `cluster.use_gpu`). The
trial's Ray reservation is only the driver; the workers reserve their own share when training starts,
so the runner limits how many trials run at once instead: reserving the workers twice (in the trial and
again in Ray Train) is what leaves Tune trials PENDING forever on a small cluster.
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

    def describe(self) -> str:
        return (f"{self.cpus:g} CPU, {self.gpus:g} GPU ({TRIAL_DRIVER_CPUS:g} CPU trial driver + {self.workers} "
                f"worker(s) x {self.cpus_per_worker:g} CPU, {self.gpus_per_worker:g} GPU)")


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
    return TrialResources(cpus=TRIAL_DRIVER_CPUS + workers * cpus_per_worker, gpus=workers * gpus_per_worker,
                          workers=workers, cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker)


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
    by_cpu = math.floor(cpus / resources.cpus + 1e-9)
    by_gpu = math.floor(gpus / resources.gpus + 1e-9) if resources.gpus else by_cpu
    return max(1, min(by_cpu, by_gpu))


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
