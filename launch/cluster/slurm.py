"""`make sweep ARGS=cluster=slurm`: the sweep as one sbatch job (script: tide/sweep/slurm_script.py).

Checks the partition, its size, the shared storage and the Ray token first (one line each, nothing
submitted), shows the script (DRY_RUN=1 stops there), submits it with `sbatch --parsable`, prints the job
id and where the log and results go, and follows the log until the job ends. Ctrl-C detaches: the job
keeps running. The end state comes from `scontrol show job` (accounting may be off: no sacct), polled
every second (`sbatch --wait` notices the end late).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

from tide.config.schema import SlurmConfig
from tide.core.runtime import PROJECT_ROOT
from tide.sweep.cluster import ClusterError
from tide.sweep.slurm_checks import check_shared_storage, partition_nodes, require_slurm, require_token
from tide.sweep.slurm_script import SlurmJob, render
from tide.sweep.trial import DEFAULT_TRIAL_FN

ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL",
         "DEADLINE"}
POLL_S = 1.0


def prepare(slurm: SlurmConfig, spec_path: Path, sweep_name: str, overrides: list[str], trial_fn: str):
    """Checked before anything is submitted; the slice with its partition resolved, and the job."""
    require_slurm()
    partition, hosts = partition_nodes(slurm)
    check_shared_storage(slurm.storage, hosts)
    require_token()
    storage = Path(slurm.storage)
    job = SlurmJob(spec=spec_path.resolve(), overrides=tuple(overrides),
                   trial_fn=None if trial_fn == DEFAULT_TRIAL_FN else trial_fn, project=PROJECT_ROOT,
                   log=str(storage / "slurm" / f"{slurm.job_name}-%j.out"),
                   results=str(storage / "sweeps" / sweep_name))
    return dataclasses.replace(slurm, partition=partition), job


def submit(slurm: SlurmConfig, job: SlurmJob, sweep_name: str) -> str:
    """Writes the script next to the logs (it holds no secret) and submits it; returns the job id."""
    script_dir = Path(slurm.storage) / "slurm"
    script_dir.mkdir(parents=True, exist_ok=True)
    script = script_dir / f"{slurm.job_name}-{sweep_name}.sbatch"
    script.write_text(render(slurm, job))
    # --export=ALL: the job gets this environment, RAY_AUTH_TOKEN included, without it touching a file.
    done = subprocess.run(["sbatch", "--parsable", "--export=ALL", str(script)], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise ClusterError(f"cluster=slurm: sbatch refused {script}: {reason}")
    job_id = done.stdout.strip().split(";")[0]
    print(f"submitted Slurm job {job_id} ({slurm.nodes} node(s), partition {slurm.partition}): {script}\n"
          f"  log:     {job.log.replace('%j', job_id)}\n  results: {job.results}\n"
          f"  Ctrl-C detaches (the job keeps running); scancel {job_id} stops it", flush=True)
    return job_id


def job_state(job_id: str) -> str:
    done = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=30)
    fields = dict(part.split("=", 1) for part in done.stdout.split() if "=" in part)
    # A job gone from slurmctld's memory (MinJobAge) has ended; its log says how.
    return fields.get("JobState", "ENDED" if done.returncode else "UNKNOWN")


def follow(job_id: str, log: Path) -> int:
    """Prints the log as it grows until the job ends; 0 when it COMPLETED. Ctrl-C detaches (exit 0)."""
    offset, state, shown = 0, "PENDING", None
    try:
        while True:
            state = job_state(job_id)
            if state != shown and state not in ENDED:  # a job may wait in the queue for hours: say so
                print(f"Slurm job {job_id}: {state}", flush=True)
                shown = state
            offset = _print_new(log, offset)
            if state in ENDED or state == "ENDED":
                _print_new(log, offset)
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        print(f"\ndetached from Slurm job {job_id} ({state}); it keeps running: tail -f {log}", flush=True)
        return 0
    print(f"Slurm job {job_id}: {state}", flush=True)
    return 0 if state == "COMPLETED" else 1


def _print_new(log: Path, offset: int) -> int:
    if not log.is_file():
        return offset
    with open(log, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    complete = data[: data.rfind(b"\n") + 1]
    sys.stdout.write(complete.decode(errors="replace"))
    sys.stdout.flush()
    return offset + len(complete)


def run(slurm: SlurmConfig, spec, cluster_slices: list, spec_path: Path, overrides: list[str], trial_fn: str,
        dry_run: bool) -> int:
    """The whole submission: checks, the plan on the allocation, the script (all a dry run prints),
    sbatch, the log followed."""
    from tide.sweep.plan import format_plan, make_plan

    slurm, job = prepare(slurm, spec_path, spec.name, overrides, trial_fn)
    per_node = {"CPU": slurm.cpus_per_node, "GPU": slurm.gpus_per_node, **(slurm.node_resources or {})}
    shape = {name: slurm.nodes * amount for name, amount in per_node.items()}
    where = f"Slurm job: {slurm.nodes} node(s) x {slurm.cpus_per_node} CPU, {slurm.gpus_per_node} GPU on {slurm.partition}"
    print(format_plan(make_plan(spec, cluster_slices, shape, where)), flush=True)
    if dry_run:
        print(f"\nsbatch script (not submitted: dry run):\n{render(slurm, job)}", end="", flush=True)
        return 0
    job_id = submit(slurm, job, spec.name)
    return follow(job_id, Path(job.log.replace("%j", job_id)))
