"""launch.pipeline: one configuration end to end, and a rerun that skips the complete stages."""

import json

import pytest

from launch.pipeline import condition_means, run
from tests.launch.test_data import config

FAST = ["pipeline.condition=zero_shot", "generate.limit=6", "generate.sampling.max_new_tokens=8",
        "generate.batch_size=6", "cluster.num_workers=1", "eval.bootstrap_samples=50"]


def test_zero_shot_pipeline_runs_every_stage_then_resumes(tmp_path, ray_local):
    cfg = config(tmp_path, *FAST)
    heard = []
    first = run(cfg, report=heard.append)
    assert first["stages"] == {"data": "done", "generate": "6 new rows of 6", "evaluate": "done"}
    assert [h["stage"] for h in heard] == [1, 2, 3, 4] and "cosine" in heard[-1]
    assert 0 < first["metrics"]["cosine"] < 1
    run_dir = tmp_path / "runs" / "tiny-zero_shot-lora-s42"
    assert json.loads((run_dir / "pipeline.json").read_text())["metrics"] == first["metrics"]

    again = run(cfg)
    assert again["stages"]["generate"] == "0 new rows of 6"
    assert again["stages"]["evaluate"] == "skipped (complete)" and again["metrics"] == first["metrics"]


def test_unknown_condition_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="pipeline.condition='few_shot'"):
        run(config(tmp_path, "pipeline.condition=few_shot"))
    assert not (tmp_path / "data").exists()


def test_condition_means_pick_the_run_s_own_model_and_condition():
    summary = {"metrics": ["cosine"], "by_model_condition": [
        {"model": "tiny", "condition": "zero_shot", "cosine": {"mean": 0.2}},
        {"model": "tiny", "condition": "finetuned", "cosine": {"mean": 0.3}}]}
    assert condition_means(summary, "tiny", "finetuned") == {"cosine": 0.3}
    with pytest.raises(ValueError, match="no rows for model 'big'"):
        condition_means(summary, "big", "finetuned")
