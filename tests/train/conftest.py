"""A small data artifact and the small tiny model, composed into training configs through Hydra."""

import os

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.conftest import SMALL_ARCHITECTURE
from tide.core.runtime import CONF_DIR

# A few steps of a small model on 2 CPU workers: seconds per run.
FAST = ["train.per_device_batch_size=4", "train.gradient_accumulation_steps=1", "train.max_steps=8",
        "train.learning_rate=2e-2", "train.warmup_ratio=0.1", "train.eval_every_steps=4", "train.eval_max_batches=2",
        "train.save_every_steps=4", "train.log_every_steps=4", "train.lora.r=4", "train.lora.alpha=8",
        "logger=none", "cluster.max_failures=0"]


def compose_config(outputs, overrides) -> dict:
    os.environ["TIDE_OUTPUTS"] = str(outputs)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)
    finally:
        del os.environ["TIDE_OUTPUTS"]


@pytest.fixture(scope="session")
def train_artifact(tmp_path_factory, synthetic_dir):
    from tide.data.prepare import prepare_dataset

    out = tmp_path_factory.mktemp("train-data") / "artifact"
    data_cfg = compose_config(out.parent, ["data=tide", f"data.dir={synthetic_dir}", f"data.artifact_dir={out}"])["data"]
    prepare_dataset(data_cfg)
    return out


@pytest.fixture(scope="session")
def train_config(train_artifact, tiny_model_dir):
    """make(outputs, *overrides): a training config on the small model and artifact, outputs under `outputs`."""

    def make(outputs, *overrides) -> dict:
        small_model = [f"model.path={tiny_model_dir}",
                       *[f"model.architecture.{k}={v}" for k, v in SMALL_ARCHITECTURE.items() if k != "model_type"]]
        return compose_config(outputs, [f"data.artifact_dir={train_artifact}", *small_model, *FAST, *overrides])

    return make
