"""Training end to end on 2 CPU workers (gloo): DDP, ZeRO-2, ZeRO-3, golden losses, adapter round trip.

Each run is a few steps of the small model; the session's local Ray (ray_local) serves them all.
"""

import json
from pathlib import Path

import pytest
import torch

from tide.config import to_plain
from tide.core.domain import ADAPTER_DIR, TRAIN_SUMMARY_FILE
from tide.track import TrackedRun, start_run
from tide.train.checkpoint import check_adapter
from tide.train.job import TrainingJob
from tide.train.trainer import train

# First losses of the DDP run below (seed 42, small model, FAST settings), recorded once. A change
# here means the data order, the model, the loss masking or the optimizer changed: check why first.
# Re-recorded 2026-12-04 when the synthetic corpus changed (issue 20: at-risk client turns in varied
# phrasings, commit 52cd2da), which changes the data and the tiny model's tokenizer; the old values
# still held at the commit before it (2c3c12b), with the bare-runner loop changes already in.
GOLDEN_FIRST_LOSSES = [6.947773694992065, 6.944946050643921, 6.929872751235962]


def run_training(config, tracker=None) -> dict:
    """Train as `config` says; curves go to `tracker` (none given: a TrackedRun that ignores them)."""
    return train(TrainingJob.from_config(config), tracker or TrackedRun(None))


@pytest.fixture(scope="module")
def ddp_run(ray_local, train_config, tmp_path_factory):
    outputs = tmp_path_factory.mktemp("ddp")
    config = train_config(outputs, "train.merge=true", "logger=wandb")
    # The driver's run, as the pipeline makes it; the workers must not make their own.
    tracker = start_run(config.logger, to_plain(config), name=config.run.name, job_type="train",
                        tags=[config.model.name, config.train.method])
    try:
        return config, run_training(config, tracker)
    finally:
        tracker.finish()


def losses(summary: dict) -> list[float]:
    return [record["loss"] for record in summary["loss_history"]]


def logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=input_ids).logits


def test_ddp_trains_and_writes_the_run_outputs(ddp_run):
    config, summary = ddp_run
    run_dir = config.run.dir
    assert summary["status"] == "completed" and summary["steps"] == 8 and summary["world_size"] == 2
    history = losses(summary)
    assert history[:3] == pytest.approx(GOLDEN_FIRST_LOSSES, rel=1e-5)
    assert sum(history[-3:]) / 3 < sum(history[:3]) / 3 - 0.01
    assert summary["final_val_loss"] < summary["loss_history"][3]["val_loss"] + 1e-6
    assert len(summary["tokens_per_second_per_worker"]) == 2 and min(summary["tokens_per_second_per_worker"]) > 0
    assert summary["tokens_seen"] > 8 * 2 * 4 * 20 and 0 <= summary["padding_fraction"] < 0.2
    assert summary["step_time_s"] > 0 and min(summary["peak_memory_gb_per_worker"]) > 0
    on_disk = json.loads((Path(run_dir) / TRAIN_SUMMARY_FILE).read_text())
    assert on_disk["final_train_loss"] == pytest.approx(summary["final_train_loss"])


def test_adapter_reloads_to_the_trained_weights_and_merges(ddp_run):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config, summary = ddp_run
    adapter_dir = summary["adapter_dir"]
    assert check_adapter(adapter_dir) > 0
    base = AutoModelForCausalLM.from_pretrained(config.model.path)
    input_ids = torch.randint(3, 500, (2, 24), generator=torch.Generator().manual_seed(0))
    base_logits = logits(base, input_ids)
    adapted = PeftModel.from_pretrained(base, adapter_dir).eval()
    adapter_logits = logits(adapted, input_ids)
    assert not torch.allclose(adapter_logits, base_logits, atol=1e-3)  # the adapter is not silently ignored

    # The trainer's own copy of the weights (final checkpoint) gives exactly the saved adapter's outputs.
    state = torch.load(f"{summary['checkpoint']}/ddp_state.pt", weights_only=True)["trainable"]
    adapted.load_state_dict(state, strict=False)
    assert torch.equal(logits(adapted, input_ids), adapter_logits)

    merged = AutoModelForCausalLM.from_pretrained(summary["merged_dir"])
    torch.testing.assert_close(logits(merged, input_ids), adapter_logits, atol=1e-4, rtol=1e-4)


