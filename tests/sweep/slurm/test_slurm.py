"""`make sweep` with cluster=slurm on a real Slurm: two slurmd on this host (conftest.py). A smoke sweep whose
trials land on both nodes; scancel during a trial, then the same command again finishing only what was left;
the bad inputs refused in one line with nothing submitted; the script shown by a dry run."""

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from tide.core.runtime import PROJECT_ROOT

pytestmark = pytest.mark.slurm

# CPU trials on the 2 x 2-CPU local nodes, one trial per node (each node has one trial_slot).
CPU_JOB = ["cluster=slurm", "cluster.use_gpu=false", "cluster.gpus_per_worker=0", "cluster.num_workers=1",
           "cluster.cpus_per_worker=0.5", "cluster.slurm.gpus_per_node=0", "cluster.slurm.cpus_per_node=2",
           "cluster.slurm.time_limit=10", "cluster.slurm.node_resources={trial_slot:1}",
           "cluster.trial_resources={trial_slot:1}"]
SPEC = """name: {name}
method: grid
metric: {{name: eval/cosine/mean, goal: maximize}}
parameters:
  train.lora.r: {{values: {ranks}}}
"""
TOKEN = secrets.token_hex(16)


def write_spec(tmp_path: Path, name: str, ranks: list[int]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, ranks=ranks))
    return path


