"""Sweep specs in W&B's sweep format whose parameter names are Hydra override keys.

    name: lora-search                         # optional; default: the file name
    method: bayes                             # grid | random | bayes
    metric: {name: eval/cosine/mean, goal: maximize}
    run_cap: 12                               # random / bayes: how many trials (a grid runs every point)
    parameters:
      experiment: {value: smoke}              # a constant (a config group choice here)
      model: {values: [tiny, qwen2_5_0_5b]}   # categorical
      train.lora.r: {values: [8, 16, 32]}
      train.learning_rate: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3}
      train.epochs: {distribution: int_uniform, min: 1, max: 3}
    early_terminate: {type: hyperband, min_iter: 2, eta: 3}

There is no `command`: the runner supplies the entry point and hands the parameters to it as
`key=value` overrides (W&B's `${args_no_hyphens}`), so one spec means one search online and offline.
As in W&B, a parameter without `distribution` is `constant` (value), `categorical` (values),
`int_uniform` (integer min/max) or `uniform` (float min/max).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

METHODS = ("grid", "random", "bayes")
GOALS = ("maximize", "minimize")
# Each distribution and the fields it needs; `q`, `mu`, `sigma` have W&B's defaults.
DISTRIBUTIONS = {
    "constant": ("value",),
    "categorical": ("values",),
    "int_uniform": ("min", "max"),
    "uniform": ("min", "max"),
    "q_uniform": ("min", "max"),
    "log_uniform": ("min", "max"),             # min/max are natural-log exponents, as in W&B
    "log_uniform_values": ("min", "max"),
    "q_log_uniform_values": ("min", "max"),
    "normal": (),
}
OPTIONAL_FIELDS = {"q": 1.0, "mu": 0.0, "sigma": 1.0}
PARAMETER_FIELDS = {"distribution", "value", "values", "min", "max", *OPTIONAL_FIELDS}
TOP_LEVEL_FIELDS = {"name", "description", "method", "metric", "parameters", "run_cap", "early_terminate"}
DISCRETE = ("constant", "categorical", "int_uniform")
# Optuna (the offline Bayesian searcher) cannot sample these faithfully.
NOT_BAYESIAN = ("normal", "q_log_uniform_values")
# A Hydra override key: dotted names, no leading dashes or `+`.
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class SweepSpecError(ValueError):
    """A sweep spec that cannot run; the message names the file and the field."""


@dataclass(frozen=True)
class Parameter:
    key: str
    distribution: str
    value: Any = None
    values: tuple = ()
    min: float | None = None
    max: float | None = None
    q: float = 1.0
    mu: float = 0.0
    sigma: float = 1.0

    @property
    def discrete(self) -> bool:
        return self.distribution in DISCRETE

    def choices(self) -> list:
        """Every value of a discrete parameter, in order."""
        if self.distribution == "constant":
            return [self.value]
        if self.distribution == "categorical":
            return list(self.values)
        if self.distribution == "int_uniform":
            return list(range(int(self.min), int(self.max) + 1))
        raise ValueError(f"{self.key} is continuous ({self.distribution})")

    def describe(self) -> str:
        if self.distribution == "constant":
            return repr(self.value)
        if self.distribution == "categorical":
            return f"one of {list(self.values)}"
        if self.distribution == "normal":
            return f"normal(mu={self.mu}, sigma={self.sigma})"
        step = f", q={self.q}" if self.distribution.startswith("q_") else ""
        return f"{self.distribution}[{self.min}, {self.max}{step}]"


@dataclass(frozen=True)
class SweepSpec:
    name: str
    path: Path | None
    method: str
    metric: str
    goal: str
    parameters: tuple[Parameter, ...]
    run_cap: int | None = None
    early_terminate: dict | None = None      # {min_iter, max_iter, eta}
    raw: dict = field(default_factory=dict, repr=False)   # the file as written, for W&B

    @property
    def mode(self) -> str:
        return "max" if self.goal == "maximize" else "min"

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    @property
    def num_trials(self) -> int:
        if self.method == "grid":
            return math.prod(len(p.choices()) for p in self.parameters)
        return self.run_cap

    def grid_points(self) -> list[dict]:
        """Every trial of a grid, in W&B's order (the last parameter varies fastest)."""
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*(p.choices() for p in self.parameters))]

    def representative_points(self) -> list[dict]:
        """Points enough to check every key and size every trial: a grid's trials; otherwise every
        combination of the choices that can change the config's shape or a trial's resources (top-level
        keys, i.e. config groups, and cluster.*), the other parameters at their first value."""
        if self.method == "grid":
            return self.grid_points()
        varying = [p for p in self.parameters if p.discrete and ("." not in p.key or p.key.startswith("cluster."))]
        first = {p.key: _first_value(p) for p in self.parameters}
        return [{**first, **dict(zip([p.key for p in varying], combo))}
                for combo in itertools.product(*(p.choices() for p in varying))]


