"""Up-front validation: a bad configuration fails before Ray starts a worker, naming the option.

`check_config` needs no cluster; `check_cluster` runs once Ray is connected and compares the request
with what the cluster has. (An unknown preset never gets here: Hydra refuses to compose it.)
"""

from __future__ import annotations

from pathlib import Path

METHODS = ("lora", "qlora", "full")


class ConfigError(ValueError):
    """The configuration cannot work; the message names the option."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def check_config(config: dict) -> None:
    from tide.data.artifact import read_manifest
    from tide.models.loading import resolve_model_source
    from tide.track import check_logger

    train, cluster, ds = config["train"], config["cluster"], config["deepspeed"]
    _check_train(train)
    _require(int(cluster["num_workers"]) >= 1, f"cluster.num_workers={cluster['num_workers']}: need at least 1 worker")
    _require(cluster["storage_path"] is not None,
             "cluster.storage_path is not set: checkpoints need storage every worker can reach (on a multi-node "
             "cluster a shared mount or s3:// / gs:// URI); set cluster.storage_path or TIDE_SHARED_STORAGE")
    if train["quantize_4bit"]:
        _require(bool(cluster["use_gpu"]), "train.quantize_4bit (train=qlora) needs GPUs: bitsandbytes 4-bit is "
                                           "CUDA-only; use train=lora on CPU, or a GPU cluster config")
        _require(int(ds["stage"]) != 3, "train=qlora does not run under ZeRO-3 here; use deepspeed=none or zero2")
    _check_deepspeed(ds, train, int(cluster["num_workers"]), bool(cluster["use_gpu"]))
    check_logger(config["logger"])
    _require(read_manifest(config["data"]["artifact_dir"]) is not None,
             f"data.artifact_dir={config['data']['artifact_dir']}: no dataset artifact there; "
             "run `python -m launch.data` (same data options) first")
    resolve_model_source(config["model"])  # raises ModelNotAvailableError saying how to get the weights
    if train["method"] != "full":
        _check_lora_targets(config["model"], list(train["lora"]["target_modules"]))


def _check_train(train: dict) -> None:
    _require(train["method"] in METHODS, f"train.method={train['method']!r}: expected one of {METHODS}")
    if train["method"] != "full":
        lora = train["lora"] or {}
        _require(isinstance(lora.get("r"), int) and lora["r"] > 0, f"train.lora.r={lora.get('r')}: LoRA rank must be a positive integer")
        _require(lora.get("alpha", 0) > 0, f"train.lora.alpha={lora.get('alpha')}: must be > 0")
        _require(0 <= lora.get("dropout", -1) < 1, f"train.lora.dropout={lora.get('dropout')}: must be in [0, 1)")
        _require(bool(lora.get("target_modules")), "train.lora.target_modules is empty: name the layers LoRA adapts")
    for key in ("per_device_batch_size", "gradient_accumulation_steps", "eval_every_steps", "save_every_steps",
                "keep_last_checkpoints", "log_every_steps"):
        _require(isinstance(train[key], int) and train[key] >= 1, f"train.{key}={train[key]}: must be an integer >= 1")
    _require(train["max_steps"] > 0 or train["epochs"] >= 1,
             f"train.epochs={train['epochs']} with train.max_steps={train['max_steps']}: nothing to train")
    _require(float(train["learning_rate"]) > 0, f"train.learning_rate={train['learning_rate']}: must be > 0")
    _require(0 <= float(train["warmup_ratio"]) < 1, f"train.warmup_ratio={train['warmup_ratio']}: must be in [0, 1)")
    _require(float(train["max_grad_norm"]) > 0, f"train.max_grad_norm={train['max_grad_norm']}: must be > 0")
    from transformers import SchedulerType

    schedules = [schedule.value for schedule in SchedulerType]
    _require(train["lr_scheduler"] in schedules, f"train.lr_scheduler={train['lr_scheduler']!r}: expected one of {schedules}")
    _require(train["eval_max_batches"] is None or train["eval_max_batches"] >= 1,
             f"train.eval_max_batches={train['eval_max_batches']}: null or >= 1")


def _check_deepspeed(ds: dict, train: dict, world_size: int, use_gpu: bool) -> None:
    from tide.train.ds_config import build_deepspeed_config, check_deepspeed_config, resolve_precision

    stage = ds["stage"]
    _require(stage in (0, 1, 2, 3), f"deepspeed.stage={stage}: expected 0 (plain DDP), 1, 2 or 3")
    _require(not ds["offload_param"] or stage == 3, "deepspeed.offload_param needs deepspeed.stage=3")
    _require(not ds["offload_optimizer"] or stage >= 1, "deepspeed.offload_optimizer needs a ZeRO stage >= 1")
    _require(stage > 0 or not ds["config_overrides"], "deepspeed.config_overrides is set but deepspeed.stage=0 (no DeepSpeed)")
    precision = resolve_precision(train["precision"], use_gpu)
    ds_config = build_deepspeed_config(ds, train, world_size, precision)
    if ds_config is not None:
        try:
            check_deepspeed_config(ds_config, world_size)
        except ValueError as error:
            raise ConfigError(f"deepspeed={ds}: {error}") from error


def _check_lora_targets(model_cfg: dict, targets: list[str]) -> None:
    """Every LoRA target names a module of the architecture (built on the meta device: no memory)."""
    import torch
    from transformers import AutoModelForCausalLM

    from tide.models.presets import config_from_architecture

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_from_architecture(model_cfg["architecture"]))
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [target for target in targets if target not in names]
    _require(not missing, f"train.lora.target_modules: {missing} are not modules of {model_cfg['name']} "
                          f"({model_cfg['architecture']['model_type']}); see model.lora_target_modules")


def check_cluster(cluster: dict, resources: dict, alive_nodes: int) -> None:
    """The run's workers fit the Ray cluster, and multi-node runs have storage they can share."""
    workers = int(cluster["num_workers"])
    for kind, per_worker, wanted in (("CPU", float(cluster["cpus_per_worker"]), True),
                                     ("GPU", float(cluster["gpus_per_worker"]), bool(cluster["use_gpu"]))):
        have = float(resources.get(kind, 0))
        _require(not wanted or workers * per_worker <= have,
                 f"cluster.num_workers={workers} x cluster.{kind.lower()}s_per_worker={per_worker:g} needs "
                 f"{workers * per_worker:g} {kind}s but the Ray cluster has {have:g}; lower cluster.num_workers "
                 f"or cluster.{kind.lower()}s_per_worker")
    check_shared_storage("cluster.storage_path", cluster["storage_path"], alive_nodes)


def check_shared_storage(option: str, storage, alive_nodes: int) -> None:
    """On more than one node, a path must already exist here (a mounted shared volume) or be a URI."""
    storage = str(storage)
    if alive_nodes > 1 and "://" not in storage:
        _require(Path(storage).is_dir(),
                 f"{option}={storage}: a {alive_nodes}-node cluster needs storage every node can reach, "
                 "but this path does not exist here; mount shared storage (NFS) there first, or use an s3:// or gs:// URI")
