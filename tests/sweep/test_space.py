"""Each W&B parameter kind becomes the Ray Tune domain with the same meaning; bayes and ASHA are wired."""

import math
from pathlib import Path

import numpy as np
import pytest
from ray import tune
from ray.tune.search import sample

from tide.sweep.space import tune_domain, tune_scheduler, tune_search_space, tune_searcher
from tide.sweep.spec import parse_spec


def spec(parameters, method="random", **extra):
    raw = {"method": method, "metric": {"name": "eval/cosine/mean", "goal": "maximize"}, "parameters": parameters}
    if method != "grid":
        raw["run_cap"] = 4
    return parse_spec({**raw, **extra}, Path("sweeps/test.yaml"))


def draw(domain, n=400):
    return domain.sample(size=n, random_state=np.random.default_rng(0))


def parameter(body):
    return spec({"train.x": body}).parameters[0]


def test_constant_stays_a_plain_value():
    assert tune_domain(parameter({"value": "smoke"})) == "smoke"


def test_categorical_is_choice_over_the_values():
    domain = tune_domain(parameter({"values": [8, 16, 32]}))
    assert isinstance(domain, sample.Categorical) and set(draw(domain)) == {8, 16, 32}


def test_int_uniform_includes_max():
    domain = tune_domain(parameter({"min": 1, "max": 3}))
    assert isinstance(domain, sample.Integer) and set(draw(domain)) == {1, 2, 3}


def test_uniform_stays_in_bounds():
    values = draw(tune_domain(parameter({"min": 0.1, "max": 0.3})))
    assert 0.1 <= min(values) and max(values) <= 0.3 and max(values) - min(values) > 0.15


def test_q_uniform_is_quantized():
    values = draw(tune_domain(parameter({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25})))
    assert set(values) <= {0.0, 0.25, 0.5, 0.75, 1.0} and len(set(values)) >= 4


def test_log_uniform_bounds_are_exponents():
    domain = tune_domain(parameter({"distribution": "log_uniform", "min": math.log(1e-4), "max": math.log(1e-2)}))
    assert isinstance(domain.get_sampler(), sample.LogUniform)
    assert domain.lower == pytest.approx(1e-4) and domain.upper == pytest.approx(1e-2)


def test_log_uniform_values_is_loguniform_on_the_values():
    values = np.array(draw(tune_domain(parameter({"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}))))
    assert 1e-5 <= values.min() and values.max() <= 1e-1
    # Log-uniform: about half the draws fall below the geometric midpoint 1e-3.
    assert 0.4 < (values < 1e-3).mean() < 0.6


def test_q_log_uniform_values_is_quantized_loguniform():
    values = draw(tune_domain(parameter({"distribution": "q_log_uniform_values", "min": 8, "max": 256, "q": 8})))
    assert all(v % 8 == 0 and 8 <= v <= 256 for v in values)


def test_normal_has_mu_and_sigma():
    values = np.array(draw(tune_domain(parameter({"distribution": "normal", "mu": 5.0, "sigma": 0.5})), n=2000))
    assert values.mean() == pytest.approx(5.0, abs=0.05) and values.std() == pytest.approx(0.5, abs=0.05)


def test_grid_is_a_grid_search_per_parameter_and_int_uniform_is_enumerated():
    space = tune_search_space(spec({"model": {"values": ["a", "b"]}, "train.epochs": {"min": 1, "max": 3},
                                    "seed": {"value": 1}}, method="grid"))
    assert space == {"model": tune.grid_search(["a", "b"]), "train.epochs": tune.grid_search([1, 2, 3]), "seed": 1}


def test_bayes_is_optuna_over_the_same_space():
    from ray.tune.search.optuna import OptunaSearch

    bayes = spec({"train.lora.r": {"values": [8, 16]}, "train.learning_rate": {
        "distribution": "log_uniform_values", "min": 1e-5, "max": 1e-3}, "train.epochs": {"min": 1, "max": 3}},
        method="bayes")
    searcher = tune_searcher(bayes, seed=0, max_concurrent=2)
    assert isinstance(searcher.searcher, OptunaSearch) and searcher.max_concurrent == 2
    assert searcher.set_search_properties(bayes.metric, bayes.mode, tune_search_space(bayes))
    for trial in range(6):
        config = searcher.suggest(f"t{trial}")
        assert config["train.lora.r"] in (8, 16) and 1e-5 <= config["train.learning_rate"] <= 1e-3
        assert config["train.epochs"] in (1, 2, 3)
        if trial % 2:  # two at a time: the third waits until one finishes
            assert searcher.suggest("waiting") is None
            for done in (trial - 1, trial):
                searcher.on_trial_complete(f"t{done}", {bayes.metric: config["train.lora.r"] / 100})


def test_early_terminate_is_asha_on_reported_iterations():
    stopped = set()
    scheduler = tune_scheduler(spec({"a": {"value": 1}}, early_terminate={"type": "hyperband", "min_iter": 2,
                                                                           "eta": 3, "max_iter": 27}), stopped)
    assert scheduler._time_attr == "training_iteration" and scheduler._reduction_factor == 3
    assert scheduler._max_t == 27 and [milestone for milestone, _ in scheduler._brackets[0]._rungs] == [18, 6, 2]
    assert tune_scheduler(spec({"a": {"value": 1}})) is None
