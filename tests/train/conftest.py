"""A small data artifact and the small tiny model, composed into training configs (tests/configs.py)."""

import pytest

from tests.configs import config_under
from tests.conftest import SMALL_ARCHITECTURE

# A few steps of a small model on 2 CPU workers: seconds per run.
FAST = ["train.per_device_batch_size=4", "train.gradient_accumulation_steps=1", "train.max_steps=8",
        "train.learning_rate=2e-2", "train.warmup_ratio=0.1", "train.eval_every_steps=4", "train.eval_max_batches=2",
        "train.save_every_steps=4", "train.log_every_steps=4", "train.lora.r=4", "train.lora.alpha=8",
        "logger=none", "cluster.max_failures=0"]


@pytest.fixture(scope="session")
def train_artifact(tmp_path_factory, synthetic_dir):
    from tide.data.prepare import prepare_dataset

    out = tmp_path_factory.mktemp("train-data") / "artifact"
    prepare_dataset(config_under(out.parent, "data=tide", f"data.dir={synthetic_dir}", f"data.artifact_dir={out}").data)
    return out


@pytest.fixture(scope="session")
def train_config(train_artifact, tiny_model_dir):
    """make(outputs, *overrides): a TideConfig training the small model on the artifact, outputs under `outputs`.

    Tests take the training job from it with `TrainingJob.from_config`.
    """

    def make(outputs, *overrides):
        small_model = [f"model.path={tiny_model_dir}",
                       *[f"model.architecture.{k}={v}" for k, v in SMALL_ARCHITECTURE.items() if k != "model_type"]]
        return config_under(outputs, f"data.artifact_dir={train_artifact}", *small_model, *FAST, *overrides)

    return make
