"""Sweep parameters as Hydra overrides, and a check that every key exists in the config tree.

An override is `key=value` with no leading dashes, as W&B's `${args_no_hyphens}` writes it, so the
offline runner and a W&B agent hand the Hydra entry point the same thing. Keys are checked before
anything runs by composing conf/ with Hydra's compose API: a config group (`model`, `experiment`, ...)
must name a file in conf/<group>/, any other key must exist in the composed tree.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

from tide.core.runtime import CONF_DIR
from tide.sweep.spec import SweepSpec, SweepSpecError

# Strings Hydra reads back as the same string without quotes (and not as a number, bool or null).
PLAIN_STRING = re.compile(r"[A-Za-z_/][\w\-./]*")
HYDRA_KEYWORDS = {"true", "false", "null", "nan", "inf"}
# Keys the runner sets for every trial (its directory, name and W&B group).
PER_TRIAL_KEYS = ("run.dir", "run.name", "logger.group")


def hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar; Hydra parses it back to the same value."""
    if hasattr(value, "item"):  # numpy scalars from samplers
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if PLAIN_STRING.fullmatch(value) and value.lower() not in HYDRA_KEYWORDS:
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a Hydra override")


def to_overrides(params: dict) -> list[str]:
    return [f"{key}={hydra_value(value)}" for key, value in params.items()]


def is_group(key: str, conf_dir: Path = CONF_DIR) -> bool:
    return (Path(conf_dir) / key.replace(".", "/")).is_dir()


def compose_points(spec: SweepSpec, points: list[dict], extra_overrides: list[str] = (),
                   conf_dir: Path = CONF_DIR) -> list:
    """Compose the config of each point (a DictConfig with the point applied), refusing unknown keys,
    unknown group choices and keys set both by the spec and on the command line."""
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf, open_dict

    where = str(spec.path) if spec.path else "sweep spec"
    fixed_keys = {o.split("=", 1)[0].lstrip("+~") for o in extra_overrides}
    clash = sorted(fixed_keys & set(spec.keys))
    if clash:
        raise SweepSpecError(f"{where}: {clash} set both as sweep parameters and as command-line overrides")
    reserved = sorted((fixed_keys | set(spec.keys)) & set(PER_TRIAL_KEYS))
    if reserved:
        raise SweepSpecError(f"{where}: {reserved} are set by the sweep for each trial; remove them")
    groups = [key for key in spec.keys if is_group(key, conf_dir)]
    for key in groups:
        _check_group_choices(spec, key, conf_dir, where)

    configs, composed = [], {}
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        for point in points:
            group_overrides = to_overrides({k: point[k] for k in groups})
            if tuple(group_overrides) not in composed:  # composing is the slow part: once per group choice
                composed[tuple(group_overrides)] = _compose_checked(spec, extra_overrides, group_overrides,
                                                                     groups, where)
            cfg = copy.deepcopy(composed[tuple(group_overrides)])
            with open_dict(cfg):
                for key in spec.keys:
                    if key not in groups:
                        OmegaConf.update(cfg, key, point[key], merge=False)
            configs.append(cfg)
    return configs


def _compose_checked(spec: SweepSpec, extra_overrides, group_overrides: list[str], groups: list[str], where: str):
    from hydra import compose
    from omegaconf import OmegaConf

    try:
        cfg = compose(config_name="config", overrides=[*extra_overrides, *group_overrides])
    except Exception as error:  # Hydra's own message says which override failed
        raise SweepSpecError(f"{where}: the config does not compose with "
                             f"{[*extra_overrides, *group_overrides]}: {error}") from error
    missing = object()
    for key in spec.keys:
        if key not in groups and OmegaConf.select(cfg, key, default=missing,
                                                  throw_on_resolution_failure=False) is missing:
            raise SweepSpecError(f"{where}: parameters.{key}: no such key in the config tree "
                                 f"(conf/ composed with {group_overrides or 'the defaults'})"
                                 f"{_suggestion(cfg, key)}")
    return cfg


def _check_group_choices(spec: SweepSpec, key: str, conf_dir: Path, where: str) -> None:
    parameter = next(p for p in spec.parameters if p.key == key)
    group_dir = Path(conf_dir) / key.replace(".", "/")
    available = sorted(p.stem for p in group_dir.glob("*.yaml"))
    if parameter.distribution not in ("constant", "categorical"):
        raise SweepSpecError(f"{where}: parameters.{key} is a config group: use value/values from {available}")
    for choice in parameter.choices():
        if not isinstance(choice, str) or choice not in available:
            raise SweepSpecError(f"{where}: parameters.{key}: {choice!r} is not a file in conf/{group_dir.name}/; "
                                 f"choose from {available}")


def _suggestion(cfg, key: str) -> str:
    from omegaconf import OmegaConf

    flat = _flatten(OmegaConf.to_container(cfg, resolve=False))
    close = difflib.get_close_matches(key, flat, n=3, cutoff=0.6)
    return f"; did you mean {close}?" if close else ""


def _flatten(tree: Any, prefix: str = "") -> list[str]:
    if not isinstance(tree, dict):
        return []
    keys = []
    for name, child in tree.items():
        path = f"{prefix}{name}"
        keys += [path, *_flatten(child, path + ".")]
    return keys
