"""Up-front validation: a training that cannot work fails before Ray starts a worker, naming the option.

Types, bounds, choices and the rules within one group (a LoRA method has LoRA options, something to
train, DeepSpeed's offload needs its stage) are checked when the config is built (tide/config/schema.py).
What is left here needs the environment or several groups at once: the data artifact and the model's
weights exist, the LoRA targets are modules of the architecture, transformers knows the schedule, QLoRA
has GPUs and no ZeRO-3, checkpoints have storage, DeepSpeed accepts its config. `check_config` needs no
cluster; `check_cluster` runs once Ray is connected and compares the request with what the cluster has.
(An unknown preset never gets here: Hydra refuses to compose it.)
"""

from __future__ import annotations

from pathlib import Path

from tide.config import ConfigError, to_plain
from tide.config.schema import ClusterConfig, DeepSpeedConfig, ModelConfig, TrainConfig
from tide.train.job import TrainingJob

__all__ = ["ConfigError", "check_cluster", "check_config", "check_shared_storage"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_config(job: TrainingJob) -> None:
    from tide.data.artifact import read_manifest
    from tide.models.loading import resolve_model_source

    train, cluster = job.train, job.cluster
    _check_scheduler(train.lr_scheduler)
    _require(cluster.storage_path is not None,
             "cluster.storage_path is not set: checkpoints need storage every worker can reach (on a multi-node "
             "cluster a shared mount or s3:// / gs:// URI); set cluster.storage_path or TIDE_SHARED_STORAGE")
    if train.quantize_4bit:
        _require(cluster.use_gpu, "train.quantize_4bit (train=qlora) needs GPUs: bitsandbytes 4-bit is "
                                  "CUDA-only; use train=lora on CPU, or a GPU cluster config")
        _require(job.deepspeed.stage != 3, "train=qlora does not run under ZeRO-3 here; use deepspeed=none or zero2")
    _check_deepspeed(job.deepspeed, train, cluster.num_workers, cluster.use_gpu)
    _require(read_manifest(job.data_dir) is not None,
             f"data.artifact_dir={job.data_dir}: no dataset artifact there; "
             "run `python -m launch.data` (same data options) first")
    resolve_model_source(job.model)  # raises ModelNotAvailableError saying how to get the weights
    if train.method != "full":
        _check_lora_targets(job.model, list(train.lora.target_modules))


def _check_scheduler(name: str) -> None:
    """train.lr_scheduler is a name transformers' get_scheduler knows (the installed version decides)."""
    from transformers import SchedulerType

    schedules = [schedule.value for schedule in SchedulerType]
    _require(name in schedules, f"train.lr_scheduler={name!r}: expected one of {schedules}")


def _check_deepspeed(ds: DeepSpeedConfig, train: TrainConfig, world_size: int, use_gpu: bool) -> None:
    """DeepSpeed's own config classes accept the config this run would build."""
    from tide.train.ds_config import build_deepspeed_config, check_deepspeed_config, resolve_precision

    precision = resolve_precision(train.precision, use_gpu)
    ds_config = build_deepspeed_config(ds, train, world_size, precision)
    if ds_config is not None:
        try:
            check_deepspeed_config(ds_config, world_size)
        except ValueError as error:
            raise ConfigError(f"deepspeed={to_plain(ds)}: {error}") from error


def _check_lora_targets(model: ModelConfig, targets: list[str]) -> None:
    """Every LoRA target names a module of the architecture (built on the meta device: no memory)."""
    import torch
    from transformers import AutoModelForCausalLM

    from tide.models.presets import config_from_architecture

    with torch.device("meta"):
        network = AutoModelForCausalLM.from_config(config_from_architecture(model.architecture))
    names = {name.rsplit(".", 1)[-1] for name, _ in network.named_modules()}
    missing = [target for target in targets if target not in names]
    _require(not missing, f"train.lora.target_modules: {missing} are not modules of {model.name} "
                          f"({model.architecture['model_type']}); see model.lora_target_modules")


def check_cluster(cluster: ClusterConfig, resources: dict, alive_nodes: int) -> None:
    """The run's workers fit the Ray cluster, and multi-node runs have storage they can share."""
    workers = cluster.num_workers
    for kind, per_worker, wanted in (("CPU", float(cluster.cpus_per_worker), True),
                                     ("GPU", float(cluster.gpus_per_worker), cluster.use_gpu)):
        have = float(resources.get(kind, 0))
        _require(not wanted or workers * per_worker <= have,
                 f"cluster.num_workers={workers} x cluster.{kind.lower()}s_per_worker={per_worker:g} needs "
                 f"{workers * per_worker:g} {kind}s but the Ray cluster has {have:g}; lower cluster.num_workers "
                 f"or cluster.{kind.lower()}s_per_worker")
    check_shared_storage("cluster.storage_path", cluster.storage_path, alive_nodes)


def check_shared_storage(option: str, storage, alive_nodes: int) -> None:
    """On more than one node, a path must already exist here (a mounted shared volume) or be a URI."""
    storage = str(storage)
    if alive_nodes > 1 and "://" not in storage:
        _require(Path(storage).is_dir(),
                 f"{option}={storage}: a {alive_nodes}-node cluster needs storage every node can reach, "
                 "but this path does not exist here; mount shared storage (NFS) there first, or use an s3:// or gs:// URI")