def environment(slurm, storage: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SLURM_", "TIDE_"))}
    return {**env, **slurm.env, "TIDE_OUTPUTS": str(storage), "RAY_AUTH_TOKEN": TOKEN, **extra}


def sweep(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "launch.sweep", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ray_processes(job_id: str) -> list[str]:
    """Processes of the job's Ray (each node's temp dir is /tmp/tide-ray-<job>-<node>)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or ())
        if f"tide-ray-{job_id}-" in line:
            found.append(line[:120])
    return found


def job_id_of(output: str) -> str:
    return re.search(r"submitted Slurm job (\d+)", output).group(1)


def queue(slurm) -> str:
    return subprocess.run(["squeue", "-h"], env={**os.environ, **slurm.env}, capture_output=True, text=True).stdout


def test_smoke_sweep_runs_on_both_nodes_and_leaves_no_ray(local_slurm, tmp_path):
    storage = tmp_path / "shared"
    storage.mkdir()
    spec = write_spec(tmp_path, "slurm_smoke", [4, 8])
    started = time.monotonic()
    done = sweep(environment(local_slurm, storage), str(spec), *CPU_JOB, "--trial-fn", "tests.sweep.slurm.trials:overlapping_node_trial")
    wall = time.monotonic() - started
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    job_id = job_id_of(done.stdout)
    print(f"smoke sweep on 2 Slurm nodes: {wall:.1f} s (job {job_id})")
    assert f"Slurm job {job_id}: COMPLETED" in done.stdout and "[slurm] all 2 node(s) joined Ray" in done.stdout
    assert f"log:     {storage}/slurm/tide-sweep-{job_id}.out" in done.stdout
    table = pd.read_csv(storage / "sweeps" / "slurm_smoke" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"}
    nodes = [[p.name for p in Path(run_dir).glob("node-*")] for run_dir in table["run_dir"]]
    assert all(len(n) == 1 for n in nodes) and nodes[0] != nodes[1], nodes  # one trial on each node
    assert list((storage / "wandb").rglob("offline-run-*")), "W&B offline runs land on the shared storage"
    assert not ray_processes(job_id) and not list(Path("/tmp").glob(f"tide-ray-{job_id}-*"))
    assert TOKEN not in log
    for path in (p for p in storage.rglob("*") if p.is_file()):
        assert TOKEN.encode() not in path.read_bytes(), path


def test_scancel_stops_ray_and_the_resubmitted_job_runs_only_what_is_left(local_slurm, tmp_path):
    storage = tmp_path / "shared"
    storage.mkdir()
    spec = write_spec(tmp_path, "slurm_resume", [4, 8, 16, 32])
    env = environment(local_slurm, storage, FAKE_TRIAL_SECONDS="8")  # reaches the trials through the job's env
    command = [sys.executable, "-m", "launch.sweep", str(spec), *CPU_JOB, "--trial-fn", "tests.sweep.fakes:scored_trial"]
    follower = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    results = storage / "sweeps" / "slurm_resume" / "results.csv"
    printed = ""
    while "submitted Slurm job" not in printed:
        line = follower.stdout.readline()
        assert line, printed
        printed += line
    job_id = job_id_of(printed)
    deadline = time.monotonic() + 180
    while not (results.is_file() and (pd.read_csv(results)["status"] == "completed").sum() >= 2):
        assert time.monotonic() < deadline and follower.poll() is None, "the first two trials did not finish"
        time.sleep(0.5)
    time.sleep(2)  # the next two trials are running now
    finished = set(pd.read_csv(results).query("status == 'completed'")["trial"])
    subprocess.run(["scancel", job_id], env=env, check=True)
    cancelled = time.monotonic()
    while ray_processes(job_id):
        assert time.monotonic() - cancelled < 15, ray_processes(job_id)
        time.sleep(0.2)
    print(f"scancel: the job's Ray processes were gone {time.monotonic() - cancelled:.1f} s after scancel")
    output = printed + follower.communicate(timeout=60)[0]
    assert follower.returncode == 1 and f"Slurm job {job_id}: CANCELLED" in output, output

    again = sweep(env, *command[3:])
    log = again.stdout + again.stderr
    assert again.returncode == 0, log
    assert f"resuming: {len(finished)} finished trial(s)" in again.stdout
    table = pd.read_csv(results)
    assert len(table) == 4 and set(table["status"]) == {"completed"}
    for row in table.itertuples():
        markers = list(Path(row.run_dir).glob("ran-*"))
        if row.trial in finished:
            assert len(markers) == 1, row.trial  # not run again
        else:
            assert 1 <= len(markers) <= 2, row.trial
    assert TOKEN not in output + log


def test_a_dry_run_shows_the_script_and_submits_nothing(local_slurm, tmp_path):
    storage = tmp_path / "shared"
    storage.mkdir()
    spec = write_spec(tmp_path, "slurm_dry", [4, 8])
    done = sweep(environment(local_slurm, storage), str(spec), *CPU_JOB, "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "#SBATCH --nodes=2" in done.stdout and "#SBATCH --partition=debug" in done.stdout
    assert "srun --nodes=1 --ntasks=1" in done.stdout and "launch.sweep" in done.stdout
    assert TOKEN not in done.stdout and not queue(local_slurm).strip() and not (storage / "slurm").exists()


BAD = {
    "no Slurm on the PATH": ([], {"PATH": str(Path(sys.executable).parent)},
                             "launch.sweep: cluster=slurm: sbatch is not on the PATH; run this on the cluster's "
                             "login node (or `module load slurm` first)"),
    "unknown partition": (["cluster.slurm.partition=gpu"], {},
                          "launch.sweep: cluster.slurm.partition=gpu: no such partition (this cluster has debug)"),
    "too many nodes": (["cluster.slurm.nodes=3"], {}, "launch.sweep: cluster.slurm.nodes=3: partition debug has 2 node(s)"),
    "storage not shared": ([], {"TIDE_OUTPUTS": "/tmp/tide-not-mounted"},
                           "launch.sweep: cluster.slurm.storage (TIDE_OUTPUTS)=/tmp/tide-not-mounted: not an existing "
                           "directory here; the job writes its results there, so it must be a shared mount every "
                           "node sees"),
    "missing token": ([], {"RAY_AUTH_TOKEN": None},
                      "launch.sweep: cluster=slurm: RAY_AUTH_TOKEN is not set; the job's Ray uses token auth: export "
                      "RAY_AUTH_TOKEN=$(openssl rand -hex 16) (passed to the job's environment, never written to "
                      "its script or log)"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_nothing_is_submitted(local_slurm, tmp_path, case):
    overrides, changes, message = BAD[case]
    storage = tmp_path / "shared"
    storage.mkdir()
    env = environment(local_slurm, storage)
    env.update({k: v for k, v in changes.items() if v is not None})
    for name in (k for k, v in changes.items() if v is None):
        env.pop(name)
    done = sweep(env, str(write_spec(tmp_path, "slurm_bad", [4, 8])), *CPU_JOB, *overrides, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == message and "Traceback" not in done.stderr
    assert not queue(local_slurm).strip() and not (storage / "slurm").exists()


def test_a_job_past_its_time_limit_stops_ray_and_resumes_when_submitted_again(local_slurm, tmp_path):
    """--time=1: Slurm ends the job 60-90 s in (it checks limits every 30 s). Six 30 s trials, two at a time,
    end in rounds at about 50, 80 and 110 s, so two or four are done and two are running; the same command
    with more time runs only the rest."""
    storage = tmp_path / "shared"
    storage.mkdir()
    spec = write_spec(tmp_path, "slurm_timeout", [2, 4, 8, 16, 32, 64])
    env = environment(local_slurm, storage, FAKE_TRIAL_SECONDS="30")
    job = [override for override in CPU_JOB if not override.startswith("cluster.slurm.time_limit=")]
    trial = ["--trial-fn", "tests.sweep.fakes:scored_trial"]
    timed_out = sweep(env, str(spec), *job, "cluster.slurm.time_limit=1", *trial)
    assert "submitted Slurm job" in timed_out.stdout, timed_out.stdout + timed_out.stderr
    job_id = job_id_of(timed_out.stdout)
    assert timed_out.returncode == 1 and f"Slurm job {job_id}: TIMEOUT" in timed_out.stdout, timed_out.stdout
    assert not ray_processes(job_id) and not list(Path("/tmp").glob(f"tide-ray-{job_id}-*"))
    results = storage / "sweeps" / "slurm_timeout" / "results.csv"
    finished = set(pd.read_csv(results).query("status == 'completed'")["trial"]) if results.is_file() else set()
    assert 0 < len(finished) < 6, finished

    again = sweep(env, str(spec), *job, "cluster.slurm.time_limit=5", *trial)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resuming: {len(finished)} finished trial(s)" in again.stdout
    table = pd.read_csv(results)
    assert len(table) == 6 and set(table["status"]) == {"completed"}
    assert all(len(list(Path(row.run_dir).glob("ran-*"))) == 1 for row in table.itertuples() if row.trial in finished)
