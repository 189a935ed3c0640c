"""Typed configs for tests, composed from the real conf/ tree (the lightning-hydra-template way).

    config = config_for("experiment=smoke", **{"data.artifact_dir": str(tmp_path)})
    config.train.max_steps  # 30

Composition costs about half a second, so each set of overrides is composed once per session (the
configs are frozen, so sharing them is safe); keyword options are applied with `with_options` (checked
like a command line's).
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _outputs_at(outputs):
    previous = os.environ.get("TIDE_OUTPUTS")
    os.environ["TIDE_OUTPUTS"] = str(outputs)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TIDE_OUTPUTS"]
        else:
            os.environ["TIDE_OUTPUTS"] = previous


def config_under(outputs, *overrides: str, **options) -> TideConfig:
    """`config_for` with ${paths.outputs} (and so run.dir, logger.dir, storage...) at `outputs`."""
    with _outputs_at(outputs):
        return config_for(*overrides, **options)
