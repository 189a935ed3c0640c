"""Sweep specs: W&B's format parsed faithfully, bad specs refused with the file and field named."""

from pathlib import Path

import pytest

from tide.core.runtime import PROJECT_ROOT
from tide.sweep.spec import SweepSpecError, load_spec, parse_spec

SHIPPED = sorted((PROJECT_ROOT / "sweeps").glob("*.yaml"))


def spec(parameters, method="random", **extra):
    raw = {"method": method, "metric": {"name": "eval/cosine/mean", "goal": "maximize"}, "parameters": parameters}
    if method != "grid":
        raw["run_cap"] = 5
    return parse_spec({**raw, **extra}, Path("sweeps/test.yaml"))


@pytest.mark.parametrize("body,distribution,fields", [
    ({"value": "smoke"}, "constant", {"value": "smoke"}),
    ({"values": [8, 16]}, "categorical", {"values": (8, 16)}),
    ({"min": 1, "max": 4}, "int_uniform", {"min": 1, "max": 4}),
    ({"min": 0.0, "max": 0.3}, "uniform", {"min": 0.0, "max": 0.3}),
    ({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, "q_uniform", {"q": 0.25}),
    ({"distribution": "log_uniform", "min": -9.2, "max": -4.6}, "log_uniform", {"min": -9.2}),
    ({"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-3}, "log_uniform_values", {"max": 1e-3}),
    ({"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 8}, "q_log_uniform_values", {"q": 8}),
    ({"distribution": "normal", "mu": 0.1, "sigma": 0.02}, "normal", {"mu": 0.1, "sigma": 0.02}),
    ({"distribution": "int_uniform", "min": 2, "max": 3}, "int_uniform", {"q": 1.0}),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_each_parameter_kind_parses_as_wandb_means_it(body, distribution, fields):
    parameter = spec({"train.x": body}).parameters[0]
    assert parameter.distribution == distribution
    for name, value in fields.items():
        assert getattr(parameter, name) == value


def test_grid_points_are_the_cartesian_product_last_key_fastest():
    grid = spec({"model": {"values": ["a", "b"]}, "train.lora.r": {"values": [4, 8]},
                 "train.epochs": {"min": 1, "max": 2}, "seed": {"value": 3}}, method="grid")
    assert grid.num_trials == 8
    points = grid.grid_points()
    assert points[0] == {"model": "a", "train.lora.r": 4, "train.epochs": 1, "seed": 3}
    assert points[1]["train.epochs"] == 2 and points[-1] == {"model": "b", "train.lora.r": 8, "train.epochs": 2,
                                                               "seed": 3}


def test_representative_points_vary_groups_and_cluster_keys_only():
    search = spec({"model": {"values": ["a", "b"]}, "cluster.num_workers": {"values": [1, 2]},
                   "train.lora.r": {"values": [4, 8]},
                   "train.learning_rate": {"distribution": "log_uniform", "min": 0, "max": 1}})
    points = search.representative_points()
    assert [(p["model"], p["cluster.num_workers"]) for p in points] == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert all(p["train.lora.r"] == 4 and p["train.learning_rate"] == pytest.approx(1.0) for p in points)
    assert search.num_trials == 5 and search.mode == "max"


@pytest.mark.parametrize("raw,message", [
    ("not a mapping", "expected a mapping"),
    ({"method": "hyperopt", "metric": {"name": "m"}, "parameters": {"a": {"value": 1}}}, "method: 'hyperopt'"),
    ({"method": "grid", "parameters": {"a": {"value": 1}}}, "metric: expected"),
    ({"method": "grid", "metric": {"name": "m", "goal": "max"}, "parameters": {"a": {"value": 1}}}, "metric.goal"),
    ({"method": "grid", "metric": {"name": "m"}, "parameters": {}}, "parameters: expected a non-empty"),
    ({"method": "grid", "metric": {"name": "m"}, "parameters": {"a": {"value": 1}}, "command": ["x"]},
     "`command`/`program` are not used"),
    ({"method": "grid", "metric": {"name": "m"}, "parameters": {"a": {"value": 1}}, "project": "p"},
     "unknown field(s) ['project']"),
    ({"method": "random", "metric": {"name": "m"}, "parameters": {"a": {"value": 1}}}, "run_cap: method random"),
    ({"method": "grid", "metric": {"name": "m"}, "parameters": {"a": {"value": 1}}, "run_cap": 3},
     "a grid runs every point"),
])
def test_malformed_specs_are_refused(raw, message):
    with pytest.raises(SweepSpecError, match="sweeps/bad.yaml") as error:
        parse_spec(raw, Path("sweeps/bad.yaml"))
    assert message in str(error.value)


@pytest.mark.parametrize("key,body,message", [
    ("train.lr", {"distribution": "beta", "min": 0, "max": 1}, "distribution: 'beta' is not one of"),
    ("train.lr", {"distribution": "uniform", "min": 0}, "needs ['max']"),
    ("train.lr", {"min": 1, "max": 1}, "min < max"),
    ("train.lr", {"distribution": "log_uniform_values", "min": 0, "max": 1}, "needs min > 0"),
    ("train.lr", {"distribution": "int_uniform", "min": 0.5, "max": 2}, "integer min and max"),
    ("train.lr", {"values": []}, "non-empty list"),
    ("train.lr", {"value": 1, "probabilities": [1]}, "unknown field(s) ['probabilities']"),
    ("train", {"parameters": {"lr": {"value": 1}}}, "nested parameters are not supported"),
    ("--train.lr", {"value": 1}, "not a Hydra override key"),
    ("train.lr", {"distribution": "normal", "sigma": 0}, "sigma > 0"),
    ("train.lr", {"whatever": 1}, "unknown field(s) ['whatever']"),
])
def test_malformed_parameters_are_refused_naming_the_parameter(key, body, message):
    with pytest.raises(SweepSpecError, match=f"parameters.{key}") as error:
        spec({key: body})
    assert message in str(error.value)


def test_grid_refuses_continuous_and_bayes_refuses_what_optuna_cannot_sample():
    with pytest.raises(SweepSpecError, match=r"grid needs discrete parameters.*train.lr"):
        spec({"train.lr": {"min": 0.0, "max": 1.0}}, method="grid")
    with pytest.raises(SweepSpecError, match=r"bayes.*\['train.lr'\]"):
        spec({"train.lr": {"distribution": "normal"}}, method="bayes")


def test_early_terminate_is_hyperband_with_min_iter():
    parsed = spec({"a": {"value": 1}}, early_terminate={"type": "hyperband", "min_iter": 2, "eta": 2})
    assert parsed.early_terminate == {"min_iter": 2, "max_iter": None, "eta": 2}
    with pytest.raises(SweepSpecError, match="early_terminate: expected"):
        spec({"a": {"value": 1}}, early_terminate={"type": "envelope"})
    with pytest.raises(SweepSpecError, match="min_iter"):
        spec({"a": {"value": 1}}, early_terminate={"type": "hyperband", "max_iter": 9, "s": 2})


def test_files_not_yaml_or_missing_are_refused(tmp_path):
    with pytest.raises(SweepSpecError, match="no such sweep spec"):
        load_spec(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("method: grid\nparameters: [unclosed\n")
    with pytest.raises(SweepSpecError, match="broken.yaml: not valid YAML"):
        load_spec(broken)


def test_shipped_specs_parse():
    assert [path.stem for path in SHIPPED] == ["demo", "lora_search", "lr_search", "paper", "smoke"]
    specs = {path.stem: load_spec(path) for path in SHIPPED}
    assert specs["paper"].num_trials == 16 and specs["paper"].method == "grid"
    assert {p.key for p in specs["lora_search"].parameters} >= {"train.lora.r", "train.lora.alpha",
                                                                "train.learning_rate", "train.epochs"}
    assert specs["lora_search"].method == "bayes"
    smoke = specs["smoke"]
    assert smoke.parameters[0].key == "experiment" and smoke.parameters[0].value == "smoke"
    lr_search = specs.pop("lr_search")  # early termination ranks on the metric trials report as they train
    assert lr_search.metric == "train/val_loss" and lr_search.goal == "minimize"
    assert specs["demo"].num_trials == 2
    assert all(s.metric == "eval/cosine/mean" and s.goal == "maximize" for s in specs.values())
