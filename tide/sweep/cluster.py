"""Where a sweep runs, and whether its outputs survive it.

`cluster.address` (default: $RAY_ADDRESS) is one of
  - null: a local Ray started on this machine;
  - `host:port` (the head's GCS, port 6379 by default), `ray://host:10001` (Ray Client) or `auto`
    (a cluster already running on this machine): the sweep's driver joins it (ray.init);
  - `http(s)://host:8265` (the head's dashboard): the job API; launch.sweep submits itself as a Ray job.
Before Ray sees an address it is probed with one short request (seconds), so a wrong address is one
line instead of a ValueError traceback or Ray's connection retries (20 s and more).

A submitted job runs in a temporary copy of the working directory that Ray deletes with the job, so
its outputs must go elsewhere (`check_outputs_outlive_job`); a sweep on more than one node needs
outputs every node can reach (`check_multi_node_storage`, the same rule as training's check).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROBE_TIMEOUT_S = 3.0
GCS_DEFAULT_PORT, CLIENT_DEFAULT_PORT = 6379, 10001
# Ray's job supervisor sets this in the environment of every submitted job's entrypoint.
RAY_JOB_ENV_VAR = "RAY_JOB_CONFIG_JSON_ENV_VAR"


class ClusterError(RuntimeError):
    """The cluster cannot be used as configured; the message is one line naming the option."""


@dataclass(frozen=True)
class ClusterAddress:
    kind: str                 # "local", "auto", "gcs", "client" (ray://) or "dashboard" (http[s]://)
    address: str | None
    host: str | None = None
    port: int | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(address: str | None) -> ClusterAddress:
    if address is None or not str(address).strip():
        return ClusterAddress("local", None)
    address = str(address).strip()
    if address == "auto":
        return ClusterAddress("auto", address)
    if "://" in address:
        parts = urlsplit(address)
        defaults = {"http": 80, "https": 443, "ray": CLIENT_DEFAULT_PORT}
        if parts.scheme not in defaults or not parts.hostname:
            raise ClusterError(f"cluster.address={address}: expected http(s)://<head>:8265 (dashboard), "
                               "<head>:6379 (GCS), ray://<head>:10001 or auto")
        kind = "client" if parts.scheme == "ray" else "dashboard"
        return ClusterAddress(kind, address.rstrip("/"), parts.hostname, _port(address, parts.port, defaults[parts.scheme]))
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
    return ClusterAddress("gcs", address, host or address, _port(address, port or None, GCS_DEFAULT_PORT))


def _port(address: str, port, default: int) -> int:
    try:
        return int(port) if port is not None else default
    except ValueError:
        raise ClusterError(f"cluster.address={address}: {port!r} is not a port number") from None


def probe(target: ClusterAddress, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """A Ray head answers at the address, or a one-line ClusterError within about timeout_s: the dashboard's
    version endpoint over HTTP, the GCS's cluster-id call over gRPC, a TCP connection for Ray Client."""
    if target.host is None:
        return
    problem = {"dashboard": _probe_dashboard, "gcs": _probe_gcs}.get(target.kind, _probe_tcp)(target, timeout_s)
    if problem:
        raise ClusterError(f"cluster.address={target.address}: {problem} ({timeout_s:g} s probe); "
                           "is the head running and reachable from here (RAY_ADDRESS)?")


def _probe_tcp(target: ClusterAddress, timeout_s: float) -> str | None:
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout_s):
            return None
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or type(error).__name__)
        return f"nothing answers at {target.endpoint} ({reason})"


def _probe_dashboard(target: ClusterAddress, timeout_s: float) -> str | None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{target.address}/api/version", timeout=timeout_s) as response:
            body = response.read(4096)
    except urllib.error.HTTPError as error:  # 401/403: a Ray dashboard that wants a token (the client sends it)
        return None if error.code in (401, 403) else f"{target.endpoint} answers HTTP {error.code}, not a Ray dashboard"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"nothing answers at {target.endpoint} ({getattr(reason, 'strerror', None) or reason})"
    return None if b"ray_version" in body else f"{target.endpoint} answers, but not as a Ray dashboard"


def _probe_gcs(target: ClusterAddress, timeout_s: float) -> str | None:
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(target.endpoint) as channel:
        try:
            gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
                gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s)
            return None
        except grpc.RpcError as error:
            code = error.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:  # a token-auth head: ray.init sends the token
        return None
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return f"nothing answers at {target.endpoint} ({code.name.lower()})"
    return f"{target.endpoint} answers, but not as a Ray GCS ({code.name.lower()})"


def use_token_auth() -> bool:
    """Token auth when the environment or ~/.ray holds a token (Ray reads the value itself, we never do)."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode:
        return mode == "token"
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"  # before Ray reads its config: the client sends the token
        return True
    return False


def connect(target: ClusterAddress) -> dict:
    """Join the cluster at a GCS / Ray Client / auto address (probed first); returns its resources."""
    use_token_auth()  # before anything imports Ray, which reads RAY_AUTH_MODE once
    import ray
    from ray.exceptions import AuthenticationError

    if target.kind == "dashboard":
        raise ClusterError(f"cluster.address={target.address} is a dashboard URL: submit a job to it instead")
    probe(target)
    if not ray.is_initialized():
        try:
            ray.init(address=target.address, log_to_driver=False)
        except (ConnectionError, ValueError, AuthenticationError) as error:  # e.g. `auto` with no cluster here
            raise ClusterError(f"cluster.address={target.address}: {str(error).strip().splitlines()[0]}") from None
    return ray.cluster_resources()


def alive_nodes() -> int:
    import ray

    return sum(1 for node in ray.nodes() if node["Alive"])


def in_submitted_job() -> bool:
    return RAY_JOB_ENV_VAR in os.environ


def check_outputs_outlive_job(outputs: str, storage_path: str | None, job_dirs: list[Path]) -> None:
    """In a submitted job: refuse outputs inside the job's working directory (deleted with the job)."""
    for option, value in (("paths.outputs (TIDE_OUTPUTS)", outputs), ("cluster.storage_path", storage_path)):
        if value is None:
            raise ClusterError(f"{option} is not set: a Ray job needs storage that outlives it")
        if "://" in str(value):
            continue
        path = Path(value).resolve()
        inside = next((d for d in job_dirs if path == d.resolve() or d.resolve() in path.parents), None)
        if inside is not None:
            raise ClusterError(
                f"{option}={value} is inside this Ray job's working directory {inside}, which Ray deletes with "
                f"the job: set TIDE_OUTPUTS (where you submit from, or on the cluster's nodes) to a shared mount, "
                f"e.g. TIDE_OUTPUTS=/mnt/shared/tide (cluster.storage_path may also be an s3:// or gs:// URI)")


def check_multi_node_storage(outputs: str, storage_path: str, nodes: int) -> None:
    """On more than one node, the run directories and Tune's state go where every node can reach them."""
    from tide.train.checks import ConfigError, check_shared_storage

    try:
        check_shared_storage("paths.outputs (TIDE_OUTPUTS)", outputs, nodes)
        if not _inside(storage_path, outputs):  # the default, ${paths.outputs}/ray, is created by the sweep
            check_shared_storage("cluster.storage_path", storage_path, nodes)
    except ConfigError as error:
        raise ClusterError(str(error)) from None


def _inside(path: str, root: str) -> bool:
    if "://" in str(path) or "://" in str(root):
        return False
    path, root = Path(path).resolve(), Path(root).resolve()
    return path == root or root in path.parents
