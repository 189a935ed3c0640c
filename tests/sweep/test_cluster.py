"""Cluster addresses and submission (tide/sweep/cluster.py, launch/cluster/submit.py): address kinds, fast
one-line refusals of unreachable addresses, job outputs that must outlive the job, the job's command and
runtime env, token handling, the example cluster files; and, on a real two-node Ray cluster started here
with token auth, a sweep whose trials land on both nodes, the refusal without shared storage, and
`launch.sweep` pointed at the dashboard submitting itself as a Ray job."""

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
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from launch.cluster.submit import entrypoint, forwarded_env, requirements, runtime_env, use_token_auth
from tide.core.runtime import PROJECT_ROOT
from tide.sweep.cluster import (ClusterError, check_multi_node_storage, check_outputs_outlive_job, parse_address,
                                probe)
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
    # The job joins its own cluster: a dashboard address among the overrides would submit it again.
    assert "cluster.address" not in entrypoint("sweeps/smoke.yaml", ["cluster.address=http://head:8265", "seed=1"])


def test_address_kinds():
    assert parse_address(None).kind == "local" and parse_address("").kind == "local"
    assert parse_address("auto").kind == "auto"
    gcs = parse_address("10.0.0.5:6380")
    assert (gcs.kind, gcs.host, gcs.port) == ("gcs", "10.0.0.5", 6380)
    assert parse_address("head").port == 6379
    dashboard = parse_address("http://head:8265/")
    assert (dashboard.kind, dashboard.address, dashboard.endpoint) == ("dashboard", "http://head:8265", "head:8265")
    assert parse_address("ray://head").kind == "client" and parse_address("ray://head").port == 10001
    with pytest.raises(ClusterError, match="cluster.address=ftp://head: expected http"):
        parse_address("ftp://head")
    with pytest.raises(ClusterError, match="'x' is not a port number"):
        parse_address("head:x")


def closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("address", ["http://127.0.0.1:{port}", "127.0.0.1:{port}", "ray://127.0.0.1:{port}"])
def test_unreachable_address_is_one_clear_error(address):
    address = address.format(port=closed_port())
    with pytest.raises(ClusterError, match=rf"cluster.address={address}: nothing answers at 127.0.0.1:\d+"):
        probe(parse_address(address))


