"""The training loop every worker runs (Ray Train's, or the bare runner's one process): setup, train, finish.

Each worker gets a `WorkerPlan` (tide/train/job.py): the training job's config slices plus what the
driver resolved, `precision` and `ds_config` (None for plain DDP). Rank 0 returns the training summary;
Ray hands it to the driver.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tide.train.checkpoint import export_weights, load_training_checkpoint, save_training_checkpoint
from tide.train.data import (EncodedSplit, collate, encode_split, plan_batches, shard_for_evaluation,
                             shard_for_training, steps_per_epoch)
from tide.config.schema import TrainConfig
from tide.train.engine import build_engine
from tide.train.job import WorkerPlan
from tide.train.watchdog import LossWatchdog

FINAL_TRAIN_LOSS_WINDOW = 10  # steps averaged for the summary's final train loss
INJECTED_FAILURE_DELAY_S = 6.0


def train_loop_per_worker(loop_config: dict):
    """Ray Train's entry point; `loop_config` is `WorkerPlan.as_loop_config()`."""
    from tide.train.context import RayWorkerContext

    return run_worker(WorkerPlan(**loop_config), RayWorkerContext())


def run_worker(plan: WorkerPlan, context) -> dict | None:
    """One worker's whole training; `context` (tide/train/context.py) says where it runs: Ray Train, or bare."""
    run = _setup(plan, context)
    stop_reason = _train(run)
    return _finish(run, stop_reason)


@dataclass
class WorkerRun:
    """What one worker's setup builds and its steps share: data, engine, schedule and the run's state."""

    plan: WorkerPlan
    context: object  # tide/train/context.py: RayWorkerContext or BareWorkerContext
    rank: int
    world_size: int
    device: torch.device
    tokenizer: object
    train_set: object
    val_set: object
    per_epoch: int
    total_steps: int
    val_batches: list
    val_counted: int
    engine: object
    state: dict
    resumed: bool
    watchdog: LossWatchdog
    progress: object  # rank 0's queue to the driver (tide/train/progress.py), which alone talks to W&B
    torch_threads: int
    meter: dict = field(default_factory=lambda: {"tokens": 0, "padding": 0, "seconds": 0.0, "steps": 0})
    started_at_step: int = field(init=False)  # where this attempt began (a resumed run is past 0)
    tokens_at_start: int = field(init=False)

    def __post_init__(self):
        self.started_at_step, self.tokens_at_start = self.state["step"], self.state["tokens_seen"]

    @property
    def train(self) -> TrainConfig:
        return self.plan.job.train

    @property
    def seed(self) -> int:
        return self.plan.job.seed


def _setup(plan: WorkerPlan, context) -> WorkerRun:
    """Data, model, optimizer, and the state of an interrupted run."""
    from tide.models.loading import load_tokenizer

    job, train = plan.job, plan.job.train
    rank, world_size, device = context.rank, context.world_size, context.device
    if train.quantize_4bit and device.type != "cuda":
        raise RuntimeError("train.quantize_4bit (QLoRA) needs a CUDA GPU on every worker: bitsandbytes 4-bit is CUDA-only")

    torch_threads = context.torch_threads()
    tokenizer = load_tokenizer(job.model)
    train_set, val_set = _encoded_splits(plan, tokenizer)
    per_epoch = steps_per_epoch(len(train_set.examples), train.per_device_batch_size, world_size,
                                train.gradient_accumulation_steps)
    if per_epoch == 0:
        raise ValueError(f"{len(train_set.examples)} training dialogues make no full step of "
                         f"{train.per_device_batch_size} x {train.gradient_accumulation_steps} accumulation x "
                         f"{world_size} workers; lower train.per_device_batch_size")
    total_steps = train.max_steps if train.max_steps > 0 else int(train.epochs) * per_epoch
    val_batches, val_counted = shard_for_evaluation(
        plan_batches(val_set.lengths, train.per_device_batch_size, job.seed, 0, shuffle=False), rank, world_size,
        train.eval_max_batches)

    torch.manual_seed(job.seed)  # the same initial adapter on every worker
    engine = build_engine(job.model, train, plan.precision, plan.ds_config, total_steps, device)
    state, restored = _restore(engine, context, job.seed)
    if restored and rank == 0:  # the console says so once (the summary's resumed_from_step says it afterwards)
        print(f"resumed from step {state['step']} of {total_steps}", flush=True)
    watchdog = LossWatchdog(train.watchdog.divergence_factor, train.watchdog.patience)
    for record in state["history"]:  # a resumed watchdog has seen the same losses
        watchdog.check(record["step"], record["loss"])
    return WorkerRun(plan, context, rank, world_size, device, tokenizer, train_set, val_set, per_epoch, total_steps,
                     val_batches, val_counted, engine, state, restored, watchdog,
                     plan.progress_queue if rank == 0 else None, torch_threads)


