"""The key names runs log: model-independent evaluation keys, training records, overrides as parameters."""

import pytest

from tide.track import override_params
from tide.track.keys import evaluation_keys, generation_keys, training_keys, training_summary_keys


def group(model, condition, cosine):
    return {"model": model, "condition": condition, "cosine": {"mean": cosine, "ci_low": cosine - 0.1,
                                                               "ci_high": cosine + 0.1}}


def test_evaluation_keys_name_the_run_s_own_condition_never_the_model():
    summary = {"rows": 8, "failed_generations": 0, "metrics": ["cosine"],
               "by_model_condition": [group("qwen2_5_0_5b", "zero_shot", 0.3), group("qwen2_5_0_5b", "finetuned", 0.5)],
               "paired_tests": [{"model": "qwen2_5_0_5b", "metric": "cosine", "mean_gain": 0.2}],
               "safety": [{"model": "qwen2_5_0_5b", "condition": "zero_shot", "pass_rate": 0.5, "referral_rate_at_risk": 0.0},
                          {"model": "qwen2_5_0_5b", "condition": "finetuned", "pass_rate": 0.75,
                           "referral_rate_at_risk": None}]}
    keys = evaluation_keys(summary)
    assert keys["eval/cosine/mean"] == 0.5 and keys["eval/cosine/ci_low"] == pytest.approx(0.4)
    assert keys["eval/zero_shot/cosine"] == 0.3 and keys["eval/gain/cosine"] == 0.2
    assert keys["eval/safety/pass_rate"] == 0.75 and "eval/safety/referral_rate_at_risk" not in keys  # None
    assert not any("qwen" in key for key in keys)
    zero_shot_only = {**summary, "by_model_condition": summary["by_model_condition"][:1], "paired_tests": []}
    assert evaluation_keys(zero_shot_only)["eval/cosine/mean"] == 0.3
    with pytest.raises(ValueError, match="no generation was scored"):
        evaluation_keys({"metrics": [], "by_model_condition": []})


def test_training_and_generation_records_as_keys():
    assert training_keys({"step": 3, "loss": 2.0, "lr": 1e-4, "grad_norm": None, "val_loss": 2.5}) == {
        "train/loss": 2.0, "train/lr": 1e-4, "train/val_loss": 2.5}
    assert training_summary_keys({"steps": 30, "final_val_loss": 1.5, "telemetry": {"mfu": None}}) == {
        "train/steps": 30, "train/final_val_loss": 1.5}
    keys = generation_keys({"finetuned": {"rows": 6, "rows_per_s": 2.0, "telemetry": {"tokens_per_s": 90.0}}})
    assert keys == {"generate/finetuned/rows": 6, "generate/finetuned/rows_per_s": 2.0,
                    "generate/finetuned/tokens_per_s": 90.0}


def test_overrides_become_typed_top_level_parameters_without_bookkeeping():
    config = {"train": {"lora": {"r": 8}, "learning_rate": 0.001}, "model": {"name": "qwen2_5_0_5b"}}
    overrides = ["train.lora.r=8", "train.learning_rate=1e-3", "model=qwen2_5_0_5b", "run.dir=/x", "logger.group=s",
                 "+experiment=smoke", "pipeline.force=true"]
    assert override_params(overrides, config) == {"train.lora.r": 8, "train.learning_rate": 0.001,
                                                  "model": "qwen2_5_0_5b", "experiment": "smoke"}
