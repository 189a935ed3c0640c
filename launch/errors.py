"""The one error boundary of every entry point: bad input ends in one line on stderr, exit status 2.

    if __name__ == "__main__":
        sys.exit(run_command("launch.sweep", main))      # an argparse main(argv) -> int

    @hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
    @guarded("launch.report")                            # errors inside the job
    def hydra_main(cfg): ...
    main = hydra_command("launch.report", hydra_main)    # errors composing the config (stage_main does both)

What counts as bad input (exit 2): a ValueError (ConfigError, TideFormatError, SweepSpecError,
RatingsFormatError, ... all are), an OSError (a missing file, no permission, a read-only TIDE_OUTPUTS),
one of the suite's RuntimeErrors listed in INPUT_ERRORS (StageConflict, ModelNotAvailableError and
GGUFError, HubAccessError, ...) and Hydra's composition errors (`+foo=1` onto a struct, `model=gpt5`).
Another error of the suite's own (training stopped by the watchdog, too many failed generations) is a
failed run: one line too, exit 1. Anything else is a bug and keeps its traceback. `--verbose` on any
command line, or TIDE_VERBOSE=1, shows the traceback of every error instead (docs/errors.md).

Hydra catches exceptions inside @hydra.main (hydra._internal.utils.run_and_report) and prints its own
trimmed traceback unless HYDRA_FULL_ERROR is set, and a job that raises first writes "Error executing job
with overrides: ..." (hydra.core.utils.JobReturn). So the boundary has two halves with one report:
`guarded` reports inside the job and exits (SystemExit passes through Hydra untouched), and
`hydra_command` sets HYDRA_FULL_ERROR so that the errors of composing the config reach it.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import Callable

VERBOSE_ENV = "TIDE_VERBOSE"
VERBOSE_FLAG = "--verbose"
# RuntimeErrors of the suite that mean the input is wrong, by qualified name (so nothing is imported here).
INPUT_ERRORS = frozenset({
    "tide.stages.contract.StageConflict", "tide.models.errors.ModelNotAvailableError", "tide.data.hub.HubAccessError",
    "tide.sweep.cluster.ClusterError", "tide.sweep.plan.PlanDoesNotFit", "tide.sweep.wandb_agents.OnlineSweepError",
    "launch.device_wheels.DeviceWheelsError",
})
SUITE_MODULES = ("tide.", "launch.")
TOOL_MODULES = ("hydra.", "omegaconf.")   # composition and interpolation errors: the command line is wrong


def verbose(argv: list[str] | None = None) -> bool:
    """Whether tracebacks were asked for: TIDE_VERBOSE=1 or --verbose in `argv` (sys.argv by default)."""
    argv = sys.argv if argv is None else argv
    return os.environ.get(VERBOSE_ENV, "").lower() in ("1", "true", "yes") or VERBOSE_FLAG in argv


def without_verbose_flag(argv: list[str]) -> list[str]:
    """`argv` without --verbose (the commands' own parsers do not know it)."""
    return [arg for arg in argv if arg != VERBOSE_FLAG]


def exit_status(error: BaseException) -> int | None:
    """2: bad input; 1: a run that failed for a reason of its own; None: a bug (keep the traceback)."""
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}
    if isinstance(error, (ValueError, OSError)) or names & INPUT_ERRORS:
        return 2
    if type(error).__module__.startswith(TOOL_MODULES):
        return 2
    if type(error).__module__.startswith(SUITE_MODULES):
        return 1
    return None


def root_cause(error: BaseException) -> BaseException:
    """The error a Ray wrapper (RayTaskError, a worker's failure) carries, or `error` itself."""
    seen = {id(error)}
    while isinstance(getattr(error, "cause", None), BaseException) and id(error.cause) not in seen:
        error = error.cause
        seen.add(id(error))
    return error


def one_line(error: BaseException) -> str:
    """The error's message on one line: an OSError as `<file>: <reason>`, a multi-line message joined."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        message = f"{error.filename}: {error.strerror}"
        outputs = os.environ.get("TIDE_OUTPUTS")
        if outputs and str(error.filename).startswith(outputs) and error.errno in (13, 30):  # EACCES, EROFS
            message += f" (outputs go under TIDE_OUTPUTS={outputs}; point it at a writable folder)"
        return message
    text = str(error)
    if "Traceback (most recent call last)" in text:   # a message carrying a remote traceback: its last line
        text = text.strip().splitlines()[-1]
    text = text.split("\nConfig search path:")[0]   # Hydra's list of where it looked: noise on one line
    return joined_lines(text) or type(error).__name__


def joined_lines(text: str) -> str:
    """Lines joined into one: an indented line continues the one before it (Hydra's lists of options)."""
    pieces: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if pieces and (raw[:1].isspace() or pieces[-1].endswith((":", ",", "."))):
            pieces[-1] += (" " if pieces[-1].endswith((":", ".")) else ", ") + line
        else:
            pieces.append(line)
    return "; ".join(pieces)


def report(command: str, error: BaseException, loud: bool = False) -> int | None:
    """Print the one line for `error` (`loud`: its traceback) and return the exit status; None when the
    error is a bug, which the caller lets through with its traceback."""
    cause = root_cause(error)
    status = exit_status(cause)
    if status is None:
        return None
    if loud:
        traceback.print_exception(error)
    else:
        print(f"{command}: {one_line(cause)}", file=sys.stderr, flush=True)
    return status


def run_command(command: str, main: Callable[[list[str]], int | None], argv: list[str] | None = None) -> int:
    """`main(argv)` inside the boundary; its exit status (argparse's own exits pass through)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    loud = verbose(argv)
    try:
        return main(without_verbose_flag(argv)) or 0
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001  (the boundary: every error is reported here, once)
        status = report(command, error, loud)
        if status is None:
            traceback.print_exc()
            return 1
        return status


def guarded(command: str):
    """Decorate a Hydra task function: an error it raises is reported in one line and exits (a bug raises on)."""

    def decorate(task):
        @functools.wraps(task)
        def job(cfg):
            try:
                return task(cfg)
            except Exception as error:  # noqa: BLE001  (the boundary's inner half)
                status = report(command, error, verbose())
                if status is None:
                    raise
                raise SystemExit(status) from None

        return job

    return decorate


def hydra_command(command: str, hydra_main: Callable[[], None]) -> Callable[[], None]:
    """The entry point of a @hydra.main app: Hydra lets exceptions through, this boundary reports them."""

    def entry() -> None:
        if verbose():   # the job's half reads it from the environment: Hydra parses sys.argv itself
            os.environ[VERBOSE_ENV] = "1"
        sys.argv[:] = without_verbose_flag(sys.argv)
        os.environ["HYDRA_FULL_ERROR"] = "1"             # let every exception through run_and_report
        status = run_command(command, lambda _argv: hydra_main(), [])
        if status:
            sys.exit(status)

    return entry
