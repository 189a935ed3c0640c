"""Typed configs for tests, composed from the real conf/ tree (the lightning-hydra-template way).

    config = config_for("experiment=smoke", **{"data.artifact_dir": str(tmp_path)})
    config.train.max_steps  # 30

Composition costs about half a second, so each set of overrides is composed once per session (the
configs are frozen, so sharing them is safe); keyword options are applied with `with_options` (checked
like a command line's).
"""

from __future__ import annotations

import functools
import os

from tide.config import TideConfig, compose_config, with_options


@functools.lru_cache(maxsize=64)
def _composed(overrides: tuple[str, ...], outputs: str | None) -> TideConfig:
    return compose_config(list(overrides))


def config_for(*overrides: str, **options) -> TideConfig:
    """The composed config for Hydra `overrides`, then dotted `options` ({"train.max_steps": 3}) replaced."""
    config = _composed(tuple(overrides), os.environ.get("TIDE_OUTPUTS"))
    return with_options(config, options) if options else config
