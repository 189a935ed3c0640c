"""A W&B run from the logger slice and a plain config dict; offline unless the logger says online.

Only the caller knows whether it is rank 0, so it passes `active`; an inactive or disabled run is a
TrackedRun that ignores everything, so callers never branch on it. A deferred run
(`TrackedRun.deferred(start)`) starts only when `open()` is called: the stage runner opens it before the
first stage that logs, so a command that fails before then leaves no W&B run. A run that fails is marked
failed (`fail`): exit code 1 and its one-line reason as the summary's `failure`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from tide.config import LoggerConfig

# Config keys that hold secrets (`stop_token` or `token_env`, the NAME of a variable, do not match),
# and environment variables whose values must never appear in a logged config.
SECRET_KEY = re.compile(r"^((hf|auth|access|api)_)?token$|^(.*_)?(api_?key|secret|password|passwd|credentials?)$",
                        re.IGNORECASE)
SECRET_ENV = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|API_?KEY|CREDENTIALS?)($|_)", re.IGNORECASE)
REDACTED = "<redacted>"


def strip_secrets(config, secret_values: set[str] | None = None):
    """A copy of `config` without secret-named keys and with any secret value from the environment redacted."""
    if secret_values is None:
        secret_values = {value for name, value in os.environ.items() if SECRET_ENV.search(name) and len(value) >= 8}
    if isinstance(config, dict):
        return {key: strip_secrets(value, secret_values) for key, value in config.items()
                if not SECRET_KEY.search(str(key))}
    if isinstance(config, (list, tuple)):
        return [strip_secrets(value, secret_values) for value in config]
    if isinstance(config, str):
        return REDACTED if any(secret in config for secret in secret_values) else config
    return config


def check_logger(logger: LoggerConfig) -> None:
    """Fail before any work when the logger cannot work here (the mode itself is checked with the config)."""
    if logger.name != "none" and logger.mode == "online" and not os.environ.get("WANDB_API_KEY"):
        raise ValueError("logger.mode=online needs WANDB_API_KEY in the environment (never in a config); "
                         "or use logger.mode=offline and `wandb sync` later")


class TrackedRun:
    def __init__(self, run=None):
        self._run = run
        self._start = None  # a deferred run's starter (see `deferred`)

    @classmethod
    def deferred(cls, start: Callable[[], "TrackedRun"]) -> "TrackedRun":
        """A run that `start()` makes when `open()` is first called; until then it ignores everything."""
        tracked = cls(None)
        tracked._start = start
        return tracked

    def open(self) -> None:
        """Start a deferred run now (nothing for a started, finished or inactive one)."""
        if self._run is None and self._start is not None:
            start, self._start = self._start, None
            self._run = start()._run

    @property
    def active(self) -> bool:
        return self._run is not None

    @property
    def dir(self) -> str | None:
        return self._run.dir if self._run is not None else None

    @property
    def run_dir(self) -> str | None:
        """The run's own directory (offline: what `wandb sync` and `wandb leet inspect` take)."""
        return str(Path(self._run.dir).parent) if self._run is not None else None

    def log(self, metrics: dict, step: int | None = None) -> None:
        if self._run is not None:
            self._run.log(metrics, step=step)

    def summary(self, values: dict) -> None:
        if self._run is not None:
            self._run.summary.update(values)

    def table(self, key: str, frame) -> None:
        """A pandas frame as a W&B Table (missing values as None, which W&B stores as null)."""
        if self._run is not None:
            import wandb

            self._run.log({key: wandb.Table(dataframe=frame.astype(object).where(frame.notna(), None))})

    def finish(self, exit_code: int | None = None) -> None:
        """End the run; a non-zero exit_code marks it failed (W&B's sweep controller sees that)."""
        self._start = None  # a deferred run never opened stays unmade
        if self._run is not None:
            self._run.finish(exit_code=exit_code)
            self._run = None

    def fail(self, error: BaseException, stage: str | None = None) -> None:
        """End the run as failed: exit code 1, the error's one line (and the stage it failed in) as its summary."""
        if self._run is not None:
            self.summary({"failure": failure_line(error), **({"failed_stage": stage} if stage else {})})
        self.finish(exit_code=1)


def failure_line(error: BaseException) -> str:
    """An error as one line: its message's first line (its type's name when it has no message)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def start_run(logger: LoggerConfig, config: dict, *, name: str, job_type: str, active: bool = True,
              tags: list[str] | None = None, params: dict | None = None) -> TrackedRun:
    """A run named `name` in group logger.group; its config is `config` (the plain dict W&B shows, e.g.
    `to_plain(config)`) plus `params` (e.g. a sweep's parameters, `{"train.lora.r": 8}`) as top-level keys,
    so parallel coordinates and parameter importance can use them. Under a W&B agent (WANDB_SWEEP_ID /
    WANDB_RUN_ID in the environment) wandb.init joins the agent's run instead of making another.
    """
    if not active or logger.name == "none" or logger.mode == "disabled":
        return TrackedRun(None)
    check_logger(logger)
    # wandb honours the environment variable in places the mode= argument does not reach (stack.md);
    # a Ray worker on another node has not inherited the driver's environment, so set it here.
    os.environ["WANDB_MODE"] = logger.mode
    import wandb

    if logger.dir:
        Path(logger.dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=logger.project, entity=logger.entity, group=logger.group,
                     name=name, job_type=job_type, dir=logger.dir, mode=logger.mode,
                     config=strip_secrets({**config, **(params or {})}), tags=tags, reinit="create_new",
                     settings=wandb.Settings(console="off", silent=True, disable_git=True, save_code=False))
    return TrackedRun(run)


# Overrides that only say where a run goes or how it is tracked: not parameters of the experiment.
BOOKKEEPING_PREFIXES = ("run.", "logger.", "paths.", "hydra.", "pipeline.force")


def override_params(overrides: list[str], config: dict) -> dict:
    """Command-line overrides (`train.lora.r=8`, `model=qwen2_5_0_5b`) as {key: value}, for the run's config.

    The value is the resolved config's (typed) when the key names a value, else the override's text
    (a config group choice such as `model=...`). Under a sweep these are the trial's parameters.
    """
    params = {}
    for override in overrides:
        key, _, text = override.lstrip("+~").partition("=")
        if not key or key.startswith(BOOKKEEPING_PREFIXES):
            continue
        node = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        params[key] = text if node is None or isinstance(node, dict) else node
    return params