def _encoded_splits(plan: WorkerPlan, tokenizer) -> tuple[EncodedSplit, EncodedSplit]:
    """The train and val splits in the shared chat format, with the run's system prompt."""
    from tide.data.artifact import load_split

    job = plan.job
    return tuple(encode_split(load_split(job.data_dir, split), tokenizer, job.prompt.system, job.prompt.max_length,
                              job.model.stop_token) for split in ("train", "val"))


def _restore(engine, context, seed: int) -> tuple[dict, bool]:
    """The run's state: from the latest checkpoint of this run name (Ray Train's, or the bare runner's), or a
    fresh start."""
    restored = context.latest_checkpoint()
    if restored is None:
        torch.manual_seed(seed + 1 + context.rank)  # dropout masks differ per worker, fixed by the seed
        return {"step": 0, "epoch": 0, "batch_in_epoch": 0, "tokens_seen": 0, "history": []}, False
    with restored.as_directory() as directory:
        return load_training_checkpoint(Path(directory), engine, context.rank), True


def _train(run: WorkerRun) -> str | None:
    """Micro-batches until the last optimizer step or a watchdog stop; returns the stop reason (None: done)."""
    state, train = run.state, run.train
    batch_size, accumulation = train.per_device_batch_size, train.gradient_accumulation_steps
    window, step_tokens = [], 0
    while state["step"] < run.total_steps:
        epoch_batches = shard_for_training(
            plan_batches(run.train_set.lengths, batch_size, run.seed, state["epoch"],
                         group_by_length=train.group_by_length),
            run.rank, run.world_size)[:run.per_epoch * accumulation]
        for index in range(state["batch_in_epoch"], len(epoch_batches)):
            boundary = (index + 1) % accumulation == 0
            if not window:
                step_began = time.perf_counter()
            batch = collate([run.train_set.examples[i] for i in epoch_batches[index]], run.tokenizer.pad_token_id)
            window.append(run.engine.train_micro_batch(batch, boundary))
            run.meter["tokens"] += batch["tokens"]
            run.meter["padding"] += batch["padding"]
            step_tokens += batch["tokens"]
            state["batch_in_epoch"] = index + 1
            if not boundary:
                continue
            stop_reason = _step(run, window, step_tokens, step_began)
            window, step_tokens = [], 0
            if stop_reason is not None or state["step"] >= run.total_steps:
                return stop_reason
        state["epoch"] += 1
        state["batch_in_epoch"] = 0
    return None


