"""The sbatch script a Slurm sweep runs: Ray on the job's own nodes, the sweep's driver against it.

Rendered with string.Template from the `cluster.slurm` slice, so the script a user sees with DRY_RUN=1 is
the script that runs. It holds no secret: the Ray token reaches the job through the environment sbatch
passes on (`--export=ALL`), never through this file or its log.
"""

from __future__ import annotations

import json
import shlex
import string
import sys
from dataclasses import dataclass
from pathlib import Path

from tide.config.schema import SlurmConfig

# Set in the job, so launch.sweep there runs the sweep instead of submitting it again.
JOB_MARKER = "TIDE_SLURM_JOB"

TEMPLATE = string.Template("""\
#!/bin/bash
# A TIDE sweep on Slurm, rendered by `python -m launch.sweep ... cluster=slurm` (docs/sweeps.md).
# The first node runs the Ray head, every other node a Ray worker (srun); the sweep's driver runs here
# against that Ray, and Ray is stopped on every exit path: end, failure, scancel, time limit.
#SBATCH --job-name=$job_name
#SBATCH --nodes=$nodes
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=$cpus_per_node
#SBATCH --time=$time_limit
#SBATCH --output=$log
#SBATCH --open-mode=append
$optional_sbatch
set -uo pipefail
$modules
$activate
cd $project

# Results, W&B offline runs and Ray Tune's state all go to the shared storage (they outlive the job).
export TIDE_OUTPUTS=$storage $marker=$$SLURM_JOB_ID
# Token auth stays on: RAY_AUTH_TOKEN comes from the environment sbatch passed on, never from this file.
export RAY_AUTH_MODE=token
unset RAY_ADDRESS   # the submitting shell's, if any: this job starts its own Ray
# Ray drains for 30 s on SIGTERM by default; a cancelled job must let go of its nodes within seconds.
export RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S=1 RAY_USAGE_STATS_ENABLED=0
ray_logs=$storage/slurm/$job_name-$$SLURM_JOB_ID
mkdir -p "$$ray_logs"

ray_steps=() driver=
stop_ray() {  # the job's own Ray processes only (never `ray stop`: it kills every Ray on the host)
  trap - EXIT TERM INT
  [[ -n $$driver ]] && kill -TERM "$$driver" 2>/dev/null
  # SIGTERM to the tasks of the job's steps (each node's Ray wrapper stops its own Ray); a SIGTERM to srun
  # itself would have the step killed outright, leaving Ray's temp dirs behind.
  steps=$$(squeue -h -s -j "$$SLURM_JOB_ID" -o %i 2>/dev/null | grep -E '\.[0-9]+$$')
  [[ -n $$steps ]] && scancel --signal=TERM $$steps 2>/dev/null
  for _ in $$(seq 20); do kill -0 "$${ray_steps[@]}" 2>/dev/null || break; sleep 0.5; done
  (( $${#ray_steps[@]} )) && kill -KILL "$${ray_steps[@]}" 2>/dev/null
  echo "[slurm] Ray stopped on $$SLURM_JOB_NODELIST"
}
trap stop_ray EXIT
trap 'exit 143' TERM INT

head=$$SLURMD_NODENAME   # the batch script runs on the allocation's first node
address=$$($python -m launch.cluster.slurm_node address)   # this node's IP and a free port, per job
node=($python -m launch.cluster.slurm_node start --address "$$address" --logs "$$ray_logs" --cpus $cpus_per_node --gpus $gpus_per_node$resources)
srun --nodes=1 --ntasks=1 --nodelist="$$head" "$${node[@]}" --head &
ray_steps+=($$!)
if (( SLURM_JOB_NUM_NODES > 1 )); then
  srun --nodes=$$((SLURM_JOB_NUM_NODES - 1)) --ntasks=$$((SLURM_JOB_NUM_NODES - 1)) --exclude="$$head" "$${node[@]}" &
  ray_steps+=($$!)
fi
$python -m launch.cluster.slurm_node wait --address $$address --nodes $$SLURM_JOB_NUM_NODES --timeout $join_timeout_s || exit 1

echo "[slurm] Ray at $$address on $$SLURM_JOB_NODELIST; results in $results"
RAY_ADDRESS=$$address $sweep &
driver=$$!
wait "$$driver"
status=$$?
driver=
exit $$status
""")


@dataclass(frozen=True)
class SlurmJob:
    """What the script runs: the sweep command (spec + overrides) and where the job writes."""
    spec: Path
    overrides: tuple[str, ...]
    trial_fn: str | None      # None: the default trial (the pipeline)
    project: Path             # the suite's checkout, on storage the nodes see
    log: str                  # the job's output file (%j: the job id)
    results: str              # the sweep's results directory


def python_of(slurm: SlurmConfig) -> str:
    """The interpreter the job uses: the configured venv's, or the one running this command."""
    return str(Path(slurm.venv) / "bin" / "python") if slurm.venv else sys.executable


def render(slurm: SlurmConfig, job: SlurmJob) -> str:
    python = python_of(slurm)
    sweep = [python, "-m", "launch.sweep", str(job.spec), *job.overrides]
    if job.trial_fn:
        sweep += ["--trial-fn", job.trial_fn]
    compact = json.dumps(slurm.node_resources, separators=(",", ":")) if slurm.node_resources else None
    resources = f" --resources {shlex.quote(compact)}" if compact else ""
    return TEMPLATE.substitute(
        job_name=slurm.job_name, nodes=slurm.nodes, cpus_per_node=slurm.cpus_per_node,
        gpus_per_node=slurm.gpus_per_node, time_limit=slurm.time_limit, log=job.log,
        optional_sbatch="".join(f"#SBATCH {line}\n" for line in optional_sbatch(slurm)),
        modules="\n".join(f"module load {shlex.quote(m)}" for m in slurm.modules) or "# (no modules)",
        activate=f"source {shlex.quote(slurm.venv)}/bin/activate" if slurm.venv else
        f"# interpreter: {python}", project=shlex.quote(str(job.project)), storage=shlex.quote(slurm.storage),
        marker=JOB_MARKER, python=shlex.quote(python), resources=resources, join_timeout_s=f"{slurm.join_timeout_s:g}",
        results=job.results, sweep=" ".join(shlex.quote(part) for part in sweep))


def optional_sbatch(slurm: SlurmConfig) -> list[str]:
    lines = []
    if slurm.gpus_per_node:
        lines.append(f"--gpus-per-node={slurm.gpus_per_node}")
    if slurm.partition:
        lines.append(f"--partition={slurm.partition}")
    if slurm.account:
        lines.append(f"--account={slurm.account}")
    return lines + [line.strip() for line in slurm.extra_sbatch]
