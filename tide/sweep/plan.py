"""The plan of a sweep: its trials, what each needs, how many fit the cluster at once.

A trial is a small driver (the pipeline process: 0.5 CPU, so two trials' drivers fit on one core next
to the workers) plus the Ray Train workers its config asks for (`cluster.num_workers` x
`cluster.cpus_per_worker` CPUs and `cluster.gpus_per_worker` GPUs each when `cluster.use_gpu`). The
trial's Ray reservation is only the driver; the workers reserve their own share when training starts,
so the runner limits how many trials run at once instead: reserving the workers twice (in the trial and
again in Ray Train) is what leaves Tune trials PENDING forever on a small cluster. `cluster.trial_resources`
adds custom Ray resources to the driver's reservation (e.g. {trial_slot: 1} on nodes started with
`ray start --resources='{"trial_slot": 1}'`: one trial per node). A dry run's time estimate is in
tide/sweep/estimate.py.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from tide.config import ClusterConfig, TideConfig
from tide.sweep.overrides import compose_points, runner_options, sweep_directory, to_overrides
from tide.sweep.results import trial_key
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


def compose_trials(spec: SweepSpec, extra_overrides: list[str] = ()) -> list[TideConfig]:
    """The typed config of each representative trial as the offline runner runs it: its parameters, the
    command line's overrides and the keys the runner sets (its run directory <paths.outputs>/sweeps/<name>/
    trials/<key>, its name and group). The first is the sweep's own base config."""
    # paths.outputs is known only once composed: the run directory refers to it as conf/ does (${paths.outputs}).
    in_sweep = sweep_directory("${paths.outputs}", spec.name)
    return compose_points(spec, spec.representative_points(), extra_overrides,
                          trial_options=lambda point: runner_options(spec.name, in_sweep, trial_key(point)))


def trial_resources(cluster: ClusterConfig) -> TrialResources:
    workers = cluster.num_workers
    cpus_per_worker = float(cluster.cpus_per_worker)
    gpus_per_worker = float(cluster.gpus_per_worker) if cluster.use_gpu else 0.0
    custom = tuple(sorted((str(name), float(amount)) for name, amount in (cluster.trial_resources or {}).items()))
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


def make_plan(spec: SweepSpec, trial_clusters: list[ClusterConfig], cluster: dict, cluster_source: str) -> Plan:
    """`trial_clusters`: the cluster slice of each representative trial's config; `cluster`: what the Ray
    cluster has ({"CPU": n, "GPU": n, ...})."""
    resources = largest([trial_resources(c) for c in trial_clusters])
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