def _first_value(parameter: Parameter):
    if parameter.discrete:
        return parameter.choices()[0]
    if parameter.distribution == "normal":
        return parameter.mu
    return math.exp(parameter.min) if parameter.distribution == "log_uniform" else parameter.min


def load_spec(path: str | Path) -> SweepSpec:
    path = Path(path)
    if not path.is_file():
        raise SweepSpecError(f"{path}: no such sweep spec")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SweepSpecError(f"{path}: not valid YAML: {error}") from error
    return parse_spec(raw, path)


def parse_spec(raw: Any, path: Path | None = None) -> SweepSpec:
    where = str(path) if path else "sweep spec"

    def fail(message: str):
        raise SweepSpecError(f"{where}: {message}")

    if not isinstance(raw, dict):
        fail("expected a mapping with method, metric and parameters")
    if "command" in raw or "program" in raw:
        fail("`command`/`program` are not used: the runner runs launch.pipeline with the parameters as "
             "Hydra overrides (W&B's ${args_no_hyphens}); remove them")
    unknown = sorted(set(raw) - TOP_LEVEL_FIELDS)
    if unknown:
        fail(f"unknown field(s) {unknown}; expected some of {sorted(TOP_LEVEL_FIELDS)}")

    method = raw.get("method")
    if method not in METHODS:
        fail(f"method: {method!r} is not one of {list(METHODS)}")

    metric = raw.get("metric")
    if not isinstance(metric, dict) or not isinstance(metric.get("name"), str) or not metric["name"]:
        fail("metric: expected {name: <metric>, goal: maximize|minimize} (the results table is ranked by it)")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        fail(f"metric.goal: {goal!r} is not one of {list(GOALS)}")
    unknown = sorted(set(metric) - {"name", "goal", "target"})
    if unknown:
        fail(f"metric: unknown field(s) {unknown}")

    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        fail("parameters: expected a non-empty mapping of Hydra override keys")
    parsed = tuple(_parse_parameter(key, body, fail) for key, body in parameters.items())

    run_cap = raw.get("run_cap")
    if method == "grid":
        if run_cap is not None:
            fail("run_cap: a grid runs every point; drop run_cap or use method random/bayes")
        continuous = [p.key for p in parsed if not p.discrete]
        if continuous:
            fail(f"method grid needs discrete parameters (value, values, int_uniform); continuous: {continuous}")
    elif not isinstance(run_cap, int) or isinstance(run_cap, bool) or run_cap < 1:
        fail(f"run_cap: method {method} needs a positive integer number of trials, got {run_cap!r}")
    if method == "bayes":
        unsupported = [p.key for p in parsed if p.distribution in NOT_BAYESIAN]
        if unsupported:
            fail(f"method bayes: the Bayesian searcher (Optuna) cannot sample {list(NOT_BAYESIAN)}; "
                 f"change {unsupported} (e.g. to log_uniform_values)")

    early_terminate = _parse_early_terminate(raw.get("early_terminate"), fail)
    name = raw.get("name") or (path.stem if path else "sweep")
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
        fail(f"name: {name!r} must be letters, digits, '.', '_' or '-' (it names directories)")
    return SweepSpec(name=name, path=path, method=method, metric=metric["name"], goal=goal, parameters=parsed,
                     run_cap=run_cap, early_terminate=early_terminate, raw=raw)


