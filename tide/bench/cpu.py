"""The CPU training benchmarks of `make bench`: each repeats `repeats` times and reports ratios measured side by side.

Training runs the suite itself (tide.train.trainer.train: Ray Train, the worker loop, its collation
and length-grouped batches) against a bare PyTorch loop over the same model and the same batches
(tide.train's model, engine and collate, no Ray). Every worker, and the bare loop, gets one torch thread
(Ray sets OMP_NUM_THREADS from cluster.cpus_per_worker = 1), so 2 workers on 2 cores is a fair scaling
test, disturbed only by whatever else the machine runs. The generation and evaluation benchmarks are in
tide/bench/generation.py and tide/bench/evaluation.py.
"""

from __future__ import annotations

import time
from pathlib import Path

from tide.bench.results import measured
from tide.bench.training import benchmark_job, encoded_train_split, train_untracked
from tide.config import TideConfig
from tide.core.telemetry import device_name
from tide.train.job import TrainingJob

TARGETS = {
    "ray_train_overhead": {"op": "<=", "value": 1.10},
    "ddp_scaling": {"op": ">=", "value": 1.6},
    "padding_efficiency": {"op": ">=", "value": 0.90},
}


def cpu_training_job(job: TrainingJob, workers: int, steps: int, label: str, bench_dir: Path) -> TrainingJob:
    """A short benchmark training on `workers` CPU workers of one CPU each."""
    return benchmark_job(job, steps, label, bench_dir, {
        "cluster.num_workers": workers, "cluster.cpus_per_worker": 1, "cluster.use_gpu": False,
        "cluster.gpus_per_worker": 0})


def bare_loop_step_times(job: TrainingJob, steps: int) -> dict:
    """The worker loop's training steps without Ray: same model, batches, collation and engine, 1 thread."""
    import torch

    from tide.models.loading import load_tokenizer
    from tide.train.data import collate, plan_batches
    from tide.train.engine import DDPEngine
    from tide.train.model import build_model

    train, seed = job.train, job.seed
    tokenizer = load_tokenizer(job.model)
    train_set = encoded_train_split(job, tokenizer)
    accumulation = train.gradient_accumulation_steps
    batches = plan_batches(train_set.lengths, train.per_device_batch_size, seed, 0,
                           group_by_length=train.group_by_length)[:steps * accumulation]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)  # the worker loop's initial adapter
        device = torch.device("cpu")
        engine = DDPEngine(build_model(job.model, train, "fp32", device), train, "fp32", steps, device)
        torch.manual_seed(seed + 1)
        seconds, tokens = 0.0, 0
        for index, indices in enumerate(batches):
            if index % accumulation == 0:
                began = time.perf_counter()
            batch = collate([train_set.examples[i] for i in indices], tokenizer.pad_token_id)
            engine.train_micro_batch(batch, (index + 1) % accumulation == 0)
            tokens += batch["tokens"]
            if (index + 1) % accumulation == 0:
                seconds += time.perf_counter() - began
    finally:
        torch.set_num_threads(threads)
    return {"step_time_s": seconds / steps, "tokens_per_second": tokens / seconds}


def suite_training(job: TrainingJob, workers: int, steps: int, label: str, bench_dir: Path) -> dict:
    summary = train_untracked(cpu_training_job(job, workers, steps, label, bench_dir))
    return {"step_time_s": summary["step_time_s"], "tokens_per_second": sum(summary["tokens_per_second_per_worker"]),
            "padding_fraction": summary["padding_fraction"]}


def bench_training(config: TideConfig, repeats: int, steps: int, bench_dir: Path) -> list[dict]:
    """Ray Train overhead (1 worker vs the bare loop) and DDP scaling (2 vs 1 workers), paired per repeat."""
    job = TrainingJob.from_config(config)
    runs = []
    for repeat in range(repeats):
        runs.append({"bare": bare_loop_step_times(job, steps),
                     "ray_1": suite_training(job, 1, steps, f"w1-r{repeat}", bench_dir),
                     "ray_2": suite_training(job, 2, steps, f"w2-r{repeat}", bench_dir)})
    device = device_name()
    shape = {"steps": steps, "per_device_batch_size": job.train.per_device_batch_size,
             "gradient_accumulation_steps": job.train.gradient_accumulation_steps,
             "method": job.train.method, "model": job.model.name, "runs": runs}
    return [
        measured("ray_train_overhead", "Ray Train overhead (step time, 1 worker / bare loop)",
                 [r["ray_1"]["step_time_s"] / r["bare"]["step_time_s"] for r in runs], "x", device,
                 TARGETS["ray_train_overhead"], shape),
        measured("ddp_scaling", "DDP scaling (tokens/s, 2 workers / 1)",
                 [r["ray_2"]["tokens_per_second"] / r["ray_1"]["tokens_per_second"] for r in runs], "x", device,
                 TARGETS["ddp_scaling"], shape),
    ]


def bench_padding(config: TideConfig, repeats: int) -> list[dict]:
    """Non-pad token fraction of one epoch's training batches, with and without length grouping.

    tide.train batches by length group (no packing: rows stay separate sequences); each repeat is
    another epoch's shuffle.
    """
    from tide.models.loading import load_tokenizer
    from tide.train.data import collate, plan_batches

    job = TrainingJob.from_config(config)
    tokenizer = load_tokenizer(job.model)
    train_set = encoded_train_split(job, tokenizer)
    batch_size, seed = job.train.per_device_batch_size, job.seed

    def efficiency(epoch: int, grouped: bool) -> float:
        tokens = padding = 0
        for indices in plan_batches(train_set.lengths, batch_size, seed, epoch, group_by_length=grouped):
            batch = collate([train_set.examples[i] for i in indices], tokenizer.pad_token_id)
            tokens, padding = tokens + batch["tokens"], padding + batch["padding"]
        return tokens / (tokens + padding)

    details = {"rows": len(train_set.examples), "batch_size": batch_size, "packing": False}
    device = device_name()
    return [
        measured("padding_efficiency", "Padding efficiency (non-pad fraction, length-grouped)",
                 [efficiency(epoch, True) for epoch in range(repeats)], "", device, TARGETS["padding_efficiency"],
                 details),
        measured("padding_efficiency_ungrouped", "Padding efficiency (non-pad fraction, random batches)",
                 [efficiency(epoch, False) for epoch in range(repeats)], "", device, None, details),
    ]
