"""`make sweep`: a W&B-format sweep whose trials are whole pipelines, offline on Ray Tune or online on W&B.

    python -m launch.sweep sweeps/smoke.yaml                   # offline (default): Ray Tune, W&B offline
    python -m launch.sweep sweeps/paper.yaml --dry-run         # the plan: trials, resources, fit; runs nothing
    python -m launch.sweep sweeps/paper.yaml logger.mode=online   # W&B sweep + agents (needs WANDB_API_KEY)
    python -m launch.sweep sweeps/x.yaml cluster=single_node_gpu  # extra overrides apply to every trial

A meta-launcher like `wandb sweep`, so it takes the spec as an argument instead of being a Hydra app;
it composes conf/ with Hydra's compose API to check every key before anything runs. Outputs go to
`${paths.outputs}/sweeps/<name>/`: results.csv, results.parquet, spec.yaml, trials/<key>/ (run dirs).

Where it runs follows RAY_ADDRESS / cluster.address (tide/sweep/cluster.py): unset, a local Ray; a GCS
address (host:6379), the driver joins that cluster; a dashboard URL (http://host:8265), this command
submits itself as a Ray job (launch.cluster.submit) and streams the job's logs. With cluster=slurm it
submits itself as an sbatch job that starts Ray on its nodes and follows the job's log (launch.cluster.slurm).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import launch.common  # noqa: F401  (makes TIDE_OUTPUTS absolute before the config is composed)
from tide.config import TideConfig
from tide.core.runtime import PROJECT_ROOT, apply_runtime_env
from tide.sweep.slurm_script import JOB_MARKER as SLURM_JOB_MARKER
from tide.sweep.spec import SweepSpecError
from tide.sweep.trial import DEFAULT_TRIAL_FN


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.sweep", description=__doc__.split("\n")[0])
    parser.add_argument("spec", type=Path, help="a sweep spec in W&B's format, e.g. sweeps/smoke.yaml")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied to every trial (key=value)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and run nothing")
    parser.add_argument("--gpus", type=int, help="dry run: plan for a cluster of this many GPUs instead of this one")
    parser.add_argument("--cpus", type=int, help="dry run: with --gpus, the cluster's CPUs (default 8 per GPU)")
    parser.add_argument("--throughput", type=Path, help="dry run: measured single-GPU tokens/s per model "
                        "(default ${paths.outputs}/bench/throughput.json when present; else the FLOP formula)")
    parser.add_argument("--trial-fn", default=DEFAULT_TRIAL_FN,
                        help="what a trial runs, 'module:function' (default: the pipeline in a subprocess)")
    job = parser.add_argument_group("as a Ray job (RAY_ADDRESS=http://<head>:8265)")
    job.add_argument("--no-pip", dest="pip", action="store_false",
                     help="use the cluster's own environment instead of installing requirements/stack.txt in the job")
    job.add_argument("--job-python", default="python", help="the job's interpreter on the head (default: python)")
    return parser.parse_intermixed_args(argv)  # options may sit among the overrides


def compose(spec_path: Path, overrides: list[str]):
    """Load and check the spec against the config tree; the spec, the sweep's base config and the
    representative trials' typed configs (each with the run directory the runner gives it)."""
    from tide.sweep.plan import compose_trials
    from tide.sweep.spec import load_spec

    spec = load_spec(spec_path)
    configs = compose_trials(spec, overrides)
    base = configs[0]
    apply_runtime_env(offline=base.runtime.offline, ray_usage_stats=base.runtime.ray_usage_stats,
                      wandb_mode=base.logger.mode)
    return spec, base, configs


def prepare(spec, base: TideConfig, configs: list[TideConfig], shape: dict | None = None):
    """The plan on the cluster this runs on (joined here when remote); `shape` ({"CPU": n, "GPU": n}) plans for
    that cluster instead. On more than one node, refuses outputs that not every node can reach."""
    from tide.sweep.cluster import check_multi_node_storage
    from tide.sweep.plan import make_plan

    cluster, source, nodes = (shape, "assumed cluster shape (--gpus/--cpus)", 1) if shape else cluster_resources(
        base.cluster.address)
    check_multi_node_storage(base.paths.outputs, base.cluster.storage_path, nodes)
    return make_plan(spec, [c.cluster for c in configs], cluster, source)


def cluster_resources(address: str | None) -> tuple[dict, str, int]:
    """The Ray cluster's CPUs/GPUs and alive nodes: the joined cluster's, or what a local Ray here would have."""
    from tide.sweep.cluster import alive_nodes, connect, parse_address
    from tide.sweep.plan import local_resources

    target = parse_address(address)
    if target.kind == "local":
        return local_resources(), "local Ray on this machine", 1
    resources = connect(target)
    return resources, f"Ray cluster at {address}, {alive_nodes()} node(s)", alive_nodes()


