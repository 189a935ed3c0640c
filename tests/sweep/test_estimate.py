"""The dry run's time estimate: tokens per trial (its pending stages, max_steps or epochs), throughput
(measured or from the FLOP formula), wall time."""

from pathlib import Path

import pytest

from launch.sweep import main as sweep_main
from tests.configs import config_for
from tide.core.files import write_json_atomic
from tide.models.presets import parameter_counts
from tide.stages import build_stages
from tide.stages.pipeline import pipeline_config
from tide.stages.records import record_path
from tide.stages.runner import plan_fingerprints
from tide.sweep.estimate import (ASSUMED_GENERATION_MFU, ASSUMED_TOKENS_PER_DIALOGUE, ASSUMED_TRAIN_MFU, PlannedTrial,
                                 estimate_trial, read_throughput, sweep_wall_seconds, trial_tokens_per_second)

SMALL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "tie_word_embeddings": True}
MEASURED = {"device": "NVIDIA H100 80GB HBM3",
            "models": {"m": {"train_tokens_per_s": 1000.0, "generate_tokens_per_s": 500.0}}}


def trial_config(tmp_path, condition="finetuned", workers=2, **options):
    """A LoRA r=2 trial of model `m` over 3 epochs on 2 workers; no data artifact here, no stage done yet."""
    return config_for(**{"data.artifact_dir": str(tmp_path / "no-artifact"), "data.split.train": 0.8,
                         "data.split.val": 0.1, "data.split.test": 0.1, "cluster.num_workers": workers,
                         "pipeline.condition": condition, "train.epochs": 3, "train.max_steps": -1,
                         "train.method": "lora", "train.lora.r": 2, "train.lora.target_modules": ["q_proj"],
                         "model.name": "m", "model.architecture": SMALL, "run.dir": str(tmp_path / "run"),
                         **options})


def test_wall_time_packs_longest_trials_first():
    assert sweep_wall_seconds([3, 3, 2, 2, 2], concurrent=2) == 7   # [3, 2, 2] and [3, 2]
    assert sweep_wall_seconds([3, 3, 2, 2, 2], concurrent=1) == 12
    assert sweep_wall_seconds([5, 1], concurrent=8) == 5


def test_measured_throughput_is_used_and_named(tmp_path):
    config = trial_config(tmp_path)
    train, generate, source = trial_tokens_per_second(config.model, config.train, MEASURED)
    assert (train, generate) == (1000.0, 500.0) and source == "measured on NVIDIA H100 80GB HBM3"


def test_the_measured_throughput_file_is_read_from_the_bench_s_place(tmp_path):
    assert read_throughput(tmp_path) is None
    write_json_atomic(tmp_path / "bench" / "throughput.json", MEASURED)
    assert read_throughput(tmp_path) == MEASURED
    assert read_throughput(tmp_path, tmp_path / "elsewhere.json") is None  # --throughput names another file


def test_without_measurements_the_flop_formula_and_an_assumed_mfu(tmp_path):
    config = trial_config(tmp_path)
    params, trainable = parameter_counts(SMALL, config.train)  # LoRA r=2 on q_proj
    train, generate, source = trial_tokens_per_second(config.model, config.train, None)
    assert train == pytest.approx(989e12 * ASSUMED_TRAIN_MFU / (4 * params + 2 * trainable))
    assert generate == pytest.approx(989e12 * ASSUMED_GENERATION_MFU / (2 * params))
    assert "assumed MFU" in source


def test_trial_time_from_tide_sized_splits(tmp_path):
    # No artifact here: TIDE's 10,000 dialogues split 80/10/10; training 3 epochs, generation on test; 2 GPUs.
    finetuned = estimate_trial(PlannedTrial.from_config(trial_config(tmp_path)), MEASURED)
    assert finetuned.train_tokens == 8000 * 3 * ASSUMED_TOKENS_PER_DIALOGUE
    assert finetuned.generate_tokens == 1000 * ASSUMED_TOKENS_PER_DIALOGUE
    assert finetuned.seconds == pytest.approx((finetuned.train_tokens / 1000 + finetuned.generate_tokens / 500) / 2)
    zero_shot = estimate_trial(PlannedTrial.from_config(trial_config(tmp_path, "zero_shot")), MEASURED)
    assert zero_shot.train_tokens == 0 and zero_shot.seconds == pytest.approx(finetuned.generate_tokens / 500 / 2)


def test_max_steps_bounds_the_training_estimate(tmp_path):
    """train.max_steps=5 trains 5 optimizer steps of 4 x 2 accumulation x 2 workers = 80 dialogues, not 3 epochs."""
    epochs = estimate_trial(PlannedTrial.from_config(trial_config(tmp_path)), MEASURED)
    steps = estimate_trial(PlannedTrial.from_config(trial_config(
        tmp_path, **{"train.max_steps": 5, "train.per_device_batch_size": 4, "train.gradient_accumulation_steps": 2})),
        MEASURED)
    assert steps.train_tokens == 5 * 4 * 2 * 2 * ASSUMED_TOKENS_PER_DIALOGUE < epochs.train_tokens
    assert steps.generate_tokens == epochs.generate_tokens and steps.seconds < epochs.seconds


def mark_complete(config, names: tuple[str, ...]) -> None:
    """Records and outputs as the stage runner leaves them once these stages are done (the data stage's
    shared artifact included: its manifest holds the recorded fingerprint)."""
    stages = build_stages(pipeline_config(config))
    fingerprints = plan_fingerprints(stages)
    for stage in (stage for stage in stages if stage.name in names):
        for path in map(Path, stage.outputs().values()):
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("{}")
        result = {"fingerprint": "artifact"} if stage.name == "data" else {}
        write_json_atomic(record_path(config.run.dir, stage.name), {
            "stage": stage.name, "fingerprint": fingerprints[stage.name], "settings": stage.settings(),
            "inputs": stage.inputs(), "outputs": stage.outputs(), "after": {}, "result": result})
    if "data" in names:
        write_json_atomic(Path(config.data.artifact_dir) / "manifest.json", {"fingerprint": "artifact", "splits": {
            "train": {"dialogues": 8000}, "val": {"dialogues": 1000}, "test": {"dialogues": 1000}}})


def test_complete_stages_cost_nothing(tmp_path):
    """A trial counts only the stages the pipeline would run in its run directory (the stage contract)."""
    config = trial_config(tmp_path)
    assert PlannedTrial.from_config(config).stages == ("data", "train", "generate", "evaluate")
    mark_complete(config, ("data", "train"))
    trial = PlannedTrial.from_config(config)
    assert trial.stages == ("generate", "evaluate")
    resumed = estimate_trial(trial, MEASURED)
    assert resumed.train_tokens == 0 and resumed.generate_tokens == 1000 * ASSUMED_TOKENS_PER_DIALOGUE
    assert PlannedTrial.from_config(config, fresh=True).stages == ("data", "train", "generate", "evaluate")
    mark_complete(config, ("generate", "evaluate"))
    done = estimate_trial(PlannedTrial.from_config(config), MEASURED)
    assert (done.train_tokens, done.generate_tokens, done.seconds) == (0, 0, 0)


def test_dry_run_of_the_paper_grid_on_8_gpus(capsys):
    assert sweep_main(["sweeps/paper.yaml", "--dry-run", "--gpus", "8"]) == 0
    out = capsys.readouterr().out
    assert "64 CPU, 8 GPU (assumed cluster shape" in out
    estimate = next(line for line in out.splitlines() if line.strip().startswith("estimate:"))
    assert "GPU-hours for 16 trial(s), 4 at a time" in estimate
    assert "FLOP formula" in out or "measured on" in out
