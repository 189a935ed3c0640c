"""Building frozen dataclasses from plain mappings, checking each option against its type and bounds.

A field's type is its annotation; a bound or a choice is declared next to it with `option(...)`. The
first problem found raises `ConfigError` whose one-line message names the option by its dotted path
(`train.learning_rate: must be > 0, got -1`). Nothing here knows the suite's config groups.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union

__all__ = ["ConfigError", "option", "build", "plain", "with_options"]


class ConfigError(ValueError):
    """A configuration option is missing, unknown, of the wrong type or out of bounds; the message names it."""


def option(*, gt=None, ge=None, lt=None, le=None, choices=None, default=dataclasses.MISSING, check=None):
    """A dataclass field with bounds (`gt`, `ge`, `lt`, `le`), allowed `choices`, or a `check(value) -> str | None`."""
    metadata = {key: value for key, value in
                {"gt": gt, "ge": ge, "lt": lt, "le": le, "choices": choices, "check": check}.items() if value is not None}
    return dataclasses.field(default=default, metadata=metadata)


def build(cls, values, path: str = ""):
    """An instance of dataclass `cls` from a mapping (nested dataclasses from nested mappings)."""
    if dataclasses.is_dataclass(values) and isinstance(values, cls):
        return values
    if not isinstance(values, typing.Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping of options, got {_shown(values)}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{_join(path, unknown[0])}: unknown option (known: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        where = _join(path, name)
        if name not in values:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{where}: missing option")
            continue
        value = _coerce(hints[name], values[name], where)
        _check_bounds(field.metadata, value, where)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:  # a cross-field rule in __post_init__: "option: what is wrong"
        raise ConfigError(_join(path, str(error)) if path else f"{cls.__name__}: {error}") from None


def plain(value):
    """Plain JSON-safe values (dicts, lists, scalars) from dataclasses and tuples, for records and W&B."""
    if dataclasses.is_dataclass(value):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, typing.Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def with_options(instance, options: typing.Mapping[str, Any], path: str = ""):
    """A copy of a dataclass instance with dotted options replaced, checked as at the launch boundary.

        with_options(config, {"train.max_steps": 3, "cluster.num_workers": 1})
        with_options(config.train, {"lora.r": 8}, path="train")   # `path` only names options in errors
    """
    values = plain(instance)
    for dotted, value in options.items():
        node, keys = values, dotted.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                raise ConfigError(f"{_join(path, dotted)}: {_join(path, key)} is not a group of options")
            node = node[key]
        node[keys[-1]] = plain(value)
    return build(type(instance), values, path)


def _coerce(hint, value, where: str):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where}: must be set, got null")
        options = [arg for arg in args if arg is not type(None)]
        errors = []
        for arg in options:
            try:
                return _coerce(arg, value, where)
            except ConfigError as error:
                errors.append(error)
        raise errors[0]
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {_shown(value)}")
        return tuple(_coerce(args[0], item, f"{where}[{index}]") for index, item in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, typing.Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {_shown(value)}")
        return dict(value)
    return _scalar(hint, value, where)


def _scalar(hint, value, where: str):
    if value is None:
        raise ConfigError(f"{where}: must be set, got null")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value  # an int stays an int: records and fingerprints keep the YAML's own spelling
        if isinstance(value, str):  # YAML reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{where}: unsupported annotation {hint!r}")
    raise ConfigError(f"{where}: expected {hint.__name__}, got {_shown(value)}")


def _check_bounds(metadata, value, where: str) -> None:
    if value is None:
        return
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if "choices" in metadata and item not in metadata["choices"]:
            raise ConfigError(f"{where}: expected one of {list(metadata['choices'])}, got {_shown(item)}")
    for key, test, words in (("gt", lambda a, b: a > b, ">"), ("ge", lambda a, b: a >= b, ">="),
                             ("lt", lambda a, b: a < b, "<"), ("le", lambda a, b: a <= b, "<=")):
        if key in metadata and not test(value, metadata[key]):
            raise ConfigError(f"{where}: must be {words} {metadata[key]}, got {_shown(value)}")
    if "check" in metadata:
        problem = metadata["check"](value)
        if problem:
            raise ConfigError(f"{where}: {problem}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)