def submit_as_job(args: argparse.Namespace, address: str) -> int:
    """`make sweep` pointed at a dashboard: this same command as a Ray job, its logs streamed here."""
    from launch.cluster.submit import entrypoint, forwarded_env, submit

    try:
        command = entrypoint(args.spec, args.overrides, args.dry_run, args.job_python,
                             None if args.trial_fn == DEFAULT_TRIAL_FN else args.trial_fn)
    except ValueError as error:
        raise SweepSpecError(str(error)) from None
    _, status = submit(address, command, pip=args.pip, wait=True, env_vars=forwarded_env())
    return 0 if status == "SUCCEEDED" else 1


def check_job_outputs(base: TideConfig, sweep_dir: Path) -> None:
    """Inside a submitted job: outputs must outlive the job's working directory; say where they go."""
    from tide.sweep.cluster import check_outputs_outlive_job, in_submitted_job

    if in_submitted_job():
        check_outputs_outlive_job(base.paths.outputs, base.cluster.storage_path, [Path.cwd(), PROJECT_ROOT])
        print(f"Ray job: results go to {sweep_dir} (Tune state: {base.cluster.storage_path})", flush=True)


def run(args: argparse.Namespace):
    """The sweep end to end; returns the results table (None for a dry run), or the exit code of the job
    it submitted itself as."""
    from tide.sweep.cluster import in_submitted_job, parse_address
    from tide.sweep.estimate import read_throughput
    from tide.sweep.overrides import sweep_directory
    from tide.sweep.plan import format_plan
    from tide.sweep.tracking import log_results

    shape = {"GPU": args.gpus, "CPU": args.cpus or 8 * args.gpus} if args.gpus else None
    spec, base, configs = compose(args.spec, args.overrides)
    online = base.logger.mode == "online"
    if base.cluster.slurm is not None and not os.environ.get(SLURM_JOB_MARKER):  # cluster=slurm, not yet in the job
        from launch.cluster import slurm

        return slurm.run(base.cluster.slurm, spec, [c.cluster for c in configs], args.spec, args.overrides,
                         args.trial_fn, args.dry_run)
    if not shape and parse_address(base.cluster.address).kind == "dashboard" and not in_submitted_job():
        return submit_as_job(args, base.cluster.address)
    sweep_dir = sweep_directory(base.paths.outputs, spec.name)
    if not args.dry_run:  # a dry run writes nothing
        check_job_outputs(base, sweep_dir)
    plan = prepare(spec, base, configs, shape)
    print(format_plan(plan), flush=True)
    if args.dry_run:
        print(dry_run_estimate(plan, configs, read_throughput(base.paths.outputs, args.throughput), fresh=online))
        return None
    if online:
        from tide.sweep.wandb_agents import require_api_key

        require_api_key()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.spec, sweep_dir / "spec.yaml")
    if online:
        from tide.sweep.wandb_agents import run_online

        frame = run_online(spec, plan, args.overrides, base.logger, sweep_dir, base.paths.outputs)
    else:
        from tide.sweep.tune_runner import run_offline

        frame = run_offline(spec, plan, args.overrides, sweep_dir, storage_path=base.cluster.storage_path,
                            trial_fn=args.trial_fn, seed=base.seed)
    wandb_dir = log_results(frame, spec, base.logger, args.overrides)
    print(format_results(frame, spec, sweep_dir, wandb_dir), flush=True)
    return frame


def dry_run_estimate(plan, configs: list[TideConfig], throughput: dict | None, fresh: bool = False) -> str:
    """Wall time and GPU-hours of a GPU sweep, from measured throughput when there is some. Each trial
    counts only the stages it would run (`fresh`: none is complete yet, as for a W&B agent's new run)."""
    from tide.sweep.estimate import PlannedTrial, estimate_trial, format_estimate

    if not plan.resources.gpus:
        return "  estimate:  CPU trials; the planner estimates GPU sweeps (cluster.use_gpu=true)"
    trials = [PlannedTrial.from_config(config, fresh=fresh) for config in configs]
    return format_estimate(plan, [estimate_trial(trial, throughput) for trial in trials])


def format_results(frame, spec, sweep_dir: Path, wandb_dir: str | None) -> str:
    columns = [c for c in ("trial", "status", spec.metric, *spec.keys) if c in frame]
    lines = ["", f"Sweep {spec.name}: {len(frame)} trial(s), best first by {spec.metric} ({spec.goal})",
             frame[columns].to_string(index=False, max_colwidth=32) if len(frame) else "  (no trials finished)",
             f"  table: {sweep_dir / 'results.csv'} (+ results.parquet)", f"  runs:  {sweep_dir / 'trials'}"]
    if wandb_dir:
        lines.append(f"  W&B:   {wandb_dir}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """The sweep's exit status; bad input raises, and the boundary (launch/errors.py) reports it in one line."""
    frame = run(parse_args(argv))
    if isinstance(frame, int):  # submitted as a Ray job: the job's outcome
        return frame
    if frame is not None and len(frame) and not frame["status"].isin(["completed", "early_stopped"]).all():
        return 1
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.sweep", main))
