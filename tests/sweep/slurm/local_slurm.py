"""A real Slurm on this one host, for the Slurm tests: munged on its own socket, slurmctld, and two slurmd
(`slurmd -N n1`, `slurmd -N n2`, distinct ports) sharing a partition, all state under one temp dir, run as
root without systemd or cgroups (proctrack/linuxproc, task/none). Started and stopped by the fixture in
conftest.py; `python -m tests.sweep.slurm.local_slurm DIR` starts one by hand (Ctrl-C stops it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo")
NODES = ("n1", "n2")
PARTITION = "debug"
CPUS_PER_NODE = 2


def missing_programs() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slurm_conf(root: Path, munge_socket: Path) -> str:
    """Two nodes on this host (each its own slurmd port), one partition; accounting off (sacct fails:
    the suite reads job states with `scontrol show job`). KillWait: how long after SIGTERM a cancelled
    job's processes get SIGKILL, kept at Slurm's default so the job script's own cleanup is what's tested."""
    host = socket.gethostname()
    nodes = "\n".join(f"NodeName={name} NodeHostname={host} NodeAddr=127.0.0.1 Port={free_port()} "
                      f"CPUs={CPUS_PER_NODE} State=UNKNOWN" for name in NODES)
    return f"""ClusterName=tide-test
SlurmctldHost={host}
SlurmctldPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd-%n.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
InactiveLimit=0
MinJobAge=600
KillWait=30
{nodes}
PartitionName={PARTITION} Nodes={",".join(NODES)} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class LocalSlurm:
    root: Path
    processes: list = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict:
        """What a client (sbatch, sinfo, scontrol) needs to reach this Slurm."""
        return {"SLURM_CONF": str(self.conf)}

    def start(self, timeout_s: float = 30) -> "LocalSlurm":
        for sub in ("state", "log", "munge", *(f"spool/{n}" for n in NODES)):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        munge_dir = self.root / "munge"
        os.chmod(self.root, 0o755)
        os.chmod(munge_dir, 0o700)
        key = munge_dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        socket_path = munge_dir / "munge.socket"
        self._spawn(["munged", "-F", "-f", f"--socket={socket_path}", f"--key-file={key}",
                     f"--pid-file={munge_dir}/munged.pid", f"--log-file={self.root}/log/munged.log",
                     f"--seed-file={munge_dir}/munged.seed"], "munged")
        self._wait(lambda: socket_path.exists(), timeout_s, "munged did not create its socket")
        self.conf.write_text(slurm_conf(self.root, socket_path))
        self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld")
        for name in NODES:
            self._spawn(["slurmd", "-D", "-N", name, "-f", str(self.conf)], f"slurmd-{name}")
        self._wait(self._nodes_idle, timeout_s, f"nodes {NODES} did not become idle; see {self.root}/log")
        return self

    def _spawn(self, command: list[str], name: str) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self.processes.append(subprocess.Popen(command, env={**os.environ, **self.env}, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def _nodes_idle(self) -> bool:
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"], env={**os.environ, **self.env},
                              capture_output=True, text=True)
        states = dict(line.split() for line in done.stdout.splitlines() if line.strip())
        return all(states.get(name) == "idle" for name in NODES)

    def _wait(self, ready, timeout_s: float, message: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.stop()
                raise RuntimeError(message)
            time.sleep(0.3)

    def stop(self) -> None:
        """The daemons we started, by process id (slurmd first, munged last)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


if __name__ == "__main__":
    import signal

    cluster = LocalSlurm(Path(sys.argv[1]).resolve()).start()
    print(f"export SLURM_CONF={cluster.conf}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        cluster.stop()
