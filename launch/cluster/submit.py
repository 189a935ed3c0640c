"""Submit a sweep to a Ray cluster as a Ray job (what `ray job submit` does, from Python).

    RAY_ADDRESS=http://<head>:8265 python -m launch.cluster.submit sweeps/paper.yaml --wait
    RAY_ADDRESS=http://<head>:8265 python -m launch.cluster.submit sweeps/paper.yaml --dry-run
    ... --no-pip          the cluster's image already has the stack (skips the per-job virtualenv)

The job's runtime env carries this working directory (without .venv, outputs, .git) and the pinned
requirements (requirements/stack.txt), and its entrypoint is `python -m launch.sweep <spec> ...` on the
head. Heads that require token authentication (Ray's default) get the token from the environment:
RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token; Ray's own loader reads it and this code never
does, so it is never printed or saved. The cluster's nodes need their own WANDB_API_KEY / HF_TOKEN /
TIDE_OUTPUTS (shared storage) in their environment: nothing secret is put in the runtime env.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from tide.runtime import PROJECT_ROOT

EXCLUDES = [".venv", ".git", "outputs", "multirun", "wandb", "**/__pycache__", ".pytest_cache", "*.egg-info"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
# Tests and dev tools are not needed to run a sweep.
NOT_FOR_JOBS = ("pytest",)


def requirements(path: Path = PROJECT_ROOT / "requirements" / "stack.txt") -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith(NOT_FOR_JOBS)]


def runtime_env(pip: bool = True) -> dict:
    env = {"working_dir": str(PROJECT_ROOT), "excludes": list(EXCLUDES)}
    if pip:
        env["pip"] = {"packages": requirements(), "pip_check": False}
    return env


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
    command = [python, "-m", "launch.sweep", str(relative), *overrides]
    command += ["--dry-run"] if dry_run else []
    command += ["--trial-fn", trial_fn] if trial_fn else []
    return shlex.join(command)


def use_token_auth() -> bool:
    """Token auth when the environment or ~/.ray holds a token (Ray reads the value itself)."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode:
        return mode == "token"
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"  # before Ray reads its config: the client sends the token
        return True
    return False


def submit(address: str, command: str, pip: bool = True, wait: bool = False, timeout_s: float = 3600,
           poll_s: float = 2.0) -> tuple[str, str]:
    """Submit; returns (job id, status). With wait, polls until the job ends and prints its logs."""
    use_token_auth()
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    job_id = client.submit_job(entrypoint=command, runtime_env=runtime_env(pip),
                               submission_id=f"tide-sweep-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    print(f"submitted {job_id} to {address}: {command}", flush=True)
    status = str(client.get_job_status(job_id).value)
    deadline = time.monotonic() + timeout_s
    while wait and status not in TERMINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)
        status = str(client.get_job_status(job_id).value)
    if wait:
        print(client.get_job_logs(job_id), flush=True)
        print(f"job {job_id}: {status}", flush=True)
    return job_id, status


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
    _, status = submit(args.address, command, pip=args.pip, wait=args.wait)
    return 0 if status != "FAILED" and status != "STOPPED" else 1


if __name__ == "__main__":
    sys.exit(main())
