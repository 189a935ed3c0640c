"""The CPU benchmarks of `make bench`: each repeats `repeats` times and reports ratios measured side by side.

Training runs the suite itself (tide.train.trainer.train: Ray Train, the worker loop, its collation
and length-grouped batches) against a bare PyTorch loop over the same model and the same batches
(tide.train's model, engine and collate, no Ray). Every worker, and the bare loop, gets one torch thread
(Ray sets OMP_NUM_THREADS from cluster.cpus_per_worker = 1), so 2 workers on 2 cores is a fair scaling
test, disturbed only by whatever else the machine runs.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from tide.core.telemetry import device_name
from tide.bench.results import measured

TARGETS = {
    "ray_train_overhead": {"op": "<=", "value": 1.10},
    "ddp_scaling": {"op": ">=", "value": 1.6},
    "generation_scaling": {"op": ">=", "value": 1.7},
    "padding_efficiency": {"op": ">=", "value": 0.90},
    "evaluation_speedup": {"op": ">=", "value": 5.0},
    "evaluation_sharing": {"op": ">=", "value": 3.0},
}


def training_config(config: dict, workers: int, steps: int, label: str, bench_dir: Path) -> dict:
    """The run's config for a short benchmark training: no validation or checkpoints inside the timed steps."""
    run = copy.deepcopy(config)
    run["train"].update(max_steps=steps, eval_every_steps=10**9, save_every_steps=10**9, eval_max_batches=1,
                        resume=False, merge=False)
    run["cluster"].update(num_workers=workers, cpus_per_worker=1, use_gpu=False, gpus_per_worker=0,
                          storage_path=str(bench_dir / "ray"))
    run["logger"]["mode"] = "disabled"
    run["run"].update(name=f"bench-{label}", dir=str(bench_dir / "runs" / label))
    return run


def bare_loop_step_times(config: dict, steps: int) -> dict:
    """The worker loop's training steps without Ray: same model, batches, collation and engine, 1 thread."""
    import torch

    from tide.data.artifact import load_split
    from tide.models.loading import load_tokenizer
    from tide.train.data import collate, encode_split, plan_batches
    from tide.train.engine import DDPEngine
    from tide.train.model import build_model

    train_cfg, seed = config["train"], int(config["seed"])
    tokenizer = load_tokenizer(config["model"])
    train_set = encode_split(load_split(config["data"]["artifact_dir"], "train"), tokenizer, config["prompt"]["system"],
                             config["prompt"]["max_length"], config["model"]["stop_token"])
    accumulation = int(train_cfg["gradient_accumulation_steps"])
    batches = plan_batches(train_set.lengths, int(train_cfg["per_device_batch_size"]), seed, 0,
                           group_by_length=train_cfg["group_by_length"])[:steps * accumulation]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)  # the worker loop's initial adapter
        device = torch.device("cpu")
        engine = DDPEngine(build_model(config["model"], train_cfg, "fp32", device), train_cfg, "fp32", steps, device)
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


def suite_training(config: dict, workers: int, steps: int, label: str, bench_dir: Path) -> dict:
    from tide.train.trainer import train

    summary = train(training_config(config, workers, steps, label, bench_dir))
    return {"step_time_s": summary["step_time_s"], "tokens_per_second": sum(summary["tokens_per_second_per_worker"]),
            "padding_fraction": summary["padding_fraction"]}


def bench_training(config: dict, repeats: int, steps: int, bench_dir: Path) -> list[dict]:
    """Ray Train overhead (1 worker vs the bare loop) and DDP scaling (2 vs 1 workers), paired per repeat."""
    runs = []
    for repeat in range(repeats):
        runs.append({"bare": bare_loop_step_times(config, steps),
                     "ray_1": suite_training(config, 1, steps, f"w1-r{repeat}", bench_dir),
                     "ray_2": suite_training(config, 2, steps, f"w2-r{repeat}", bench_dir)})
    device = device_name()
    shape = {"steps": steps, "per_device_batch_size": config["train"]["per_device_batch_size"],
             "gradient_accumulation_steps": config["train"]["gradient_accumulation_steps"],
             "method": config["train"]["method"], "model": config["model"]["name"], "runs": runs}
    return [
        measured("ray_train_overhead", "Ray Train overhead (step time, 1 worker / bare loop)",
                 [r["ray_1"]["step_time_s"] / r["bare"]["step_time_s"] for r in runs], "x", device,
                 TARGETS["ray_train_overhead"], shape),
        measured("ddp_scaling", "DDP scaling (tokens/s, 2 workers / 1)",
                 [r["ray_2"]["tokens_per_second"] / r["ray_1"]["tokens_per_second"] for r in runs], "x", device,
                 TARGETS["ddp_scaling"], shape),
    ]


def bench_padding(config: dict, repeats: int) -> list[dict]:
    """Non-pad token fraction of one epoch's training batches, with and without length grouping.

    tide.train batches by length group (no packing: rows stay separate sequences); each repeat is
    another epoch's shuffle.
    """
    from tide.data.artifact import load_split
    from tide.models.loading import load_tokenizer
    from tide.train.data import collate, encode_split, plan_batches

    tokenizer = load_tokenizer(config["model"])
    train_set = encode_split(load_split(config["data"]["artifact_dir"], "train"), tokenizer, config["prompt"]["system"],
                             config["prompt"]["max_length"], config["model"]["stop_token"])
    batch_size, seed = int(config["train"]["per_device_batch_size"]), int(config["seed"])

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


def bench_generation_scaling(config: dict, repeats: int, rows: int) -> list[dict]:
    from tide.generate.bench import bench_generation

    runs = [bench_generation(config, rows) for _ in range(repeats)]
    device = device_name()
    details = {key: runs[0][key] for key in ("rows", "batch_size", "max_new_tokens", "threads_per_actor")}
    details["rows_per_s"] = [run["rows_per_s"] for run in runs]
    return [
        measured("generation_scaling", "Generation (rows/s, 2 Ray Data actors / 1)",
                 [run["ratio_2_vs_1_actors"] for run in runs], "x", device, TARGETS["generation_scaling"], details),
        measured("generation_ray_vs_plain", "Generation (rows/s, Ray Data 1 actor / plain loop)",
                 [run["ratio_ray_1_actor_vs_plain"] for run in runs], "x", device, None, details),
    ]


def bench_evaluation(config: dict, repeats: int, rows: int, naive_rows: int) -> list[dict]:
    from tide.evaluate.bench import bench_evaluation as evaluation_entries  # shared / separate / per-row

    return evaluation_entries(repeats, rows, naive_rows, config["eval"], int(config["seed"]), TARGETS, device_name())