import random
from collections import Counter

import pytest

from tests.configs import config_for
from tide.config import ConfigError, SplitConfig, with_options
from tide.config.fields import build
from tide.data.split import age_group, assign_splits

FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
TRAUMAS = ["combat", "car accident", "assault", "natural disaster", "medical trauma"]


def split(seed: int, stratify_on=(), **fractions) -> SplitConfig:
    """data.split as composed, with these fractions (default FRACTIONS), seed and stratification."""
    options = {**FRACTIONS, **fractions, "seed": seed, "stratify_on": list(stratify_on)}
    return with_options(config_for().data.split, options, path="data.split")


def personas(n=500, seed=0):
    rng = random.Random(seed)
    return {str(i): {"age": rng.randint(18, 80), "trauma_type": rng.choice(TRAUMAS)} for i in range(1, n + 1)}


def test_every_persona_in_exactly_one_split_with_target_fractions():
    people = personas()
    assignment = assign_splits(people, split(42, ["trauma_type", "age_group"]))
    assert set(assignment) == set(people)
    counts = Counter(assignment.values())
    assert counts == {"train": 400, "val": 50, "test": 50}


def test_split_is_stratified_on_persona_attributes():
    people = personas()
    assignment = assign_splits(people, split(42, ["trauma_type"]))
    for trauma in TRAUMAS:
        members = [pid for pid, p in people.items() if p["trauma_type"] == trauma]
        share = Counter(assignment[pid] for pid in members)["train"] / len(members)
        assert share == pytest.approx(0.8, abs=0.03), trauma


def test_same_seed_same_split_other_seed_differs():
    people = personas()
    first = assign_splits(people, split(7, ["trauma_type", "age_group"]))
    again = assign_splits(dict(reversed(list(people.items()))), split(7, ["trauma_type", "age_group"]))
    other = assign_splits(people, split(8, ["trauma_type", "age_group"]))
    assert first == again and first != other


def test_unknown_stratify_attribute_warns_and_tiny_strata_are_pooled():
    people = personas(30)
    with pytest.warns(UserWarning, match="no persona carries \\['religion'\\]"):
        assignment = assign_splits(people, split(1, ["religion", "age_group", "trauma_type"]))
    assert Counter(assignment.values()) == {"train": 24, "val": 3, "test": 3}


@pytest.mark.parametrize("fractions, problem", [
    ({"train": 0.8, "val": 0.1, "test": 0.2}, "data.split.test: train \\+ val \\+ test must sum to 1"),
    ({"train": -0.1, "val": 1.1}, "data.split.train: must be >= 0"),
])
def test_bad_fractions_are_refused(fractions, problem):
    """SplitConfig refuses them where the config is built (ConfigError is a ValueError), before any split."""
    with pytest.raises(ValueError, match=problem):
        split(0, **fractions)


def test_missing_fractions_are_refused():
    with pytest.raises(ConfigError, match="data.split.train: missing option"):
        build(SplitConfig, {}, "data.split")


def test_age_groups():
    assert [age_group(a) for a in (18, 29, 30, 59, 60, 80, None)] == [
        "18-29", "18-29", "30-44", "45-59", "60+", "60+", None]
