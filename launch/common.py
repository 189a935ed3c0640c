"""What every Hydra entry point does first: hermetic environment, absolute output paths, plain dicts."""

from __future__ import annotations

import os

from tide.core.runtime import CONF_DIR, apply_runtime_env, resolve_path

# Hydra resolves ${paths.outputs} (and its own run directory) before our code runs; making it
# absolute here (relative = from the project root) keeps every output independent of the cwd.
os.environ["TIDE_OUTPUTS"] = str(resolve_path(os.environ.get("TIDE_OUTPUTS", "outputs")))

CONFIG_PATH = str(CONF_DIR)


def setup_run(cfg) -> dict:
    """Apply the run's environment and return the config as a plain, resolved dict."""
    from omegaconf import OmegaConf

    apply_runtime_env(offline=cfg.runtime.offline, ray_usage_stats=cfg.runtime.ray_usage_stats,
                      wandb_mode=cfg.logger.mode)
    return OmegaConf.to_container(cfg, resolve=True)
