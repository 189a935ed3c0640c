"""The driver side of training: check, connect to Ray, run the TorchTrainer, write the run's outputs.

    run.dir/adapter/             the PEFT adapter (LoRA, QLoRA), from the final checkpoint
    run.dir/merged/              base + adapter merged in fp32 (train.merge), or the full fine-tuned model
    run.dir/train_summary.json   tokens, throughput, memory, padding, losses (tide/train/loop.py)

Checkpoints live in cluster.storage_path/<ray run name>. The Ray run name carries a fingerprint of
everything that shapes the trajectory, so rerunning the same config resumes it (Ray Train restores the
latest checkpoint of a run name it has seen) and a changed config starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

from tide.core.runtime import HF_OFFLINE_VARS
from tide.train.checks import check_cluster, check_config
from tide.train.ds_config import build_deepspeed_config, resolve_precision

log = logging.getLogger(__name__)
SUMMARY_FILE = "train_summary.json"
# Environment every worker needs, wherever it runs (a remote node has not inherited the driver's).
# (Ray sets OMP_NUM_THREADS per worker from cluster.cpus_per_worker.)
WORKER_ENV_VARS = (*HF_OFFLINE_VARS, "WANDB_MODE", "TOKENIZERS_PARALLELISM", "RAY_USAGE_STATS_ENABLED")


class TrainingStoppedError(RuntimeError):
    """The loss watchdog stopped the run (NaN or divergence)."""


def trajectory_settings(config: dict) -> dict:
    """Everything that shapes the training trajectory (not bookkeeping such as logging or resume)."""
    train = {key: value for key, value in config["train"].items()
             if key not in ("inject_failure_at_step", "resume", "keep_last_checkpoints", "log_every_steps", "merge")}
    return {"model": config["model"], "train": train, "deepspeed": config["deepspeed"], "seed": config["seed"],
            "prompt": config["prompt"], "data": config["data"]["artifact_dir"],
            "num_workers": config["cluster"]["num_workers"]}


def ray_run_name(config: dict) -> str:
    """`<run.name>-<fingerprint>`; `train.resume=false` adds a timestamp so nothing is resumed."""
    shaping = trajectory_settings(config)
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"{config['run']['name']}-{digest}"
    return name if config["train"]["resume"] else f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def connect_ray(cluster: dict):
    import ray

    if not ray.is_initialized():
        # address null: a local Ray in this process; "auto" or ray://...: an existing cluster.
        # The dashboard stays on: Ray Train's placement-group cleaner polls its state API.
        ray.init(address=cluster["address"], logging_level=logging.WARNING)
    return ray


def train(config: dict, tracker=None) -> dict:
    """Fine-tune as configured; returns the training summary (also written to run.dir).

    Curves and the summary go to `tracker` (a tide.track.TrackedRun: the pipeline's run); without one,
    this call makes its own W&B run (standalone `make train`).
    """
    from tide.track import start_run
    from tide.track.keys import training_summary_keys

    check_config(config)
    own_run = tracker is None
    if own_run:
        tracker = start_run(config["logger"], config, name=config["run"]["name"], job_type="train",
                            tags=[config["model"]["name"], config["train"]["method"]])
    try:
        summary = _train(config, tracker)
        tracker.summary(training_summary_keys(summary))
    finally:
        if own_run:
            tracker.finish()
    return summary


def _train(config: dict, tracker) -> dict:
    from tide.train.progress import PROGRESS_FILE, ProgressRelay

    cluster, train_cfg = config["cluster"], config["train"]
    precision = resolve_precision(train_cfg["precision"], bool(cluster["use_gpu"]))
    ds_config = build_deepspeed_config(config["deepspeed"], train_cfg, int(cluster["num_workers"]), precision)

    ray = connect_ray(cluster)
    check_cluster(cluster, ray.cluster_resources(), sum(node["Alive"] for node in ray.nodes()))
    from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from tide.train.loop import train_loop_per_worker

    name = ray_run_name(config)
    run_dir = Path(config["run"]["dir"])
    relay = ProgressRelay(tracker, run_dir / PROGRESS_FILE)
    worker_env = {key: os.environ[key] for key in WORKER_ENV_VARS if key in os.environ}
    resources = {"CPU": float(cluster["cpus_per_worker"])}
    if cluster["use_gpu"]:
        resources["GPU"] = float(cluster["gpus_per_worker"])
    try:
        trainer = TorchTrainer(
            train_loop_per_worker,
            train_loop_config={**config, "precision": precision, "ds_config": ds_config, "progress_queue": relay.queue},
            scaling_config=ScalingConfig(num_workers=int(cluster["num_workers"]), use_gpu=bool(cluster["use_gpu"]),
                                         resources_per_worker=resources),
            run_config=RunConfig(
                name=name, storage_path=_storage_uri(cluster["storage_path"]),
                failure_config=FailureConfig(max_failures=int(cluster["max_failures"])),
                checkpoint_config=CheckpointConfig(num_to_keep=int(train_cfg["keep_last_checkpoints"])),
                logging_config=LoggingConfig(log_level="WARNING"),  # the loop prints its own progress
                worker_runtime_env={"env_vars": worker_env}),
        )
        log.info("training %s: %d workers, deepspeed stage %s, %s; checkpoints in %s/%s", config["run"]["name"],
                 cluster["num_workers"], config["deepspeed"]["stage"], precision, cluster["storage_path"], name)
        result = trainer.fit()
    except ray.train.TrainingFailedError as error:
        raise RuntimeError(f"training {config['run']['name']} failed after cluster.max_failures="
                           f"{cluster['max_failures']} restarts: {error}\nRerun the same command to resume from its "
                           f"last checkpoint in {cluster['storage_path']}/{name}") from error
    finally:
        relay.close()
    summary = {**result.return_value, "ray_run": name, "checkpoint": result.checkpoint.path if result.checkpoint else None}

    if summary["status"] == "completed":
        summary.update(_write_outputs(result.checkpoint, config, run_dir))
    from tide.core.files import write_json_atomic

    write_json_atomic(run_dir / SUMMARY_FILE, summary)
    if summary["status"] != "completed":
        raise TrainingStoppedError(f"{summary['stop_reason']} (summary: {run_dir / SUMMARY_FILE})")
    return summary


def _storage_uri(storage_path: str) -> str:
    # Ray wants an absolute local path or a URI.
    return storage_path if "://" in storage_path else str(Path(storage_path).expanduser().resolve())


def _write_outputs(checkpoint, config: dict, run_dir: Path) -> dict:
    from tide.models.merge import merge_adapter
    from tide.core.files import fresh_sibling, replace_dir
    from tide.train.checkpoint import ADAPTER_DIR, MODEL_DIR, check_adapter

    outputs = {"adapter_dir": None, "merged_dir": None}
    with checkpoint.as_directory() as directory:
        source = Path(directory) / (MODEL_DIR if config["train"]["method"] == "full" else ADAPTER_DIR)
        target = run_dir / ("merged" if config["train"]["method"] == "full" else "adapter")
        staging = fresh_sibling(target, "tmp")
        try:
            shutil.copytree(source, staging, dirs_exist_ok=True)
            replace_dir(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    if config["train"]["method"] == "full":
        outputs["merged_dir"] = str(target)
        return outputs
    check_adapter(target)
    outputs["adapter_dir"] = str(target)
    if config["train"]["merge"]:
        outputs["merged_dir"] = str(merge_adapter(config["model"], target, run_dir / "merged"))
    return outputs
