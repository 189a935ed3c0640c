"""What a Slurm sweep is checked against before anything is submitted: Slurm on the PATH, the partition
and its size, shared storage, the Ray token. Each refusal is one line naming the option (ClusterError).

Slurm is asked with `sinfo` and `scontrol` (accounting may be off, so never `sacct`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from tide.config.schema import SlurmConfig
from tide.sweep.cluster import ClusterError

SLURM_PROGRAMS = ("sbatch", "sinfo", "scontrol")
# Filesystems every node of a cluster mounts alike; a local one (ext4, xfs, tmpfs, overlay) is seen by
# this host only, unless every node of the partition is this host.
SHARED_FILESYSTEMS = {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "glusterfs", "fuse.glusterfs",
                      "fuse.ceph-fuse", "panfs", "wekafs", "cifs", "smb3", "fuse.juicefs", "fuse.sshfs", "9p", "virtiofs"}


def require_slurm() -> None:
    missing = [name for name in SLURM_PROGRAMS if shutil.which(name) is None]
    if missing:
        raise ClusterError(f"cluster=slurm: {missing[0]} is not on the PATH; run this on the cluster's login "
                           "node (or `module load slurm` first)")


def require_token() -> None:
    """The job's Ray keeps token auth on; the token travels in the job's environment only."""
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if os.environ.get("RAY_AUTH_TOKEN") or (path and Path(path).is_file()):
        return
    raise ClusterError("cluster=slurm: RAY_AUTH_TOKEN is not set; the job's Ray uses token auth: "
                       "export RAY_AUTH_TOKEN=$(openssl rand -hex 16) (passed to the job's environment, "
                       "never written to its script or log)")


def slurm_query(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ClusterError(f"cluster=slurm: `{' '.join(command)}` failed: {message[0] if message else done.returncode}")
    return done.stdout


def partition_nodes(slurm: SlurmConfig) -> tuple[str, list[str]]:
    """The partition (the default one when none is set) and its nodes' host names."""
    partitions = {}
    for line in slurm_query("sinfo", "-h", "-N", "-o", "%P %n").splitlines():
        name, host = line.split()
        partitions.setdefault(name, set()).add(host)
    default = next((p.rstrip("*") for p in partitions if p.endswith("*")), None)
    partitions = {name.rstrip("*"): hosts for name, hosts in partitions.items()}
    name = slurm.partition or default
    if name is None:
        raise ClusterError("cluster.slurm.partition: this cluster has no default partition; name one of "
                           f"{sorted(partitions)}")
    if name not in partitions:
        raise ClusterError(f"cluster.slurm.partition={name}: no such partition (this cluster has "
                           f"{', '.join(sorted(partitions))})")
    nodes = slurm_query("sinfo", "-h", "-N", "-p", name, "-o", "%N %n").split("\n")
    hosts = sorted({line.split()[1] for line in nodes if line.strip()})
    count = len({line.split()[0] for line in nodes if line.strip()})
    if slurm.nodes > count:
        raise ClusterError(f"cluster.slurm.nodes={slurm.nodes}: partition {name} has {count} node(s)")
    return name, hosts


def check_shared_storage(storage: str, node_hosts: list[str]) -> None:
    """The storage exists here and every node sees the same files: a network filesystem, or nodes that
    all are this host."""
    path = Path(storage)
    if not path.is_absolute() or not path.is_dir():
        raise ClusterError(f"cluster.slurm.storage (TIDE_OUTPUTS)={storage}: not an existing directory here; the "
                           "job writes its results there, so it must be a shared mount every node sees")
    kind = filesystem_type(path)
    if kind in SHARED_FILESYSTEMS or set(node_hosts) <= this_host():
        return
    raise ClusterError(f"cluster.slurm.storage (TIDE_OUTPUTS)={storage}: a local {kind} filesystem the nodes "
                       f"({', '.join(node_hosts)}) do not see; use a shared mount (NFS, Lustre, GPFS, ...)")


def filesystem_type(path: Path, mounts: Path = Path("/proc/mounts")) -> str:
    """The type of the mount holding path: the longest mount point above it in /proc/mounts, the last
    of equal ones (an automounted NFS home is listed after the autofs entry it shadows)."""
    best, kind = "", "unknown"
    resolved = str(path.resolve())
    for line in mounts.read_text().splitlines():
        fields = line.split()
        point = fields[1].replace("\\040", " ")
        if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def this_host() -> set[str]:
    names = {socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"}
    return names | {name.split(".")[0] for name in names}
