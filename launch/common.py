"""What every Hydra entry point does first: hermetic environment, absolute output paths, plain dicts."""

from __future__ import annotations

import os

from tide.runtime import CONF_DIR, PROJECT_ROOT, apply_runtime_env

# Hydra resolves ${paths.outputs} (and its own run directory) before our code runs; pinning the
# default to the project root here keeps every output independent of the current directory.
os.environ.setdefault("TIDE_OUTPUTS", str(PROJECT_ROOT / "outputs"))

CONFIG_PATH = str(CONF_DIR)


def setup_run(cfg) -> dict:
    """Apply the run's environment and return the config as a plain, resolved dict."""
    from omegaconf import OmegaConf

    apply_runtime_env(offline=cfg.runtime.offline, ray_usage_stats=cfg.runtime.ray_usage_stats,
                      wandb_mode=cfg.logger.mode)
    return OmegaConf.to_container(cfg, resolve=True)