def _parse_parameter(key: Any, body: Any, fail) -> Parameter:
    where = f"parameters.{key}"
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        fail(f"{where}: {key!r} is not a Hydra override key (dotted names, no leading '-' or '+')")
    if not isinstance(body, dict):
        fail(f"{where}: expected a mapping such as {{values: [...]}} or {{value: ...}}")
    if "parameters" in body:
        fail(f"{where}: nested parameters are not supported; write the dotted key (e.g. {key}.child)")
    unknown = sorted(set(body) - PARAMETER_FIELDS)
    if unknown:
        fail(f"{where}: unknown field(s) {unknown}; expected some of {sorted(PARAMETER_FIELDS)}")

    distribution = body.get("distribution") or _infer_distribution(body)
    if distribution not in DISTRIBUTIONS:
        fail(f"{where}.distribution: {distribution!r} is not one of {sorted(DISTRIBUTIONS)}")
    missing = [name for name in DISTRIBUTIONS[distribution] if name not in body]
    if missing:
        fail(f"{where}: distribution {distribution} needs {missing}")
    fields = {name: body.get(name, default) for name, default in OPTIONAL_FIELDS.items()}

    if distribution == "constant":
        return Parameter(key, distribution, value=body["value"], **fields)
    if distribution == "categorical":
        values = body["values"]
        if not isinstance(values, list) or not values:
            fail(f"{where}.values: expected a non-empty list")
        return Parameter(key, distribution, values=tuple(values), **fields)
    if distribution == "normal":
        if not _is_number(fields["mu"]) or not _is_number(fields["sigma"]) or fields["sigma"] <= 0:
            fail(f"{where}: normal needs numbers mu and sigma > 0")
        return Parameter(key, distribution, **fields)

    low, high = body["min"], body["max"]
    if not (_is_number(low) and _is_number(high)) or low >= high:
        fail(f"{where}: min and max must be numbers with min < max, got {low!r}, {high!r}")
    if distribution == "int_uniform" and not (isinstance(low, int) and isinstance(high, int)):
        fail(f"{where}: int_uniform needs integer min and max")
    if distribution.endswith("log_uniform_values") and low <= 0:
        fail(f"{where}: {distribution} needs min > 0")
    if not _is_number(fields["q"]) or fields["q"] <= 0:
        fail(f"{where}.q: expected a positive number")
    return Parameter(key, distribution, min=low, max=high, **fields)


def _infer_distribution(body: dict) -> str | None:
    if "value" in body:
        return "constant"
    if "values" in body:
        return "categorical"
    if "min" in body and "max" in body:
        ints = all(isinstance(body[k], int) and not isinstance(body[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_early_terminate(body: Any, fail) -> dict | None:
    if body is None:
        return None
    if not isinstance(body, dict) or body.get("type") != "hyperband":
        fail("early_terminate: expected {type: hyperband, min_iter: N, eta: 3}")
    unknown = sorted(set(body) - {"type", "min_iter", "max_iter", "eta"})
    if unknown:
        fail(f"early_terminate: unknown field(s) {unknown} (min_iter, max_iter, eta are supported)")
    min_iter, eta, max_iter = body.get("min_iter"), body.get("eta", 3), body.get("max_iter")
    if not isinstance(min_iter, int) or min_iter < 1:
        fail("early_terminate.min_iter: expected a positive integer (reports before a trial can be stopped)")
    if not isinstance(eta, (int, float)) or eta <= 1:
        fail("early_terminate.eta: expected a number > 1")
    if max_iter is not None and (not isinstance(max_iter, int) or max_iter <= min_iter):
        fail("early_terminate.max_iter: expected an integer > min_iter")
    return {"min_iter": min_iter, "max_iter": max_iter, "eta": eta}