def test_something_else_on_the_port_is_not_taken_for_ray():
    """An HTTP server that is not Ray's dashboard."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        with pytest.raises(ClusterError, match="answers HTTP 404, not a Ray dashboard"):
            probe(parse_address(f"http://127.0.0.1:{port}"))
    finally:
        server.shutdown()


def test_make_sweep_with_an_unreachable_address_fails_in_one_line(tmp_path):
    env = {**os.environ, "RAY_ADDRESS": f"http://127.0.0.1:{closed_port()}", "TIDE_OUTPUTS": str(tmp_path / "out")}
    done = subprocess.run([sys.executable, "-m", "launch.sweep", "sweeps/smoke.yaml"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"launch.sweep: cluster.address={env['RAY_ADDRESS']}: nothing answers")
    assert not (tmp_path / "out").exists()


def test_a_job_refuses_outputs_inside_its_working_directory(tmp_path):
    job_dir = tmp_path / "session" / "working_dir_files" / "_ray_pkg_1"
    with pytest.raises(ClusterError, match=r"paths.outputs \(TIDE_OUTPUTS\)=.*/_ray_pkg_1/outputs is inside this "
                                           r"Ray job's working directory .*deletes with the job: set TIDE_OUTPUTS"):
        check_outputs_outlive_job(str(job_dir / "outputs"), "/mnt/shared/ray", [job_dir])
    with pytest.raises(ClusterError, match="cluster.storage_path=.*inside this Ray job's working directory"):
        check_outputs_outlive_job("/mnt/shared/tide", str(job_dir / "ray"), [job_dir])
    with pytest.raises(ClusterError, match="cluster.storage_path is not set"):
        check_outputs_outlive_job("/mnt/shared/tide", None, [job_dir])
    check_outputs_outlive_job("/mnt/shared/tide", "s3://bucket/tide", [job_dir])  # outlives the job


def test_multi_node_outputs_must_be_mounted_or_a_uri(tmp_path):
    check_multi_node_storage(str(tmp_path / "nowhere"), str(tmp_path / "nowhere" / "ray"), nodes=1)  # one node: any
    with pytest.raises(ClusterError, match=r"paths.outputs \(TIDE_OUTPUTS\)=.*/nowhere: a 2-node cluster needs "
                                           "storage every node can reach"):
        check_multi_node_storage(str(tmp_path / "nowhere"), "s3://bucket/ray", nodes=2)
    check_multi_node_storage(str(tmp_path), str(tmp_path / "ray"), nodes=2)  # created by the sweep, inside outputs
    with pytest.raises(ClusterError, match="cluster.storage_path=/not/mounted"):
        check_multi_node_storage(str(tmp_path), "/not/mounted", nodes=2)


def test_outputs_outside_the_working_dir_are_passed_to_the_job():
    assert forwarded_env({"TIDE_OUTPUTS": "/mnt/shared/tide"}) == {"TIDE_OUTPUTS": "/mnt/shared/tide"}
    assert forwarded_env({"TIDE_OUTPUTS": str(PROJECT_ROOT / "outputs")}) == {}  # would be inside the job's copy
    assert forwarded_env({}) == {}
    assert runtime_env(pip=False, env_vars={"TIDE_OUTPUTS": "/x"})["env_vars"] == {"TIDE_OUTPUTS": "/x"}


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


def stop_tree(process: subprocess.Popen, timeout_s: float = 20) -> None:
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
    _, alive = psutil.wait_procs(family, timeout=timeout_s)
    for member in alive:
        member.kill()


def ray_start(args: list[str], env: dict) -> subprocess.Popen:
    """`ray start ... --block` with its own free ports (other Ray instances may hold the defaults)."""
    ports = [f"--{name}={free_port()}" for name in ("node-manager-port", "object-manager-port",
                                                     "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port")]
    return subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--block", *args, *ports,
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class TwoNodes:
    gcs: str
    dashboard: str
    token: str


NODE_RESOURCES = '{"trial_slot": 1}'  # one sweep trial per node with cluster.trial_resources={trial_slot:1}


@pytest.fixture(scope="module")
def two_nodes():
    """A head (GCS + dashboard) and a second node on this machine, 1 CPU each, token auth; the suite's
    interpreter first on PATH, as on a cluster whose image has the suite installed."""
    token = secrets.token_hex(16)
    # Short (Ray's socket paths); one per node, as on two machines: nodes sharing a temp dir share their
    # runtime_env working-dir copies, and one node's cleanup deletes files under the other's job.
    ray_tmps = [Path(tempfile.mkdtemp(prefix="tide-2n-", dir="/tmp")) for _ in range(2)]
    env = {k: v for k, v in os.environ.items() if k not in ("TIDE_OUTPUTS", "RAY_ADDRESS")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    gcs_port, dashboard_port = free_port(), free_port()
    head = ray_start(["--head", f"--port={gcs_port}", f"--dashboard-port={dashboard_port}", "--include-dashboard=true",
                      f"--ray-client-server-port={free_port()}", f"--temp-dir={ray_tmps[0]}", "--num-cpus=1",
                      f"--resources={NODE_RESOURCES}"], env)
    nodes = [head]
    try:
        wait_for(f"127.0.0.1:{gcs_port}", env, nodes=1)
        nodes.append(ray_start([f"--address=127.0.0.1:{gcs_port}", f"--temp-dir={ray_tmps[1]}", "--num-cpus=1",
                                f"--resources={NODE_RESOURCES}"], env))
        wait_for(f"127.0.0.1:{gcs_port}", env, nodes=2)
        yield TwoNodes(f"127.0.0.1:{gcs_port}", f"http://127.0.0.1:{dashboard_port}", token)
    finally:
        for node in reversed(nodes):
            stop_tree(node, timeout_s=5)
        for path in ray_tmps:
            shutil.rmtree(path, ignore_errors=True)


def wait_for(gcs: str, env: dict, nodes: int, timeout_s: float = 120) -> None:
    script = ("import ray, time; ray.init(address=%r, log_to_driver=False)\n"
              "while sum(n['Alive'] for n in ray.nodes()) < %d: time.sleep(0.5)" % (gcs, nodes))
    deadline = time.monotonic() + timeout_s
    while True:  # the GCS takes a few seconds to come up
        try:
            subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60, check=True)
            return
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            assert time.monotonic() < deadline, f"Ray at {gcs} did not come up with {nodes} node(s)"
            time.sleep(2)


def sweep(cluster: TwoNodes, address: str, outputs: Path | None, *args: str) -> subprocess.CompletedProcess:
    """`python -m launch.sweep` as `make sweep` runs it, pointed at the cluster (token from the environment)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "TIDE_OUTPUTS")}
    env.update(RAY_ADDRESS=address, RAY_AUTH_TOKEN=cluster.token)
    if outputs:
        env["TIDE_OUTPUTS"] = str(outputs)
    return subprocess.run([sys.executable, "-m", "launch.sweep", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=400)


TWO_TRIALS = """name: two_nodes
method: grid
metric: {name: eval/cosine/mean, goal: maximize}
parameters:
  cluster.num_workers: {value: 1}
  cluster.cpus_per_worker: {value: 0.5}
  train.lora.r: {values: [4, 8]}
"""


@pytest.mark.slow
def test_two_trials_land_on_two_nodes_with_shared_storage(two_nodes, tmp_path):
    spec, outputs = tmp_path / "two_nodes.yaml", tmp_path / "shared"
    spec.write_text(TWO_TRIALS)
    outputs.mkdir()  # the shared mount exists before the sweep
    # Both trials run at once (node_trial takes 3 s), each reserving the one trial_slot of a node.
    done = sweep(two_nodes, two_nodes.gcs, outputs, str(spec), "cluster.trial_resources={trial_slot:1}",
                 "--trial-fn", "tests.sweep.fakes:node_trial")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "(Ray cluster at 127.0.0.1" in done.stdout and "2 node(s)) -> 2 trial(s) at a time" in done.stdout
    table = pd.read_csv(outputs / "sweeps" / "two_nodes" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"}
    nodes = [[p.name for p in Path(run_dir).glob("node-*")] for run_dir in table["run_dir"]]
    assert all(len(n) == 1 for n in nodes) and nodes[0] != nodes[1], nodes  # one trial on each node
    assert two_nodes.token not in log


@pytest.mark.slow
def test_a_multi_node_sweep_without_shared_storage_is_refused_before_anything_runs(two_nodes, tmp_path):
    outputs = tmp_path / "not-mounted"
    done = sweep(two_nodes, two_nodes.gcs, outputs, "sweeps/smoke.yaml", "--trial-fn", "tests.sweep.fakes:scored_trial")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"launch.sweep: paths.outputs (TIDE_OUTPUTS)={outputs}: a 2-node cluster needs storage every node can " \
           "reach, but this path does not exist here" in done.stderr
    assert "Traceback" not in done.stderr and not outputs.exists()


@pytest.mark.slow
def test_make_sweep_at_a_dashboard_url_runs_as_a_ray_job_and_streams_its_logs(two_nodes, tmp_path):
    outputs = tmp_path / "shared"
    outputs.mkdir()
    done = sweep(two_nodes, two_nodes.dashboard, outputs, "sweeps/smoke.yaml", "--no-pip",
                 "--trial-fn", "tests.sweep.fakes:scored_trial")
    log = done.stdout + done.stderr
    assert done.returncode == 0 and ": SUCCEEDED" in done.stdout, log
    assert f"submitted tide-sweep-" in done.stdout and f"job environment: TIDE_OUTPUTS={outputs}" in done.stdout
    assert f"Ray job: results go to {outputs}/sweeps/smoke" in done.stdout  # printed by the job, streamed here
    assert "2/2 trial" in done.stdout and "Sweep smoke: 2 trial(s)" in done.stdout
    table = pd.read_csv(outputs / "sweeps" / "smoke" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"}
    assert two_nodes.token not in log
    for path in (p for p in outputs.rglob("*") if p.is_file()):
        assert two_nodes.token.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_a_job_whose_outputs_would_vanish_with_it_is_refused(two_nodes):
    done = sweep(two_nodes, two_nodes.dashboard, None, "sweeps/smoke.yaml", "--no-pip",
                 "--trial-fn", "tests.sweep.fakes:scored_trial")
    assert done.returncode == 1 and ": FAILED" in done.stdout, done.stdout + done.stderr
    assert "launch.sweep: paths.outputs (TIDE_OUTPUTS)=" in done.stdout
    assert "is inside this Ray job's working directory" in done.stdout and "Sweep smoke" not in done.stdout


@pytest.mark.slow
def test_smoke_sweep_submitted_with_launch_cluster_submit(two_nodes, tmp_path):
    outputs = tmp_path / "shared"
    outputs.mkdir()
    client_env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
    client_env.update(RAY_AUTH_TOKEN=two_nodes.token, TIDE_OUTPUTS=str(outputs))  # the helper switches token auth on
    command = [sys.executable, "-m", "launch.cluster.submit", "sweeps/smoke.yaml", "--address", two_nodes.dashboard,
               "--no-pip", "--python", sys.executable, "--trial-fn", "tests.sweep.fakes:scored_trial", "--wait"]
    submitted = subprocess.run(command, cwd=PROJECT_ROOT, env=client_env, capture_output=True, text=True, timeout=400)
    log = submitted.stdout + submitted.stderr
    assert submitted.returncode == 0 and ": SUCCEEDED" in submitted.stdout, log
    assert "2/2 trial" in submitted.stdout
    table = pd.read_csv(outputs / "sweeps" / "smoke" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"}
    assert two_nodes.token not in log
