"""launch.pipeline: the Hydra entry point's one-line refusals, and a zero-shot run end to end."""

import os
import subprocess
import sys

import pytest

from tests.launch.test_data import SMALL, config
from tests.stages.trial_run import finetuned_trial  # noqa: F401  (a session fixture)
from tide.config import ConfigError
from tide.core.runtime import PROJECT_ROOT
from tide.stages import run_pipeline
from tide.stages.pipeline import condition_means

FAST = ["pipeline.condition=zero_shot", "generate.limit=6", "generate.sampling.max_new_tokens=8",
        "generate.batch_size=6", "cluster.num_workers=1", "eval.bootstrap_samples=50"]


def test_another_setting_in_the_run_dir_is_a_one_line_refusal(finetuned_trial):
    overrides = [*SMALL, *finetuned_trial.overrides, f"paths.outputs={finetuned_trial.outputs}", "train.lora.r=16"]
    done = subprocess.run([sys.executable, "-m", "launch.pipeline", *overrides], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "RAY_ADDRESS": ""})
    assert done.returncode == 2, done.stderr[-2000:]
    [line] = [line for line in done.stderr.splitlines() if line.startswith("launch.pipeline:")]
    assert "holds train results made with other settings (" in line and "train.lora.r: 4 -> 16" in line
    assert line.endswith("rerun with pipeline.force=true to replace train and the stages after it")
    assert "Traceback" not in done.stderr


def test_unknown_condition_is_refused_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"^pipeline.condition: expected one of \['zero_shot', 'finetuned'\], "
                                          r"got 'few_shot'$"):
        run_pipeline(config(tmp_path, "pipeline.condition=few_shot"))
    assert not (tmp_path / "data").exists()


def test_a_bad_option_is_a_one_line_refusal_from_the_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "launch.pipeline", "train.learning_rate=-1"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "TIDE_OUTPUTS": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["launch.pipeline: train.learning_rate: must be > 0, got -1"]
    assert not (tmp_path / "data").exists() and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_zero_shot_pipeline_runs_every_stage_but_train_then_skips_them(tmp_path, ray_local):
    cfg = config(tmp_path, *FAST)
    first = run_pipeline(cfg)
    assert list(first["stages"]) == ["data", "generate", "evaluate"]  # zero-shot: no train stage
    assert first["stages"]["data"].startswith("built ") and first["stages"]["generate"] == "6 new rows of 6"
    assert first["stages"]["evaluate"] == "6 replies scored"
    assert 0 < first["metrics"]["cosine"] < 1
    again = run_pipeline(cfg)
    assert set(again["stages"].values()) == {"skipped (complete)"} and again["metrics"] == first["metrics"]


def test_condition_means_pick_the_run_s_own_model_and_condition():
    summary = {"metrics": ["cosine"], "by_model_condition": [
        {"model": "tiny", "condition": "zero_shot", "cosine": {"mean": 0.2}},
        {"model": "tiny", "condition": "finetuned", "cosine": {"mean": 0.3}}]}
    assert condition_means(summary, "tiny", "finetuned") == {"cosine": 0.3}
    with pytest.raises(ValueError, match="no rows for model 'big'"):
        condition_means(summary, "big", "finetuned")
