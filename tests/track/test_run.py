"""W&B runs: offline by default, secrets never logged, inactive runs are no-ops."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.configs import config_for
from tide.config import ConfigError, with_options
from tide.track import TrackedRun, check_logger, start_run, strip_secrets


def logger(**options):
    """The wandb logger slice, offline in project tide-test, with `options` replaced."""
    base = {"name": "wandb", "mode": "offline", "project": "tide-test", "entity": None, "group": None}
    return with_options(config_for().logger, {**base, **options}, path="logger")


def test_strip_secrets_drops_secret_keys_and_redacts_environment_secrets(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    config = {"hub": {"token": "x", "token_env": "HF_TOKEN", "repo_id": "a/b"}, "wandb_api_key": "k",
              "model": {"stop_token": "<|eot_id|>", "max_new_tokens": 5},
              "notes": ["uses hf_abcdefghijklmnop", "ok"], "tokenizers": "false"}
    assert strip_secrets(config) == {
        "hub": {"token_env": "HF_TOKEN", "repo_id": "a/b"},
        "model": {"stop_token": "<|eot_id|>", "max_new_tokens": 5},
        "notes": ["<redacted>", "ok"], "tokenizers": "false"}


def test_online_needs_a_key_from_the_environment(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with pytest.raises(ValueError, match="logger.mode=online needs WANDB_API_KEY"):
        check_logger(logger(mode="online"))
    with pytest.raises(ConfigError, match="logger.mode: expected one of .*got 'sometimes'"):  # refused with the config
        logger(mode="sometimes")
    check_logger(logger(name="none", mode="disabled"))


def test_inactive_and_disabled_runs_do_nothing(tmp_path):
    for run in (start_run(logger(dir=str(tmp_path)), {}, name="r", job_type="train", active=False),
                start_run(logger(mode="disabled", dir=str(tmp_path)), {}, name="r", job_type="train")):
        assert not run.active
        run.log({"loss": 1.0}, step=1)
        run.summary({"x": 1})
        run.finish()
    assert not list(tmp_path.iterdir())


def test_offline_run_records_config_metrics_and_summary(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("WANDB_API_KEY", "local-0123456789abcdef")
    run = start_run(logger(dir=str(tmp_path)), {"train": {"learning_rate": 0.1}, "api_key": "k"},
                    name="tiny-lora-s1", job_type="train")
    assert isinstance(run, TrackedRun) and run.active
    run.log({"train/loss": 2.0}, step=1)
    run.log({"train/loss": 1.5}, step=2)
    run.summary({"final_val_loss": 1.4})
    files_dir = run.dir
    run.finish()
    (offline,) = (tmp_path / "wandb").glob("offline-run-*")
    assert files_dir.startswith(str(offline))
    recorded = read_offline_run(offline)
    assert recorded["name"] == "tiny-lora-s1" and recorded["state"] == "finished"
    assert recorded["config"] == {"train": {"learning_rate": 0.1}}  # the secret-named key is gone
    assert recorded["summary"]["final_val_loss"] == 1.4 and recorded["summary"]["train/loss"] == 1.5


def read_offline_run(run_dir) -> dict:
    """What an offline run recorded, read back by wandb itself."""
    wandb_cli = Path(sys.executable).parent / "wandb"
    done = subprocess.run([str(wandb_cli), "leet", "inspect", "--summary", "--json", str(run_dir)],
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_deferred_run_starts_only_when_opened_and_a_failed_one_says_why(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("WANDB_API_KEY", "local-0123456789abcdef")
    never = TrackedRun.deferred(lambda: start_run(logger(dir=str(tmp_path)), {}, name="r", job_type="finetuned"))
    never.log({"x": 1.0})
    never.fail(ValueError("data.dir: TIDE directory not found: /nowhere"))  # failed before it was opened
    never.open()  # and stays unmade after it ended
    assert not never.active and not list(tmp_path.iterdir())  # no W&B run at all

    run = TrackedRun.deferred(lambda: start_run(logger(dir=str(tmp_path)), {}, name="r", job_type="finetuned"))
    run.open()
    assert run.active
    run.log({"train/loss": 2.0}, step=1)
    run.fail(RuntimeError("training r failed after 0 restarts: boom\nRerun the same command to resume"), "train")
    assert not run.active
    (offline,) = (tmp_path / "wandb").glob("offline-run-*")
    recorded = read_offline_run(offline)
    assert recorded["state"] == "failed" and recorded["exit_code"] == 1
    assert recorded["summary"]["failure"] == "training r failed after 0 restarts: boom"  # one line
    assert recorded["summary"]["failed_stage"] == "train" and recorded["summary"]["train/loss"] == 2.0


def test_failure_line_is_the_first_line_or_the_error_s_type():
    from tide.track.run import failure_line

    assert failure_line(ValueError("\n  eval.metrics: unknown metric 'bleurt'\n  more")) == (
        "eval.metrics: unknown metric 'bleurt'")
    assert failure_line(KeyboardInterrupt()) == "KeyboardInterrupt"
