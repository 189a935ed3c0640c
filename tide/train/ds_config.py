"""The DeepSpeed config, built from the Hydra values and checked by DeepSpeed's own config classes.

Batch sizes come from `train` (micro batch, accumulation) and the worker count, so they always agree;
`deepspeed.config_overrides` adds any other DeepSpeed key and goes through the same check.
"""

from __future__ import annotations

import copy


def resolve_precision(precision: str, use_gpu: bool) -> str:
    """"bf16" or "fp32": auto means bf16 on GPU (mixed precision), fp32 on CPU."""
    if precision == "auto":
        return "bf16" if use_gpu else "fp32"
    if precision not in ("bf16", "fp32"):
        raise ValueError(f"train.precision={precision!r}: expected auto, bf16 or fp32")
    return precision


def build_deepspeed_config(ds_cfg: dict, train_cfg: dict, world_size: int, precision: str) -> dict | None:
    """The DeepSpeed config dict, or None for plain DDP (stage 0)."""
    stage = int(ds_cfg["stage"])
    if stage == 0:
        return None
    zero = {"stage": stage}
    if ds_cfg["offload_optimizer"]:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if ds_cfg["offload_param"]:
        zero["offload_param"] = {"device": "cpu", "pin_memory": True}
    micro, accumulation = int(train_cfg["per_device_batch_size"]), int(train_cfg["gradient_accumulation_steps"])
    config = {
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "train_batch_size": micro * accumulation * world_size,
        "gradient_clipping": float(train_cfg["max_grad_norm"]),
        "optimizer": {
            "type": "AdamW",
            # torch's AdamW needs no compiled op; an offloaded optimizer must be DeepSpeed's CPU Adam.
            "params": {"lr": float(train_cfg["learning_rate"]), "weight_decay": float(train_cfg["weight_decay"]),
                       "betas": [0.9, 0.999], "eps": 1e-8, "torch_adam": not ds_cfg["offload_optimizer"]},
        },
        "zero_optimization": zero,
        "bf16": {"enabled": precision == "bf16"},
        "steps_per_print": 10**9,  # the training loop logs; DeepSpeed's own lines would interleave
    }
    return _deep_merge(config, ds_cfg.get("config_overrides") or {})


def check_deepspeed_config(config: dict, world_size: int) -> None:
    """Raise ValueError naming the problem if DeepSpeed would refuse `config`.

    Outside a process group DeepSpeed assumes one worker, so the batch-size product is checked here
    and everything else by DeepSpeedConfig with the batch size left for it to derive.
    """
    from deepspeed.runtime.config import DeepSpeedConfig

    micro, accumulation = config["train_micro_batch_size_per_gpu"], config["gradient_accumulation_steps"]
    if config["train_batch_size"] != micro * accumulation * world_size:
        raise ValueError(
            f"DeepSpeed train_batch_size={config['train_batch_size']} != per_device_batch_size {micro} x "
            f"gradient_accumulation_steps {accumulation} x workers {world_size} "
            "(set it through train.* and cluster.num_workers, not deepspeed.config_overrides)")
    single = {key: value for key, value in config.items() if key != "train_batch_size"}
    try:
        DeepSpeedConfig(copy.deepcopy(single))
    except Exception as error:  # pydantic ValidationError, AssertionError, ValueError: all say what is wrong
        raise ValueError(f"DeepSpeed config rejected by DeepSpeed: {error}") from error


def _deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else copy.deepcopy(value)
    return merged
