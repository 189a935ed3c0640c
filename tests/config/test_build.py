"""The typed slices are built from every shipped config, and a bad value of any group is refused in one
line naming the option (tide/config)."""

from pathlib import Path

import pytest

from tide.config import ConfigError, TideConfig, compose_config, compose_mapping, to_plain
from tide.core.runtime import CONF_DIR, PROJECT_ROOT
from tide.sweep.overrides import hydra_value
from tide.sweep.spec import load_spec

GROUPS = sorted(p.name for p in Path(CONF_DIR).iterdir() if p.is_dir())
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((Path(CONF_DIR) / group).glob("*.yaml"))]
SWEEPS = sorted((PROJECT_ROOT / "sweeps").glob("*.yaml"))


@pytest.fixture(autouse=True)
def outputs(monkeypatch, tmp_path):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))


@pytest.mark.parametrize("group,option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_group_option_and_experiment_builds(group, option):
    config = compose_config([f"{group}={option}"])
    assert isinstance(config, TideConfig)
    assert to_plain(config) == compose_mapping([f"{group}={option}"])  # the slices hold exactly the YAML's values


def sweep_points(spec) -> list[list[str]]:
    """Each value of every parameter (each choice; a distribution's bounds), the others at their first value."""
    first = {p.key: p.choices()[0] if p.discrete else p.min for p in spec.parameters}
    points = []
    for parameter in spec.parameters:
        values = parameter.choices() if parameter.discrete else [parameter.min, parameter.max]
        for value in values:
            points.append([f"{key}={hydra_value(v)}" for key, v in {**first, parameter.key: value}.items()])
    return points


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_every_sweep_parameter_value_builds(path):
    points = sweep_points(load_spec(path))
    assert points
    for overrides in points:
        assert isinstance(compose_config(overrides), TideConfig), overrides


BAD = {  # one bad value per group, and the one line that refuses it
    "data": ("data.split.test=0.5", "data.split.test: train + val + test must sum to 1, got 1.4"),
    "model": ("model.params_b=0", "model.params_b: must be > 0, got 0"),
    "train": ("train.learning_rate=-1", "train.learning_rate: must be > 0, got -1"),
    "deepspeed": ("deepspeed.stage=4", "deepspeed.stage: expected one of [0, 1, 2, 3], got 4"),
    "generate": ("generate.sampling.top_p=1.5", "generate.sampling.top_p: must be <= 1, got 1.5"),
    "eval": ("eval.metrics=[cosine,vibes]", "eval.metrics: expected one of ['cosine', 'bertscore', 'rouge_l', 'bleu', "
                                            "'chrf', 'meteor', 'distinct', 'length_ratio'], got 'vibes'"),
    "cluster": ("cluster.num_workers=0", "cluster.num_workers: must be >= 1, got 0"),
    "logger": ("logger.mode=loud", "logger.mode: expected one of ['offline', 'online', 'disabled'], got 'loud'"),
    "prompt": ("prompt.max_length=abc", "prompt.max_length: expected int, got 'abc'"),
    "run": ("run.name=null", "run.name: must be set, got null"),
    "pipeline": ("pipeline.condition=few_shot", "pipeline.condition: expected one of ['zero_shot', 'finetuned'], "
                                                "got 'few_shot'"),
    "report": ("report.bootstrap_samples=0", "report.bootstrap_samples: must be >= 1, got 0"),
    "runtime": ("runtime.offline=maybe", "runtime.offline: expected bool, got 'maybe'"),
    "paths": ("+paths.scratch=/tmp", "paths.scratch: unknown option (known: outputs)"),
    "seed": ("seed=1.5", "seed: expected int, got 1.5"),
    "study": ("study.ratings_per_item=20", "study.ratings_per_item: 20 ratings need as many raters, got raters=12"),
}


@pytest.mark.parametrize("group", sorted(BAD))
def test_a_bad_value_of_each_group_is_refused_in_one_line_naming_the_option(group):
    override, message = BAD[group]
    with pytest.raises(ConfigError) as refused:
        compose_config([override])
    assert str(refused.value) == message and "\n" not in str(refused.value)


def test_every_group_of_the_tree_has_a_bad_value_case():
    assert set(BAD) == set(TideConfig.__dataclass_fields__)


SLURM_BAD = {  # the Slurm slice (conf/cluster/slurm.yaml) nests in the cluster group
    "cluster.slurm.nodes=0": "cluster.slurm.nodes: must be >= 1, got 0",
    "cluster.slurm.time_limit=4h": "cluster.slurm.time_limit: expected Slurm's time format (minutes, HH:MM:SS, "
                                   "D-HH:MM:SS), got '4h'",
}


@pytest.mark.parametrize("override", sorted(SLURM_BAD))
def test_a_bad_slurm_value_is_refused_in_one_line(override):
    with pytest.raises(ConfigError) as refused:
        compose_config(["cluster=slurm", override])
    assert str(refused.value) == SLURM_BAD[override]


def test_cross_field_rules_name_the_option():
    cases = {"deepspeed.offload_param=true": "deepspeed.offload_param: needs stage=3",
             "train.epochs=0": "train.epochs: 0 with max_steps=-1: nothing to train",
             "generate.conditions=[zero_shot,zero_shot]": "generate.conditions: name distinct conditions"}
    for override, message in cases.items():
        with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[")):
            compose_config([override])
