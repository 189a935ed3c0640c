"""The driver side of training: check, connect to Ray, run the TorchTrainer, write the run's outputs.

    summary = train(TrainingJob.from_config(config), tracker)   # tide/train/job.py; tracker: the pipeline's run

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

from tide.config import to_plain
from tide.config.schema import ClusterConfig
from tide.core.domain import ADAPTER_DIR, MERGED_DIR, PROGRESS_FILE, TRAIN_SUMMARY_FILE
from tide.core.runtime import HF_OFFLINE_VARS
from tide.train.checks import check_cluster, check_config
from tide.train.ds_config import build_deepspeed_config, resolve_precision
from tide.train.job import TrainingJob, WorkerPlan

log = logging.getLogger(__name__)
# Environment every worker needs, wherever it runs (a remote node has not inherited the driver's).
# (Ray sets OMP_NUM_THREADS per worker from cluster.cpus_per_worker.)
WORKER_ENV_VARS = (*HF_OFFLINE_VARS, "WANDB_MODE", "TOKENIZERS_PARALLELISM", "RAY_USAGE_STATS_ENABLED")
# train.* options that are bookkeeping (logging, resume, outputs, testing), not the trajectory.
NOT_TRAJECTORY = ("inject_failure_at_step", "resume", "keep_last_checkpoints", "log_every_steps", "merge")


class TrainingStoppedError(RuntimeError):
    """The loss watchdog stopped the run (NaN or divergence)."""


def trajectory_settings(job: TrainingJob) -> dict:
    """Everything that shapes the training trajectory (not bookkeeping such as logging or resume), as the
    plain values the YAML composed: the Ray run name and the train stage's fingerprint are made from it."""
    train = {key: value for key, value in to_plain(job.train).items() if key not in NOT_TRAJECTORY}
    return {"model": to_plain(job.model), "train": train, "deepspeed": to_plain(job.deepspeed), "seed": job.seed,
            "prompt": to_plain(job.prompt), "data": job.data_dir, "num_workers": job.cluster.num_workers}


def ray_run_name(job: TrainingJob) -> str:
    """`<run.name>-<fingerprint>`; `train.resume=false` adds a timestamp so nothing is resumed. The fingerprint
    also holds the data artifact's content fingerprint: an artifact rebuilt from changed source files (same
    settings, same path) never resumes checkpoints trained on the old one."""
    from tide.data.artifact import read_manifest

    manifest = read_manifest(job.data_dir) or {}
    shaping = {**trajectory_settings(job), "data_content": manifest.get("fingerprint")}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"{job.run_name}-{digest}"
    return name if job.train.resume else f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def connect_ray(cluster: ClusterConfig):
    import ray

    if not ray.is_initialized():
        # address null: a local Ray in this process; "auto" or ray://...: an existing cluster.
        # The dashboard stays on: Ray Train's placement-group cleaner polls its state API.
        ray.init(address=cluster.address, logging_level=logging.WARNING)
    return ray


def train(job: TrainingJob, tracker) -> dict:
    """Fine-tune as `job` says; returns the training summary (also written to run.dir).

    Curves and the summary go to `tracker` (a tide.track.TrackedRun: the pipeline's or the launcher's run);
    the workers never talk to W&B themselves (tide/train/progress.py).
    """
    from tide.track.keys import training_summary_keys

    check_config(job)
    summary = _train(job, tracker)
    tracker.summary(training_summary_keys(summary))
    return summary


def _train(job: TrainingJob, tracker) -> dict:
    from tide.core.files import write_json_atomic
    from tide.train.progress import ProgressLog, ProgressRelay

    cluster = job.cluster
    precision = resolve_precision(job.train.precision, cluster.use_gpu)
    ds_config = build_deepspeed_config(job.deepspeed, job.train, cluster.num_workers, precision)
    name, run_dir = ray_run_name(job), Path(job.run_dir)
    if cluster.runner == "bare":
        result = _fit_bare(WorkerPlan(job, precision, ds_config, ProgressLog(tracker, run_dir / PROGRESS_FILE)), name)
    else:
        ray = connect_ray(cluster)
        check_cluster(cluster, ray.cluster_resources(), sum(node["Alive"] for node in ray.nodes()))
        relay = ProgressRelay(tracker, run_dir / PROGRESS_FILE)
        try:
            result = _fit(WorkerPlan(job, precision, ds_config, relay.queue), name)
        finally:
            relay.close()
    summary = {**result.return_value, "ray_run": name, "runner": cluster.runner,
               "checkpoint": str(result.checkpoint.path) if result.checkpoint else None}

    if summary["status"] == "completed":
        summary.update(_write_outputs(result.checkpoint, job))
    write_json_atomic(run_dir / TRAIN_SUMMARY_FILE, summary)
    if summary["status"] != "completed":
        raise TrainingStoppedError(f"{summary['stop_reason']} (summary: {run_dir / TRAIN_SUMMARY_FILE})")
    return summary