def _step(run: WorkerRun, window: list, step_tokens: int, step_began: float) -> str | None:
    """One optimizer step's bookkeeping: synced loss, watchdog, validation, progress, periodic checkpoint."""
    state, train = run.state, run.train
    state["step"] += 1
    run.meter["steps"] += 1
    loss_sum, tokens = _all_workers_sum(run, [float(torch.stack(window).mean()), step_tokens])
    run.meter["seconds"] += time.perf_counter() - step_began  # after the sync: GPU work is done
    state["tokens_seen"] += int(tokens)
    record = {"step": state["step"], "epoch": state["epoch"], "loss": loss_sum / run.world_size,
              "lr": run.engine.lr, "grad_norm": run.engine.grad_norm}
    stop_reason = run.watchdog.check(state["step"], record["loss"])
    if stop_reason is not None:
        state["history"].append(record)
        return stop_reason
    _maybe_inject_failure(train, state["step"], run.resumed, run.rank, run.world_size)
    if state["step"] % train.eval_every_steps == 0 or state["step"] == run.total_steps:
        record["val_loss"] = _validation_loss(run)
    state["history"].append(record)
    _log_step(run, record)
    save_due = state["step"] % train.save_every_steps == 0 or (train.save_first_step and state["step"] == 1)
    if save_due and state["step"] < run.total_steps:
        _report(run, {"step": state["step"], "loss": record["loss"]}, final=False)
    return None


def _log_step(run: WorkerRun, record: dict) -> None:
    if run.progress is not None:
        # all workers' tokens over this attempt's step time: the run's throughput
        tokens = run.state["tokens_seen"] - run.tokens_at_start
        run.progress.put({**record, "tokens_per_s": tokens / run.meter["seconds"]})
    if run.rank == 0 and (run.state["step"] % run.train.log_every_steps == 0 or "val_loss" in record):
        print(_format_record(record, run.total_steps), flush=True)


def _all_workers_sum(run: WorkerRun, values: list[float]) -> list[float]:
    tensor = torch.tensor(values, dtype=torch.float64, device=run.device)
    if run.world_size > 1:
        torch.distributed.all_reduce(tensor)
    return tensor.tolist()


def _validation_loss(run: WorkerRun) -> float:
    loss_sum, tokens = 0.0, 0
    for index, indices in enumerate(run.val_batches):
        batch = collate([run.val_set.examples[i] for i in indices], run.tokenizer.pad_token_id)
        batch_loss, batch_tokens = run.engine.eval_loss(batch)
        if index < run.val_counted:
            loss_sum, tokens = loss_sum + batch_loss, tokens + batch_tokens
    loss_sum, tokens = _all_workers_sum(run, [loss_sum, tokens])
    return loss_sum / max(tokens, 1)


def _report(run: WorkerRun, metrics: dict, final: bool) -> None:
    """A checkpoint through the worker's context (ray.train.report); the final one also holds the exported weights."""
    with tempfile.TemporaryDirectory(prefix="tide-checkpoint-") as directory:
        save_training_checkpoint(Path(directory), run.engine, run.state, run.rank)
        if final:
            export_weights(Path(directory), run.engine, run.train.method, run.tokenizer, run.rank)
        run.context.report(metrics, directory)


def _finish(run: WorkerRun, stop_reason: str | None) -> dict | None:
    """The final checkpoint with the exported weights, and (rank 0) the summary."""
    meter, state = run.meter, run.state
    worker_stats = {
        "tokens_per_second": meter["tokens"] / meter["seconds"] if meter["seconds"] else 0.0,
        "step_time_s": meter["seconds"] / meter["steps"] if meter["steps"] else 0.0,
        "peak_memory_gb": _peak_memory_bytes(run.device) / 2**30,
        "tokens": meter["tokens"], "padding": meter["padding"], "torch_threads": run.torch_threads,
    }
    all_stats = [None] * run.world_size
    if run.world_size > 1:
        torch.distributed.all_gather_object(all_stats, worker_stats)
    else:
        all_stats = [worker_stats]
    last = state["history"][-1] if state["history"] else {}
    if stop_reason is None:
        _report(run, {"step": state["step"], "loss": last.get("loss"), "val_loss": last.get("val_loss")}, final=True)
    summary = _summary(run, all_stats, stop_reason)
    summary["torch_threads_per_worker"] = [stats["torch_threads"] for stats in all_stats]
    summary["telemetry"] = _telemetry(run.engine.module, summary["tokens_per_second_per_worker"], run.device,
                                      run.world_size)
    return summary if run.rank == 0 else None


