"""The online sweep: the spec registered with W&B, its agents run as Ray tasks (one per trial slot).

W&B's controller picks each trial's parameters; the agent runs the command registered with the sweep,
`python -m launch.pipeline <fixed overrides> ${args_no_hyphens}`, so Hydra receives `key=value`
overrides exactly as the offline runner writes them. The API key is read by wandb from the
environment of each process (WANDB_API_KEY; on a cluster, set it in the nodes' environment, e.g. from
a Kubernetes secret); it is never passed as an argument, put in a config, or printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tide.config import LoggerConfig
from tide.core.runtime import PROJECT_ROOT
from tide.sweep.overrides import to_overrides
from tide.sweep.plan import TRIAL_DRIVER_CPUS, Plan
from tide.sweep.results import ResultsTable, trial_key
from tide.sweep.spec import SweepSpec
from tide.sweep.tracking import is_number

SWEEP_ID_FILE = "wandb_sweep_id"


class OnlineSweepError(RuntimeError):
    pass


def require_api_key() -> None:
    if not os.environ.get("WANDB_API_KEY"):
        raise OnlineSweepError(
            "logger.mode=online needs WANDB_API_KEY in the environment (it is never read from a config "
            "file); set it, or run the same sweep offline on Ray Tune with logger.mode=offline")


def online_overrides(spec: SweepSpec, extra_overrides: list[str]) -> list[str]:
    """Overrides every agent run gets: its W&B group, and a run directory named after its W&B run id."""
    return [*extra_overrides, f"logger.group={spec.name}",
            f"run.name={spec.name}-${{oc.env:WANDB_RUN_ID}}"]


def wandb_sweep_config(spec: SweepSpec, fixed_overrides: list[str]) -> dict:
    """The spec as W&B registers it, with the command its agents run."""
    config = {key: value for key, value in spec.raw.items() if key != "name"}
    config["name"] = spec.name
    config["command"] = ["${env}", "${interpreter}", "-m", "launch.pipeline", *fixed_overrides, "${args_no_hyphens}"]
    return config


def agent_command(sweep_path: str) -> list[str]:
    return [sys.executable, "-m", "wandb", "agent", sweep_path]


def register_sweep(spec: SweepSpec, fixed_overrides: list[str], logger: LoggerConfig, sweep_dir: Path) -> str:
    """W&B's `entity/project/sweep_id`; an interrupted sweep's id is reused, so its agents carry on."""
    id_file = sweep_dir / SWEEP_ID_FILE
    if id_file.is_file():
        return id_file.read_text().strip()
    import wandb

    sweep_id = wandb.sweep(wandb_sweep_config(spec, fixed_overrides), project=logger.project, entity=logger.entity)
    entity = logger.entity or wandb.Api().default_entity
    sweep_path = f"{entity}/{logger.project}/{sweep_id}"
    sweep_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(sweep_path + "\n")
    return sweep_path


def run_agents(sweep_path: str, plan: Plan) -> list[int]:
    """One agent per trial slot, each a Ray task holding a trial driver's CPU; returns their exit codes."""
    import ray

    @ray.remote(num_cpus=TRIAL_DRIVER_CPUS)
    def agent(path: str) -> int:
        env = dict(os.environ)
        # The registered command says `python`: make it this interpreter; the pipeline joins this cluster.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
        return subprocess.call(agent_command(path), cwd=PROJECT_ROOT, env=env)

    return ray.get([agent.remote(sweep_path) for _ in range(plan.concurrent)])


def collect_results(sweep_path: str, spec: SweepSpec, table: ResultsTable, outputs: str) -> None:
    """One row per W&B run of the sweep, from the W&B API."""
    import wandb

    for run in wandb.Api().sweep(sweep_path).runs:
        params = {key: run.config.get(key) for key in spec.keys}
        key = trial_key(params)
        metrics = {k: v for k, v in run.summary.items() if not k.startswith("_") and is_number(v)}
        table.record({
            "trial": key, "status": "completed" if run.state == "finished" else run.state, **params, **metrics,
            "overrides": " ".join(to_overrides(params)),
            "run_dir": str(Path(outputs) / "runs" / f"{spec.name}-{run.id}"), "error": None,
        })


def run_online(spec: SweepSpec, plan: Plan, extra_overrides: list[str], logger: LoggerConfig, sweep_dir: Path,
               outputs: str):
    """Register (or resume) the W&B sweep, run its agents on Ray, then build the table; returns it."""
    import ray

    require_api_key()
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), log_to_driver=False)
    sweep_path = register_sweep(spec, online_overrides(spec, extra_overrides), logger, sweep_dir)
    print(f"[sweep {spec.name}] W&B sweep {sweep_path}: {plan.concurrent} agent(s)", flush=True)
    failed = [code for code in run_agents(sweep_path, plan) if code != 0]
    if failed:
        print(f"[sweep {spec.name}] {len(failed)} agent(s) exited with an error: {failed}", flush=True)
    table = ResultsTable(sweep_dir, spec.keys, spec.metric, spec.goal)
    collect_results(sweep_path, spec, table, outputs)
    table.write()
    return table.dataframe()
