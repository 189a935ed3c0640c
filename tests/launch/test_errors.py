"""The error boundary (launch/errors.py) in-process: which errors become one line with which exit status, how
a message is put on one line, and --verbose / TIDE_VERBOSE. The real commands: tests/launch/test_probes.py."""

import errno
import os
import subprocess
import sys

import pytest

from launch.errors import exit_status, joined_lines, one_line, run_command
from tide.config import ConfigError
from tide.core.runtime import PROJECT_ROOT


def raising(error):
    def main(argv):
        raise error

    return main


@pytest.mark.parametrize("error, status", [
    (ConfigError("train.max_steps: must be > 0"), 2),
    (FileNotFoundError("data.dir: TIDE directory not found: /x"), 2),
    (OSError(errno.EROFS, "Read-only file system", "/outputs/hydra"), 2),
    (PermissionError(errno.EACCES, "Permission denied", "/outputs/runs"), 2),
    (KeyError("a bug"), None),
    (ZeroDivisionError(), None),
])
def test_bad_input_is_exit_2_and_a_bug_keeps_its_traceback(error, status):
    assert exit_status(error) == status


def test_the_suite_s_input_runtime_errors_and_run_failures():
    from tide.models.gguf import GGUFError
    from tide.stages.contract import StageConflict
    from tide.train.trainer import TrainingStoppedError

    assert exit_status(GGUFError("trunc.gguf: not a readable GGUF file")) == 2   # via ModelNotAvailableError
    assert exit_status(StageConflict("run.dir holds train results made with other settings")) == 2
    assert exit_status(TrainingStoppedError("loss diverged")) == 1   # a failed run, not bad input: still one line


def test_hydra_composition_errors_are_bad_input_on_one_line():
    from hydra.errors import MissingConfigException

    error = MissingConfigException("In 'config': Could not find 'model/gpt5'\n\nAvailable options in 'model':\n"
                                   "\tqwen2_5_0_5b\n\ttiny\nConfig search path:\n\tprovider=hydra, path=pkg://hydra.conf")
    assert exit_status(error) == 2
    assert one_line(error) == ("In 'config': Could not find 'model/gpt5'; Available options in 'model': "
                               "qwen2_5_0_5b, tiny")
    assert joined_lines("Could not override 'foo'.\nTo append to your config use +foo=1") == \
        "Could not override 'foo'. To append to your config use +foo=1"


def test_an_os_error_names_its_file_and_the_outputs_folder(monkeypatch):
    monkeypatch.setenv("TIDE_OUTPUTS", "/outputs")
    assert one_line(OSError(errno.EROFS, "Read-only file system", "/outputs/hydra")) == (
        "/outputs/hydra: Read-only file system (outputs go under TIDE_OUTPUTS=/outputs; point it at a writable folder)")
    assert one_line(FileNotFoundError(errno.ENOENT, "No such file or directory", "/x.csv")) == \
        "/x.csv: No such file or directory"


def test_a_wrapped_worker_error_is_reported_by_its_cause():
    class Wrapper(RuntimeError):   # what Ray's RayTaskError carries: the worker's own exception as .cause
        def __init__(self, cause):
            super().__init__("ray::worker()\nTraceback (most recent call last):\n  ...\nValueError: bad")
            self.cause = cause

    assert one_line(Wrapper(ConfigError("eval.metrics: bad")).cause) == "eval.metrics: bad"
    assert exit_status(Wrapper(ValueError("x"))) is None   # the wrapper alone is no input error ...
    from launch.errors import root_cause

    assert exit_status(root_cause(Wrapper(ValueError("x")))) == 2   # ... its cause is


def test_run_command_prints_one_line_or_the_traceback(capsys, monkeypatch):
    monkeypatch.delenv("TIDE_VERBOSE", raising=False)
    assert run_command("launch.x", raising(ConfigError("train.max_steps: must be > 0")), []) == 2
    assert capsys.readouterr().err == "launch.x: train.max_steps: must be > 0\n"
    assert run_command("launch.x", raising(ConfigError("bad")), ["--verbose"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    monkeypatch.setenv("TIDE_VERBOSE", "1")
    assert run_command("launch.x", raising(ConfigError("bad")), []) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    monkeypatch.delenv("TIDE_VERBOSE")
    assert run_command("launch.x", raising(KeyError("a bug")), []) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err   # a bug is never hidden
    seen = []
    assert run_command("launch.x", lambda argv: seen.append(argv) or 0, ["a=1", "--verbose"]) == 0
    assert seen == [["a=1"]]   # the commands' own parsers never see --verbose


def test_a_hydra_command_reports_composition_errors_in_one_line_and_verbose_shows_the_traceback(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "TIDE_VERBOSE"}, "TIDE_OUTPUTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "launch.report", "model=gpt5"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("launch.report: In 'config': Could not find 'model/gpt5'; Available options in 'model':")
    loud = subprocess.run([sys.executable, "-m", "launch.report", "model=gpt5", "--verbose"], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert loud.returncode == 2 and "Traceback (most recent call last)" in loud.stderr


def test_every_entry_point_goes_through_the_boundary():
    """Each `python -m launch...` module: an argparse main run by run_command, or a Hydra app made by
    stage_main / hydra_command; so no command can print a bare traceback for bad input."""
    import re

    unguarded = []
    for path in sorted((PROJECT_ROOT / "launch").rglob("*.py")):
        text = path.read_text()
        if 'if __name__ == "__main__":' not in text:
            continue
        block = text.split('if __name__ == "__main__":', 1)[1]
        hydra_app = re.search(r"^main = (stage_main|hydra_command)\(", text, re.M) and block.strip() == "main()"
        if "run_command(" not in block and not hydra_app:
            unguarded.append(str(path.relative_to(PROJECT_ROOT)))
    assert unguarded == []
