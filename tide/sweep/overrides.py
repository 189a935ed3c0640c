"""Sweep parameters as Hydra overrides, and a check that every key exists in the config tree.

An override is `key=value` with no leading dashes, as W&B's `${args_no_hyphens}` writes it, so the
offline runner and a W&B agent hand the Hydra entry point the same thing. Keys are checked before
anything runs by composing conf/ with Hydra's compose API: a config group (`model`, `experiment`, ...)
must name a file in conf/<group>/, any other key must exist in the composed tree, and each trial's
config must build as typed slices (tide/config: types, bounds, choices). Also here: where a sweep and
its trials live (`sweep_directory`, `trial_directory`) and the keys the runner sets per trial (`runner_options`).
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Callable

from tide.config import ConfigError, TideConfig, build_config
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


def sweep_directory(outputs: str | Path, name: str) -> Path:
    """Where a sweep keeps its table, spec and trials: <paths.outputs>/sweeps/<name>."""
    return Path(outputs) / "sweeps" / name


def trial_directory(sweep: str | Path, key: str) -> Path:
    """A trial's run directory (its run.dir) inside its sweep's directory."""
    return Path(sweep) / "trials" / key


def runner_options(name: str, sweep: str | Path, key: str) -> dict:
    """The PER_TRIAL_KEYS the offline runner sets for a trial: its own run directory, its name, the sweep's group."""
    return {"run.dir": str(trial_directory(sweep, key)), "run.name": f"{name}-{key}", "logger.group": name}


def compose_points(spec: SweepSpec, points: list[dict], extra_overrides: list[str] = (),
                   conf_dir: Path = CONF_DIR, trial_options: Callable[[dict], dict] | None = None) -> list[TideConfig]:
    """The typed config of each point (its trial's config), refusing unknown keys, unknown group choices,
    keys set both by the spec and on the command line, and values the config does not accept.

    `trial_options(point)` gives options the runner sets for that point's trial besides its parameters
    (`runner_options`); they are set before interpolations resolve, so ${run.dir}/eval follows run.dir.
    """
    from omegaconf import OmegaConf, open_dict

    where = str(spec.path) if spec.path else "sweep spec"
    groups = _checked_groups(spec, extra_overrides, conf_dir, where)
    configs = []
    for point, cfg in zip(points, _point_trees(spec, points, extra_overrides, conf_dir, groups, where)):
        options = {k: point[k] for k in spec.keys if k not in groups}
        options.update(trial_options(point) if trial_options else {})
        with open_dict(cfg):
            for key, value in options.items():
                OmegaConf.update(cfg, key, value, merge=False)
        try:
            configs.append(build_config(OmegaConf.to_container(cfg, resolve=True)))
        except ConfigError as error:
            raise SweepSpecError(f"{where}: the trial {' '.join(to_overrides(point))} has a bad option: "
                                 f"{error}") from None
    check_every_value(spec, configs[0], [key for key in spec.keys if key not in groups], where)
    return configs


def check_every_value(spec: SweepSpec, config: TideConfig, keys: list[str], where: str) -> None:
    """Each value the spec's `keys` can take, against its option's type and bounds in the typed config (in
    `config`, a trial's, the other parameters at their values there): every value of a categorical, both ends
    of a range. The representative trials hold only some of them, and a value of the wrong type
    (`values: [fast]`) failed inside a running trial without naming the key."""
    from tide.config import with_options

    for parameter in (p for p in spec.parameters if p.key in keys):
        for value in parameter_values(parameter):
            try:
                with_options(config, {parameter.key: value})
            except ConfigError as error:
                raise SweepSpecError(f"{where}: parameters.{parameter.key}: the value {value!r} is refused: "
                                     f"{error}") from None


def parameter_values(parameter) -> list:
    """The values that stand for all a parameter can take: a discrete one's each, a range's two ends
    (log_uniform's in value space), a normal's mean."""
    import math

    if parameter.distribution in ("constant", "categorical"):
        return parameter.choices()
    if parameter.distribution == "normal":
        return [parameter.mu]
    if parameter.distribution == "log_uniform":
        return [math.exp(parameter.min), math.exp(parameter.max)]
    return [parameter.min, parameter.max]


def _checked_groups(spec: SweepSpec, extra_overrides, conf_dir: Path, where: str) -> list[str]:
    """The spec's keys that are config groups, once the spec's keys and the command line's are checked."""
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
    return groups


def _point_trees(spec: SweepSpec, points: list[dict], extra_overrides, conf_dir: Path, groups: list[str],
                 where: str) -> list:
    """Each point's composed tree (its own copy), with its group choices applied."""
    from hydra import initialize_config_dir

    trees, composed = [], {}
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        for point in points:
            group_overrides = to_overrides({k: point[k] for k in groups})
            if tuple(group_overrides) not in composed:  # composing is the slow part: once per group choice
                composed[tuple(group_overrides)] = _compose_checked(spec, extra_overrides, group_overrides,
                                                                     groups, where)
            trees.append(copy.deepcopy(composed[tuple(group_overrides)]))
    return trees


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