def test_wandb_run_from_rank_zero_only(ddp_run):
    config, _ = ddp_run
    runs = list((Path(config.logger.dir) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1


@pytest.mark.parametrize("stage", [
    pytest.param("zero2", marks=pytest.mark.slow),
    "zero3",
])
def test_deepspeed_trains_and_saves_a_whole_adapter(ray_local, train_config, tmp_path, stage):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = train_config(tmp_path, f"deepspeed={stage}")
    summary = run_training(config)
    history = losses(summary)
    assert summary["deepspeed_stage"] == int(stage[-1]) and summary["steps"] == 8
    # Same data, initial weights and optimizer as the DDP run: the same first losses.
    assert history[:3] == pytest.approx(GOLDEN_FIRST_LOSSES, rel=1e-4)
    assert sum(history[-3:]) / 3 < sum(history[:3]) / 3 - 0.01
    adapter_dir = summary["adapter_dir"]
    assert check_adapter(adapter_dir) > 0  # gathered from the shards: no empty tensor
    base = AutoModelForCausalLM.from_pretrained(config.model.path)
    input_ids = torch.randint(3, 500, (1, 16), generator=torch.Generator().manual_seed(1))
    base_logits = logits(base, input_ids)
    assert not torch.allclose(logits(PeftModel.from_pretrained(base, adapter_dir), input_ids), base_logits, atol=1e-3)


def test_killed_worker_is_restarted_from_the_checkpoint_on_the_same_trajectory(ddp_run, train_config, tmp_path):
    _, uninterrupted = ddp_run
    # save_first_step: the checkpoint after step 1 is the one the restarted workers continue from.
    config = train_config(tmp_path, "train.inject_failure_at_step=3", "train.save_first_step=true",
                          "cluster.max_failures=1")
    summary = run_training(config)
    assert summary["status"] == "completed" and summary["resumed_from_step"] == 1
    assert losses(summary) == pytest.approx(losses(uninterrupted), rel=1e-6)
    assert check_adapter(summary["adapter_dir"]) > 0
    # Checkpoints after steps 1, 4 and 8; train.keep_last_checkpoints=2 keeps the last two.
    assert len([path for path in Path(summary["checkpoint"]).parent.glob("checkpoint_*") if path.is_dir()]) == 2


@pytest.mark.slow
def test_stopped_run_resumes_on_the_same_trajectory(ddp_run, train_config, tmp_path):
    _, uninterrupted = ddp_run
    config = train_config(tmp_path, "train.inject_failure_at_step=6", "cluster.max_failures=0")
    with pytest.raises(RuntimeError, match="Rerun the same command to resume"):
        run_training(config)
    assert not (Path(config.run.dir) / ADAPTER_DIR).exists()
    resumed = run_training(config)
    assert resumed["resumed_from_step"] == 4 and resumed["tokens_seen"] == uninterrupted["tokens_seen"]
    assert losses(resumed) == pytest.approx(losses(uninterrupted), rel=1e-6)


@pytest.mark.slow
def test_two_trainings_share_the_cluster_within_their_own_resources(ray_local, train_config, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    configs = [train_config(tmp_path / name, f"seed={seed}", "cluster.cpus_per_worker=0.5")
               for name, seed in (("a", 1), ("b", 2))]
    with ThreadPoolExecutor(2) as pool:
        summaries = list(pool.map(run_training, configs))
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    assert losses(summaries[0]) != losses(summaries[1])
    assert all(check_adapter(s["adapter_dir"]) for s in summaries)


@pytest.mark.slow
def test_divergence_stops_with_a_clear_message_and_no_adapter(ray_local, train_config, tmp_path):
    from tide.train.trainer import TrainingStoppedError

    config = train_config(tmp_path, "train.learning_rate=1e4", "train.warmup_ratio=0",
                          "train.watchdog.divergence_factor=1.5", "train.watchdog.patience=2")
    with pytest.raises(TrainingStoppedError, match=r"loss (is nan|is inf|diverged) at step \d"):
        run_training(config)
    summary = json.loads((Path(config.run.dir) / TRAIN_SUMMARY_FILE).read_text())
    assert summary["status"] == "stopped" and not (Path(config.run.dir) / ADAPTER_DIR).exists()