def _fit(plan: WorkerPlan, name: str):
    """Run the workers under Ray Train as the Ray run `name`; its Result (return value: rank 0's summary)."""
    import ray.train

    job, cluster = plan.job, plan.job.cluster
    trainer = _torch_trainer(plan, name)
    log.info("training %s: %d workers, deepspeed stage %s, %s; checkpoints in %s/%s", job.run_name,
             cluster.num_workers, job.deepspeed.stage, plan.precision, cluster.storage_path, name)
    try:
        return trainer.fit()
    except ray.train.TrainingFailedError as error:
        raise RuntimeError(f"training {job.run_name} failed after cluster.max_failures="
                           f"{cluster.max_failures} restarts: {error}\nRerun the same command to resume from its "
                           f"last checkpoint in {cluster.storage_path}/{name}") from error


def _fit_bare(plan: WorkerPlan, name: str):
    """The same worker loop in this process (tide/train/bare.py); checkpoints in cluster.storage_path/<name>."""
    from tide.train.bare import fit_bare

    log.info("training %s in this process (cluster.runner=bare), deepspeed stage %s, %s; checkpoints in %s/%s",
             plan.job.run_name, plan.job.deepspeed.stage, plan.precision, plan.job.cluster.storage_path, name)
    return fit_bare(plan, Path(_storage_uri(plan.job.cluster.storage_path)) / name)


def _torch_trainer(plan: WorkerPlan, name: str):
    from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from tide.train.loop import train_loop_per_worker

    cluster = plan.job.cluster
    worker_env = {key: os.environ[key] for key in WORKER_ENV_VARS if key in os.environ}
    resources = {"CPU": float(cluster.cpus_per_worker)}
    if cluster.use_gpu:
        resources["GPU"] = float(cluster.gpus_per_worker)
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config=plan.as_loop_config(),
        scaling_config=ScalingConfig(num_workers=cluster.num_workers, use_gpu=cluster.use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(
            name=name, storage_path=_storage_uri(cluster.storage_path),
            failure_config=FailureConfig(max_failures=cluster.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=plan.job.train.keep_last_checkpoints),
            logging_config=LoggingConfig(log_level="WARNING"),  # the loop prints its own progress
            worker_runtime_env={"env_vars": worker_env}),
    )


def _storage_uri(storage_path: str) -> str:
    # Ray wants an absolute local path or a URI.
    return storage_path if "://" in storage_path else str(Path(storage_path).expanduser().resolve())


def _write_outputs(checkpoint, job: TrainingJob) -> dict:
    """run.dir/adapter (merged too with train.merge), or run.dir/merged for full fine-tuning, from the final checkpoint."""
    from tide.core.files import staged_dir
    from tide.models.merge import merge_adapter
    from tide.train.checkpoint import MODEL_DIR, check_adapter

    full, run_dir = job.train.method == "full", Path(job.run_dir)
    target = run_dir / (MERGED_DIR if full else ADAPTER_DIR)
    with checkpoint.as_directory() as directory, staged_dir(target) as staging:
        # The final checkpoint holds the weights as the run keeps them: model/ (full) or adapter/.
        shutil.copytree(Path(directory) / (MODEL_DIR if full else ADAPTER_DIR), staging, dirs_exist_ok=True)
    if full:
        return {"adapter_dir": None, "merged_dir": str(target)}
    check_adapter(target)
    merged_dir = str(merge_adapter(job.model, target, run_dir / MERGED_DIR)) if job.train.merge else None
    return {"adapter_dir": str(target), "merged_dir": merged_dir}
