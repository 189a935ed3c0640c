"""Inside a Slurm sweep job (the script tide/sweep/slurm_script.py renders): Ray on one node, and the head's
wait for every node.

    python -m launch.cluster.slurm_node address                 # this node's IP and a free port: the head's GCS
    python -m launch.cluster.slurm_node start --address A [--head] --logs DIR --cpus N --gpus N [--resources JSON]
    python -m launch.cluster.slurm_node wait --address A --nodes N --timeout S

`start` runs `ray start --block` with its own ports and temp dir and stays its parent, so on SIGTERM (the job's
end, scancel, the time limit) it stops exactly this node's Ray processes, never another job's (`ray stop` would
kill every Ray on the host), and they are gone within seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

STOP_GRACE_S = 2.0
START_ATTEMPTS = 3
PORT_OPTIONS = ("node-manager-port", "object-manager-port", "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def node_address() -> str:
    from ray.util import get_node_ip_address

    return f"{get_node_ip_address()}:{free_port()}"


def ray_command(args: argparse.Namespace, temp_dir: Path) -> list[str]:
    """Every port Ray would otherwise take at a fixed default is a free one here (jobs may share a node)."""
    host, port = args.address.rsplit(":", 1)
    command = [str(Path(sys.executable).parent / "ray"), "start", "--block", "--disable-usage-stats",
               f"--temp-dir={temp_dir}", f"--num-cpus={args.cpus}", f"--num-gpus={args.gpus}",
               *(f"--{name}={free_port()}" for name in PORT_OPTIONS)]
    if args.resources:
        command.append(f"--resources={args.resources}")
    if args.head:
        return command + ["--head", f"--port={port}", f"--node-ip-address={host}", "--include-dashboard=false",
                          f"--ray-client-server-port={free_port()}"]
    return command + [f"--address={args.address}"]


def start(args: argparse.Namespace) -> int:
    node = os.environ.get("SLURMD_NODENAME") or socket.gethostname()
    # Short (Ray's socket paths have a length limit) and per node: nodes on one host must not share it.
    temp_dir = Path(f"/tmp/tide-ray-{os.environ.get('SLURM_JOB_ID', os.getpid())}-{node}")
    log = open(Path(args.logs) / f"ray-{node}.log", "ab")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    for attempt in range(1, START_ATTEMPTS + 1):
        ray = subprocess.Popen(ray_command(args, temp_dir), stdout=log, stderr=subprocess.STDOUT)
        while not stopping and ray.poll() is None:
            time.sleep(0.2)
        # A worker that comes up while the head is still starting can time out once (seen on 2 busy cores).
        if stopping or args.head or attempt == START_ATTEMPTS:
            break
        print(f"[slurm] Ray on {node} exited with {ray.returncode}; starting it again", file=sys.stderr, flush=True)
        stop_node(ray.pid, temp_dir)
    stop_node(ray.pid, temp_dir)
    if stopping:  # after a failure Ray's own logs stay there
        shutil.rmtree(temp_dir, ignore_errors=True)
    return 0 if stopping else (ray.returncode or 1)


def stop_node(pid: int, temp_dir: Path) -> None:
    """SIGTERM to `ray start` and everything under it, and to any process that names this node's temp dir
    (Ray's daemons and workers do); SIGKILL to whatever is left after STOP_GRACE_S."""
    import psutil

    def ours() -> list:
        found = []
        try:
            found = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        for process in psutil.process_iter(["cmdline"]):
            if process.pid != os.getpid() and str(temp_dir) in " ".join(process.info["cmdline"] or ()):
                found.append(process)
        return list({p.pid: p for p in found}.values())

    family = ours()
    for process in family:
        _signal(process, "terminate")
    _, alive = psutil.wait_procs(family, timeout=STOP_GRACE_S)
    for process in alive + [p for p in ours() if p.is_running()]:
        _signal(process, "kill")


def _signal(process, how: str) -> None:
    import psutil

    try:
        getattr(process, how)()
    except psutil.NoSuchProcess:
        pass


def wait_for_nodes(address: str, nodes: int, timeout_s: float) -> int:
    """Until `nodes` Ray nodes are alive (token auth: RAY_AUTH_MODE/RAY_AUTH_TOKEN from the environment)."""
    import ray

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ray.init(address=address, log_to_driver=False)
            break
        except (ConnectionError, RuntimeError) as error:  # the head's GCS is still starting
            if time.monotonic() > deadline:
                print(f"[slurm] no Ray head at {address} after {timeout_s:g} s: {error}", file=sys.stderr)
                return 1
            time.sleep(1)
    while (alive := sum(n["Alive"] for n in ray.nodes())) < nodes:
        if time.monotonic() > deadline:
            print(f"[slurm] {alive} of {nodes} node(s) joined Ray within {timeout_s:g} s; see the ray-*.log "
                  "files next to this job's log", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"[slurm] all {nodes} node(s) joined Ray", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.cluster.slurm_node", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("address")
    begin = commands.add_parser("start")
    begin.add_argument("--address", required=True)
    begin.add_argument("--head", action="store_true")
    begin.add_argument("--logs", required=True)
    begin.add_argument("--cpus", type=int, required=True)
    begin.add_argument("--gpus", type=int, default=0)
    begin.add_argument("--resources", help="extra Ray resources of this node, JSON")
    wait = commands.add_parser("wait")
    wait.add_argument("--address", required=True)
    wait.add_argument("--nodes", type=int, required=True)
    wait.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    if args.command == "address":
        print(node_address())
        return 0
    if args.command == "start":
        return start(args)
    return wait_for_nodes(args.address, args.nodes, args.timeout)


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.cluster.slurm_node", main))
