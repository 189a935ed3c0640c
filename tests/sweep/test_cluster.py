"""Cluster submission: the job's command and runtime env, token handling, the example cluster files,
and (slow) the smoke sweep submitted as a Ray job to a real local head that requires a token."""

import importlib.util
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from launch.cluster.submit import entrypoint, requirements, runtime_env, use_token_auth
from tide.runtime import PROJECT_ROOT
from tide.sweep.spec import load_spec

CLUSTER_DIR = PROJECT_ROOT / "launch" / "cluster"


def test_entrypoint_runs_the_sweep_with_a_spec_relative_to_the_working_dir():
    command = entrypoint(PROJECT_ROOT / "sweeps" / "smoke.yaml", ["logger.mode=online", "seed=1"], dry_run=True,
                         python="/opt/venv/bin/python")
    assert shlex.split(command) == ["/opt/venv/bin/python", "-m", "launch.sweep", "sweeps/smoke.yaml",
                                    "logger.mode=online", "seed=1", "--dry-run"]
    with pytest.raises(ValueError, match="must be inside"):
        entrypoint("/etc/hosts", [])
    with pytest.raises(ValueError, match="no such sweep spec"):
        entrypoint(PROJECT_ROOT / "sweeps" / "missing.yaml", [])


def test_runtime_env_carries_the_code_and_the_pins_but_not_the_venv():
    env = runtime_env()
    assert env["working_dir"] == str(PROJECT_ROOT)
    assert {".venv", ".git", "outputs"} <= set(env["excludes"])
    packages = env["pip"]["packages"]
    assert "ray==2.60.0" in packages and "optuna==5.0.0" in packages
    assert not any(p.startswith("pytest") or p.startswith("#") for p in packages)
    assert packages == requirements()
    assert "pip" not in runtime_env(pip=False)


def test_token_auth_only_when_a_token_is_there(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.setenv(name, "")  # recorded, so whatever use_token_auth sets is undone afterwards
        monkeypatch.delenv(name)
    assert use_token_auth() is False and "RAY_AUTH_MODE" not in os.environ
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("not-read-by-us")
    assert use_token_auth() is True and os.environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert use_token_auth() is False


def load(name: str) -> dict:
    return yaml.safe_load((CLUSTER_DIR / name).read_text())


def test_ray_cluster_launcher_yaml_installs_the_suite_and_starts_token_auth_heads():
    cluster = load("ray_cluster.yaml")
    assert cluster["head_node_type"] in cluster["available_node_types"]
    assert cluster["file_mounts"]["/home/ubuntu/tide"] == "."
    assert any("make install" in command for command in cluster["setup_commands"])
    head = " ".join(cluster["head_start_ray_commands"])
    assert "RAY_AUTH_MODE=token" in head and "ray start --head" in head
    assert all("RAY_AUTH_MODE=token" in c for c in cluster["worker_start_ray_commands"] if "ray start" in c)
    text = (CLUSTER_DIR / "ray_cluster.yaml").read_text()
    assert "python -m launch.cluster.submit sweeps/paper.yaml" in text  # how a sweep reaches it


def test_kuberay_rayjob_runs_an_existing_sweep_with_secrets_from_kubernetes():
    job = load("rayjob.yaml")
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    command = shlex.split(job["spec"]["entrypoint"])
    assert command[:3] == ["python", "-m", "launch.sweep"] and importlib.util.find_spec("launch.sweep")
    load_spec(PROJECT_ROOT / command[3])
    cluster = job["spec"]["rayClusterSpec"]
    pods = [cluster["headGroupSpec"]["template"], *[g["template"] for g in cluster["workerGroupSpecs"]],
            job["spec"]["submitterPodTemplate"]]
    for container in (c for pod in pods for c in pod["spec"]["containers"]):
        env = {e["name"]: e for e in container["env"]}
        for name in ("RAY_AUTH_TOKEN", "WANDB_API_KEY", "HF_TOKEN"):
            if name in env:
                assert "value" not in env[name] and "secretKeyRef" in env[name]["valueFrom"], name
        assert env["RAY_AUTH_MODE"]["value"] == "token"
    head_env = {e["name"] for e in cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert {"WANDB_API_KEY", "HF_TOKEN", "TIDE_OUTPUTS"} <= head_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_tree(process: subprocess.Popen) -> None:
    """Stop the head we started and everything it started, by process id."""
    import psutil

    try:
        family = [*psutil.Process(process.pid).children(recursive=True), psutil.Process(process.pid)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        try:
            member.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=20)
    for member in alive:
        member.kill()


@pytest.mark.slow
def test_smoke_sweep_as_a_ray_job_on_a_head_that_requires_a_token(tmp_path):
    token = secrets.token_hex(16)
    ray_tmp = Path(tempfile.mkdtemp(prefix="tide-head-", dir="/tmp"))  # short: Ray's socket paths
    outputs = tmp_path / "outputs"
    head_env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "TIDE_OUTPUTS": str(outputs)}
    dashboard = free_port()
    # Free ports for everything the head listens on: other Ray instances may hold the defaults.
    ports = [f"--{name}={free_port()}" for name in ("port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port",
                                                     "ray-client-server-port")]
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--num-cpus=2", *ports,
         f"--dashboard-port={dashboard}", "--include-dashboard=true", f"--temp-dir={ray_tmp}",
         "--disable-usage-stats"],
        env=head_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client_env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
        client_env["RAY_AUTH_TOKEN"] = token  # the helper must switch token auth on by itself
        command = [sys.executable, "-m", "launch.cluster.submit", "sweeps/smoke.yaml", "--address",
                   f"http://127.0.0.1:{dashboard}", "--no-pip", "--python", sys.executable,
                   "--trial-fn", "tests.sweep.fakes:scored_trial", "--wait"]
        deadline = time.monotonic() + 180
        while True:  # the dashboard takes a while to come up
            submitted = subprocess.run(command, cwd=PROJECT_ROOT, env=client_env, capture_output=True, text=True)
            if submitted.returncode == 0 or time.monotonic() > deadline or "submitted" in submitted.stdout:
                break
            time.sleep(3)
        log = submitted.stdout + submitted.stderr
        assert submitted.returncode == 0 and ": SUCCEEDED" in submitted.stdout, log
        assert "2/2 trial" in submitted.stdout
        table = pd.read_csv(outputs / "sweeps" / "smoke" / "results.csv")
        assert len(table) == 2 and set(table["status"]) == {"completed"}
        assert token not in log
        for path in (p for p in outputs.rglob("*") if p.is_file()):
            assert token.encode() not in path.read_bytes(), path
    finally:
        stop_tree(head)
        shutil.rmtree(ray_tmp, ignore_errors=True)
