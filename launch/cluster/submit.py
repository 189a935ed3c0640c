"""Submit a sweep to a Ray cluster as a Ray job (what `ray job submit` does, from Python).

    RAY_ADDRESS=http://<head>:8265 make sweep SWEEP=sweeps/paper.yaml      # launch.sweep calls this
    RAY_ADDRESS=http://<head>:8265 python -m launch.cluster.submit sweeps/paper.yaml --wait
    RAY_ADDRESS=http://<head>:8265 python -m launch.cluster.submit sweeps/paper.yaml --dry-run
    ... --no-pip          the cluster's image already has the stack (skips the per-job virtualenv)

The job's runtime env carries this working directory (without .venv, outputs, .git) and the pinned
requirements (requirements/stack.txt), and its entrypoint is `python -m launch.sweep <spec> ...` on the
head; with --wait (launch.sweep always waits) the job's logs are streamed as it runs. `TIDE_OUTPUTS`
set here to a path outside this working directory is passed to the job (it must name storage the
cluster sees); the job itself refuses outputs inside its temporary working directory
(tide.sweep.cluster.check_outputs_outlive_job). Heads that require token authentication (Ray's
default) get the token from the environment: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token;
Ray's own loader reads it and this code never does, so it is never printed or saved. The cluster's nodes need their own WANDB_API_KEY / HF_TOKEN in
their environment: nothing secret is put in the runtime env.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from pathlib import Path

from tide.core.runtime import PROJECT_ROOT
from tide.sweep.cluster import ClusterError, parse_address, probe, use_token_auth

EXCLUDES = [".venv", ".git", "outputs", "multirun", "wandb", "**/__pycache__", ".pytest_cache", "*.egg-info"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# Tests and dev tools are not needed to run a sweep.
NOT_FOR_JOBS = ("pytest",)


def requirements(path: Path = PROJECT_ROOT / "requirements" / "stack.txt") -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(NOT_FOR_JOBS)]


def runtime_env(pip: bool = True, env_vars: dict | None = None) -> dict:
    env = {"working_dir": str(PROJECT_ROOT), "excludes": list(EXCLUDES)}
    if pip:
        env["pip"] = {"packages": requirements(), "pip_check": False}
    if env_vars:
        env["env_vars"] = dict(env_vars)
    return env


def forwarded_env(environ=os.environ) -> dict:
    """TIDE_OUTPUTS for the job when it names a place outside this working directory (a path inside it
    would land inside the job's temporary copy)."""
    outputs = environ.get("TIDE_OUTPUTS")
    if not outputs:
        return {}
    if "://" not in outputs:
        path = Path(outputs).resolve()
        if path == PROJECT_ROOT or PROJECT_ROOT in path.parents:
            return {}
    return {"TIDE_OUTPUTS": outputs}


def entrypoint(spec: str | Path, overrides: list[str], dry_run: bool = False, python: str = "python",
               trial_fn: str | None = None) -> str:
    """The job's command, with the spec relative to the uploaded working directory."""
    spec = Path(spec)
    absolute = spec if spec.is_absolute() else Path.cwd() / spec
    try:
        relative = absolute.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        raise ValueError(f"{spec}: the sweep spec must be inside {PROJECT_ROOT} (the uploaded working directory)")
    if not absolute.is_file():
        raise ValueError(f"{spec}: no such sweep spec")
    # The job joins its own cluster (Ray sets RAY_ADDRESS for it): a dashboard URL would submit again.
    overrides = [o for o in overrides if not o.lstrip("+~").startswith("cluster.address=")]
    command = [python, "-m", "launch.sweep", str(relative), *overrides]
    command += ["--dry-run"] if dry_run else []
    command += ["--trial-fn", trial_fn] if trial_fn else []
    return shlex.join(command)


def connect_client(address: str):
    """A JobSubmissionClient for a dashboard URL, probed first; failures are one-line ClusterErrors."""
    use_token_auth()  # before the probe imports Ray, which reads RAY_AUTH_MODE once
    probe(parse_address(address))
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except Exception as error:  # connection, version or authentication: Ray's message, first line only
        hint = "" if use_token_auth() else " (a token-auth head needs RAY_AUTH_TOKEN or ~/.ray/auth_token here)"
        raise ClusterError(f"Ray job API at {address}: {str(error).strip().splitlines()[0]}{hint}") from None


def submit(address: str, command: str, pip: bool = True, wait: bool = False, timeout_s: float | None = None,
           env_vars: dict | None = None) -> tuple[str, str]:
    """Submit; returns (job id, status). With wait, streams the job's logs until it ends (a sweep takes
    hours: no time limit unless timeout_s)."""
    client = connect_client(address)
    job_id = client.submit_job(entrypoint=command, runtime_env=runtime_env(pip, env_vars),
                               submission_id=f"tide-sweep-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    print(f"submitted {job_id} to {address}: {command}", flush=True)
    if env_vars:
        print(f"  job environment: {', '.join(f'{k}={v}' for k, v in env_vars.items())}", flush=True)
    if not wait:
        return job_id, str(client.get_job_status(job_id).value)
    try:
        asyncio.run(asyncio.wait_for(stream_logs(client, job_id), timeout_s))
    except KeyboardInterrupt:
        print(f"\ndetached from {job_id}; it keeps running: `ray job logs -f {job_id}`, `ray job stop {job_id}` "
              f"(RAY_ADDRESS={address})", flush=True)
        return job_id, "DETACHED"
    except asyncio.TimeoutError:
        raise TimeoutError(f"job {job_id} still running after {timeout_s:.0f} s") from None
    status = wait_for_end(client, job_id)
    print(f"job {job_id}: {status}", flush=True)
    return job_id, status


async def stream_logs(client, job_id: str) -> None:
    async for chunk in client.tail_job_logs(job_id):
        print(chunk, end="", flush=True)


def wait_for_end(client, job_id: str, poll_s: float = 1.0, timeout_s: float = 60) -> str:
    """The log stream closes as the job ends; its status follows within moments."""
    deadline = time.monotonic() + timeout_s
    status = str(client.get_job_status(job_id).value)
    while status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(poll_s)
        status = str(client.get_job_status(job_id).value)
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m launch.cluster.submit", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="a sweep spec inside the repository, e.g. sweeps/paper.yaml")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every trial (key=value)")
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                        help="the head's dashboard address, http://<head>:8265 (default: $RAY_ADDRESS)")
    parser.add_argument("--dry-run", action="store_true", help="the job prints the plan on the cluster")
    parser.add_argument("--no-pip", dest="pip", action="store_false",
                        help="do not install requirements/stack.txt in the job (the image has them)")
    parser.add_argument("--python", default="python", help="the interpreter on the head (default: python)")
    parser.add_argument("--trial-fn", help="a custom trial function, 'module:function' (see docs/sweeps.md)")
    parser.add_argument("--wait", action="store_true", help="wait for the job and print its logs")
    args = parser.parse_args(argv)
    if not args.address:
        parser.error("no cluster: set RAY_ADDRESS or pass --address http://<head>:8265")
    try:
        command = entrypoint(args.spec, args.overrides, args.dry_run, args.python, args.trial_fn)
    except ValueError as error:
        parser.error(str(error))
    try:
        _, status = submit(args.address, command, pip=args.pip, wait=args.wait, env_vars=forwarded_env())
    except ClusterError as error:
        print(f"launch.cluster.submit: {error}", file=sys.stderr)
        return 2
    return 0 if status not in ("FAILED", "STOPPED") else 1


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.cluster.submit", main))
