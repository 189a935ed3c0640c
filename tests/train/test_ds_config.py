"""The DeepSpeed config built from every conf/deepspeed option passes DeepSpeed's own checks."""

from pathlib import Path

import pytest

from tests.configs import config_for
from tide.config import ConfigError, with_options
from tide.core.runtime import CONF_DIR
from tide.train.ds_config import build_deepspeed_config, check_deepspeed_config, resolve_precision

TRAIN = config_for().train  # conf/train/lora.yaml
OPTIONS = sorted(path.stem for path in (Path(CONF_DIR) / "deepspeed").glob("*.yaml"))


def ds_option(name: str):
    return config_for(f"deepspeed={name}").deepspeed


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_builds_a_config_deepspeed_accepts(option):
    ds = ds_option(option)
    config = build_deepspeed_config(ds, TRAIN, world_size=4, precision="bf16")
    if ds.stage == 0:
        assert config is None
        return
    check_deepspeed_config(config, world_size=4)
    assert config["train_batch_size"] == TRAIN.per_device_batch_size * TRAIN.gradient_accumulation_steps * 4
    assert config["zero_optimization"]["stage"] == ds.stage and config["bf16"]["enabled"]
    # An offloaded optimizer must be DeepSpeed's CPU Adam; otherwise torch's AdamW (no compiled op).
    assert config["optimizer"]["params"]["torch_adam"] is not ds.offload_optimizer


def test_overrides_are_merged_and_checked_by_deepspeed():
    ds = with_options(ds_option("zero2"), {"config_overrides": {"zero_optimization": {"reduce_bucket_size": 1000}}})
    config = build_deepspeed_config(ds, TRAIN, 2, "fp32")
    assert config["zero_optimization"] == {"stage": 2, "reduce_bucket_size": 1000}
    check_deepspeed_config(config, 2)

    bad_ds = with_options(ds, {"config_overrides": {"zero_optimization": {"no_such_key": 1}}})
    bad = build_deepspeed_config(bad_ds, TRAIN, 2, "fp32")
    with pytest.raises(ValueError, match="no_such_key"):
        check_deepspeed_config(bad, 2)


def test_batch_size_must_match_the_workers():
    config = build_deepspeed_config(ds_option("zero3"), TRAIN, 2, "fp32")
    with pytest.raises(ValueError, match="train_batch_size=.* workers 3"):
        check_deepspeed_config(config, 3)


def test_precision():
    assert resolve_precision("auto", use_gpu=False) == "fp32" and resolve_precision("auto", use_gpu=True) == "bf16"
    assert resolve_precision("fp32", use_gpu=True) == "fp32" and resolve_precision("bf16", use_gpu=True) == "bf16"
    # Any other value is refused when the config is built (tide/config/schema.py).
    with pytest.raises(ConfigError, match="train.precision: expected one of .*got 'fp16'"):
        with_options(TRAIN, {"precision": "fp16"}, path="train")