def _maybe_inject_failure(train: TrainConfig, step: int, restored: bool, rank: int, world_size: int) -> None:
    """Testing aid: the last worker dies at the configured step, once (a restored attempt goes on).

    It first waits a few of Ray Train's health-check intervals (2 s): the controller registers a
    reported checkpoint when it next polls the workers, and a run that fails before that poll has no
    record of its latest checkpoint, which would make the test depend on timing.
    """
    if train.inject_failure_at_step == step and not restored and rank == world_size - 1:
        print(f"injected failure: worker {rank} exits at step {step}", flush=True)
        time.sleep(INJECTED_FAILURE_DELAY_S)
        os._exit(1)


def _telemetry(model, tokens_per_second_per_worker: list[float], device: torch.device, world_size: int) -> dict:
    """FLOPs/s and MFU of the run (tide/core/telemetry.py: (4 * params + 2 * trainable) per token).

    ZeRO-3 partitions the weights: `ds_numel` is a parameter's full size. A 4-bit (QLoRA) base stores two
    weights per byte, so its count, and the MFU with it, comes out low.
    """
    from tide.core.telemetry import device_name, training_telemetry

    def size(param) -> int:
        return getattr(param, "ds_numel", param.numel())

    params = sum(size(param) for param in model.parameters())
    trainable = sum(size(param) for param in model.parameters() if param.requires_grad)
    return training_telemetry(params, trainable, sum(tokens_per_second_per_worker), device_name(device), world_size)


def _peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _format_record(record: dict, total_steps: int) -> str:
    line = f"step {record['step']}/{total_steps}  loss {record['loss']:.4f}  lr {record['lr']:.2e}"
    if record.get("grad_norm") is not None:
        line += f"  grad_norm {record['grad_norm']:.3f}"
    if "val_loss" in record:
        line += f"  val_loss {record['val_loss']:.4f}"
    return line


def _summary(run: WorkerRun, worker_stats: list[dict], stop_reason: str | None) -> dict:
    """The training summary (train_summary.json); `worker_stats` holds every worker's meter, by rank."""
    state, world_size, per_epoch, job = run.state, run.world_size, run.per_epoch, run.plan.job
    history = state["history"]
    losses = [record["loss"] for record in history]
    val = [record["val_loss"] for record in history if "val_loss" in record]
    tokens, padding = sum(s["tokens"] for s in worker_stats), sum(s["padding"] for s in worker_stats)
    return {
        "status": "completed" if stop_reason is None else "stopped",
        "stop_reason": stop_reason,
        "steps": state["step"], "total_steps": run.total_steps, "steps_per_epoch": per_epoch,
        "epochs": state["step"] / per_epoch, "resumed_from_step": run.started_at_step or None,
        "world_size": world_size, "method": job.train.method, "precision": run.plan.precision,
        "deepspeed_stage": job.deepspeed.stage,
        "tokens_seen": state["tokens_seen"],
        "tokens_per_second_per_worker": [s["tokens_per_second"] for s in worker_stats],
        "step_time_s": sum(s["step_time_s"] for s in worker_stats) / world_size,
        "peak_memory_gb_per_worker": [s["peak_memory_gb"] for s in worker_stats],
        "peak_memory_kind": "cuda_allocated" if job.cluster.use_gpu else "process_max_rss",
        "padding_fraction": padding / (tokens + padding) if tokens + padding else 0.0,
        "dropped_truncated": {"train": run.train_set.dropped_truncated, "val": run.val_set.dropped_truncated},
        "final_train_loss": sum(losses[-FINAL_TRAIN_LOSS_WINDOW:]) / len(losses[-FINAL_TRAIN_LOSS_WINDOW:]) if losses else None,
        "final_val_loss": val[-1] if val else None,
        "loss_history": history,
    }
