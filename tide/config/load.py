"""The launch boundary: the composed Hydra config -> one `TideConfig` of typed slices, built once.

    config = build_config(OmegaConf.to_container(cfg, resolve=True))   # what launch/common.py does
    config = compose_config(["experiment=smoke", "train.max_steps=5"])  # the same, from Python (tests, sweeps)

Only this module reads the composed tree by group name; everything after it passes slices.
"""

from __future__ import annotations

from collections.abc import Mapping

from tide.config.fields import ConfigError, build, plain
from tide.config.schema import TideConfig
from tide.core.runtime import CONF_DIR


def build_config(composed: Mapping) -> TideConfig:
    """Typed slices from the composed config (a plain, resolved mapping); ConfigError names a bad option."""
    if not isinstance(composed, Mapping):
        raise ConfigError(f"the composed config is a {type(composed).__name__}, not a mapping")
    return build(TideConfig, {key: value for key, value in composed.items() if key != "hydra"})


def compose_mapping(overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """The composed, resolved config for these Hydra overrides, as plain values (conf/ from the project root)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    if GlobalHydra.instance().is_initialized():  # inside a @hydra.main app: compose in its context
        return OmegaConf.to_container(compose(config_name="config", overrides=list(overrides)), resolve=True)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose(config_name="config", overrides=list(overrides)), resolve=True)


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> TideConfig:
    """`build_config` of the composed config for these overrides."""
    return build_config(compose_mapping(overrides))


def to_plain(config) -> dict:
    """A slice (or the whole config) as plain JSON-safe values: for records, fingerprints and W&B."""
    return plain(config)
