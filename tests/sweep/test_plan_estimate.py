"""The dry run's time estimate: tokens per trial, throughput (measured or from the FLOP formula), wall time."""

import pytest

from launch.sweep import main as sweep_main
from tide.core.telemetry import parameter_counts
from tide.sweep.plan import (ASSUMED_GENERATION_MFU, ASSUMED_TOKENS_PER_DIALOGUE, ASSUMED_TRAIN_MFU, estimate_trial,
                             sweep_wall_seconds, trial_tokens_per_second)

SMALL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "tie_word_embeddings": True}
MEASURED = {"device": "NVIDIA H100 80GB HBM3",
            "models": {"m": {"train_tokens_per_s": 1000.0, "generate_tokens_per_s": 500.0}}}


def trial_config(tmp_path, condition="finetuned", workers=2):
    return {"data": {"artifact_dir": str(tmp_path / "no-artifact"), "split": {"train": 0.8, "val": 0.1, "test": 0.1}},
            "cluster": {"num_workers": workers}, "pipeline": {"condition": condition},
            "train": {"epochs": 3, "method": "lora", "lora": {"r": 2, "target_modules": ["q_proj"]}},
            "model": {"name": "m", "architecture": SMALL}}


def test_wall_time_packs_longest_trials_first():
    assert sweep_wall_seconds([3, 3, 2, 2, 2], concurrent=2) == 7   # [3, 2, 2] and [3, 2]
    assert sweep_wall_seconds([3, 3, 2, 2, 2], concurrent=1) == 12
    assert sweep_wall_seconds([5, 1], concurrent=8) == 5


def test_measured_throughput_is_used_and_named(tmp_path):
    train, generate, source = trial_tokens_per_second(trial_config(tmp_path), MEASURED)
    assert (train, generate) == (1000.0, 500.0) and source == "measured on NVIDIA H100 80GB HBM3"


def test_without_measurements_the_flop_formula_and_an_assumed_mfu(tmp_path):
    params, trainable = parameter_counts(SMALL, {"method": "lora", "lora": {"r": 2, "target_modules": ["q_proj"]}})
    train, generate, source = trial_tokens_per_second(trial_config(tmp_path), None)
    assert train == pytest.approx(989e12 * ASSUMED_TRAIN_MFU / (4 * params + 2 * trainable))
    assert generate == pytest.approx(989e12 * ASSUMED_GENERATION_MFU / (2 * params))
    assert "assumed MFU" in source


def test_trial_time_from_tide_sized_splits(tmp_path):
    # No artifact here: TIDE's 10,000 dialogues split 80/10/10; training 3 epochs, generation on test; 2 GPUs.
    finetuned = estimate_trial(trial_config(tmp_path), MEASURED)
    assert finetuned.train_tokens == 8000 * 3 * ASSUMED_TOKENS_PER_DIALOGUE
    assert finetuned.generate_tokens == 1000 * ASSUMED_TOKENS_PER_DIALOGUE
    assert finetuned.seconds == pytest.approx((finetuned.train_tokens / 1000 + finetuned.generate_tokens / 500) / 2)
    zero_shot = estimate_trial(trial_config(tmp_path, "zero_shot"), MEASURED)
    assert zero_shot.train_tokens == 0 and zero_shot.seconds == pytest.approx(finetuned.generate_tokens / 500 / 2)


def test_dry_run_of_the_paper_grid_on_8_gpus(capsys):
    assert sweep_main(["sweeps/paper.yaml", "--dry-run", "--gpus", "8"]) == 0
    out = capsys.readouterr().out
    assert "64 CPU, 8 GPU (assumed cluster shape" in out
    estimate = next(line for line in out.splitlines() if line.strip().startswith("estimate:"))
    assert "GPU-hours for 16 trial(s), 4 at a time" in estimate
    assert "FLOP formula" in out or "measured on" in out
