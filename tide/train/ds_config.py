"""The DeepSpeed config, built from the typed `deepspeed` and `train` slices and checked by DeepSpeed's own
config classes.

Batch sizes come from `train` (micro batch, accumulation) and the worker count, so they always agree;
`deepspeed.config_overrides` adds any other DeepSpeed key and goes through the same check.
"""

from __future__ import annotations

import copy

from tide.config.schema import DeepSpeedConfig, TrainConfig


def resolve_precision(precision: str, use_gpu: bool) -> str:
    """"bf16" or "fp32" for train.precision (auto, bf16 or fp32): auto means bf16 on GPU (mixed precision),
    fp32 on CPU."""
    if precision == "auto":
        return "bf16" if use_gpu else "fp32"
    return precision


def build_deepspeed_config(ds: DeepSpeedConfig, train: TrainConfig, world_size: int, precision: str) -> dict | None:
    """The DeepSpeed config dict, or None for plain DDP (stage 0)."""
    if ds.stage == 0:
        return None
    zero = {"stage": ds.stage}
    if ds.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if ds.offload_param:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    micro, accumulation = train.per_device_batch_size, train.gradient_accumulation_steps
    config = {
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "train_batch_size": micro * accumulation * world_size,
        "gradient_clipping": float(train.max_grad_norm),
        "optimizer": {
            "type": "AdamW",
            # torch's AdamW needs no compiled op; an offloaded optimizer must be DeepSpeed's CPU Adam.
            "params": {"lr": float(train.learning_rate), "weight_decay": float(train.weight_decay),
                       "betas": [0.9, 0.999], "eps": 1e-8, "torch_adam": not ds.offload_optimizer},
        },
        "zero_optimization": zero,
        "bf16": {"enabled": precision == "bf16"},
        "steps_per_print": 10**9,  # the training loop logs; DeepSpeed's own lines would interleave
    }
    return _deep_merge(config, ds.config_overrides or {})


def check_deepspeed_config(config: dict, world_size: int) -> None:
    """Raise ValueError naming the problem if DeepSpeed would refuse `config`.

    Outside a process group DeepSpeed assumes one worker, so the batch-size product is checked here
    and everything else by DeepSpeedConfig with the batch size left for it to derive.
    """
    from deepspeed.runtime.config import DeepSpeedConfig as DeepSpeedRuntimeConfig

    micro, accumulation = config["train_micro_batch_size_per_gpu"], config["gradient_accumulation_steps"]
    if config["train_batch_size"] != micro * accumulation * world_size:
        raise ValueError(
            f"DeepSpeed train_batch_size={config['train_batch_size']} != per_device_batch_size {micro} x "
            f"gradient_accumulation_steps {accumulation} x workers {world_size} "
            "(set it through train.* and cluster.num_workers, not deepspeed.config_overrides)")
    single = {key: value for key, value in config.items() if key != "train_batch_size"}
    try:
        DeepSpeedRuntimeConfig(copy.deepcopy(single))
    except Exception as error:  # pydantic ValidationError, AssertionError, ValueError: all say what is wrong
        raise ValueError(f"DeepSpeed config rejected by DeepSpeed: {error}") from error


def _deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else copy.deepcopy(value)
    return merged
