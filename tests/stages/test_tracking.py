"""The run's W&B run, through the runner: none for a command that fails before its first logging stage, and
one marked failed, with the one-line reason, for a command that fails inside a stage."""

import pytest

from tests.launch.test_data import config as small_config
from tests.stages.trial_run import read_wandb
from tide.stages import run_pipeline


def offline_runs(outputs) -> list:
    return sorted((outputs / "wandb" / "wandb").glob("offline-run-*"))


def test_no_wandb_run_for_a_failure_before_the_first_logging_stage_and_a_failed_one_for_a_failure_in_it(
        tmp_path, no_network):
    missing = small_config(tmp_path, "data=tide", f"data.dir={tmp_path / 'nowhere'}", "run.name=bad-data")
    with pytest.raises(FileNotFoundError, match="data.dir: TIDE directory not found"):
        run_pipeline(missing)  # fails in the data stage, which logs nothing: no W&B run was started
    assert offline_runs(tmp_path) == []

    no_replies = small_config(tmp_path, "run.name=no-replies", "pipeline.condition=zero_shot",
                              f"eval.generations_dir={tmp_path / 'none'}")
    with pytest.raises(Exception) as failed:
        run_pipeline(no_replies, target="evaluate")  # data builds (no W&B run yet), then evaluate fails
    [run_dir] = offline_runs(tmp_path)
    summary, _ = read_wandb(run_dir)
    reason = [line.strip() for line in str(failed.value).splitlines() if line.strip()][0]
    assert summary["state"] == "failed" and summary["exit_code"] == 1
    assert summary["summary"]["failure"] == reason and str(tmp_path / "none") in reason
    assert summary["summary"]["failed_stage"] == "evaluate"


def test_a_logger_that_cannot_start_is_refused_before_the_data_stage(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    online = small_config(tmp_path, "logger.mode=online", "run.name=online")
    with pytest.raises(ValueError, match="logger.mode=online needs WANDB_API_KEY"):
        run_pipeline(online)
    assert not Path(online.data.artifact_dir).exists() and not Path(online.run.dir).exists()  # no work done
