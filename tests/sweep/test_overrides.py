"""Parameters as Hydra overrides (what Hydra parses back), and keys checked against the config tree."""

from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from tide.core.runtime import PROJECT_ROOT
from tide.sweep.overrides import compose_points, hydra_value, to_overrides
from tide.sweep.spec import SweepSpecError, load_spec, parse_spec

PARSER = OverridesParser.create()


def parsed_value(override: str):
    return PARSER.parse_override(override).value()


@pytest.mark.parametrize("value", [
    8, -3, 0.0002, 1e-05, 2.5e-4, True, False, None, "qwen2_5_1_5b", "zero_shot", "/data/TIDE",
    "with space", "it's", "true", "1e-3", "null", [4, 8], ["q_proj", "v_proj"], {"a": 1},
])
def test_hydra_parses_each_value_back(value):
    assert parsed_value(f"key={hydra_value(value)}") == value


def test_overrides_have_no_leading_dashes_like_args_no_hyphens():
    assert to_overrides({"model": "tiny", "train.lora.r": 8}) == ["model=tiny", "train.lora.r=8"]


def test_wandb_agent_formatting_means_the_same_to_hydra():
    """Online, W&B's agent writes `${args_no_hyphens}` itself: Hydra must read the same values from both."""
    from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

    params = {"train.learning_rate": 0.00031, "train.lora.r": 16, "model": "qwen2_5_0_5b", "flag": True,
              "train.lora.target_modules": ["q_proj", "v_proj"]}
    agent = create_sweep_command_args({"args": {k: {"value": v} for k, v in params.items()}})["args_no_hyphens"]
    ours = to_overrides(params)
    assert [parsed_value(o) for o in agent] == [parsed_value(o) for o in ours] == list(params.values())


def test_shipped_specs_compose_for_every_trial(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))
    paper = load_spec(PROJECT_ROOT / "sweeps" / "paper.yaml")
    configs = compose_points(paper, paper.grid_points())
    assert len(configs) == 16
    assert len({c.model.name for c in configs}) == 8
    assert {c.pipeline.condition for c in configs} == {"zero_shot", "finetuned"}
    assert all(c.cluster.num_workers == 2 and c.data.source == "tide" for c in configs)
    smoke = load_spec(PROJECT_ROOT / "sweeps" / "smoke.yaml")
    smoke_configs = compose_points(smoke, smoke.grid_points())
    assert [c.pipeline.condition for c in smoke_configs] == ["zero_shot", "finetuned"]
    assert all(c.model.name == "tiny" and c.train.max_steps > 0 for c in smoke_configs)
    lora = load_spec(PROJECT_ROOT / "sweeps" / "lora_search.yaml")
    assert compose_points(lora, lora.representative_points()[:2])[0].model.name == "qwen2.5-1.5b"


def spec(parameters):
    return parse_spec({"method": "grid", "metric": {"name": "m", "goal": "maximize"}, "parameters": parameters},
                      Path("sweeps/mine.yaml"))


def test_unknown_key_is_refused_before_anything_runs_with_a_suggestion():
    with pytest.raises(SweepSpecError) as error:
        compose_points(spec({"train.lora.rank": {"values": [4]}}), [{"train.lora.rank": 4}])
    message = str(error.value)
    assert "sweeps/mine.yaml: parameters.train.lora.rank: no such key in the config tree" in message
    assert "train.lora.r" in message  # the suggestion


def test_key_missing_under_one_group_choice_is_refused():
    """train=full has no LoRA section: sweeping train.lora.r with it would fail mid-sweep."""
    bad = spec({"train": {"values": ["lora", "full"]}, "train.lora.r": {"values": [8]}})
    with pytest.raises(SweepSpecError, match=r"train.lora.r: no such key.*train=full"):
        compose_points(bad, bad.grid_points())


def test_group_choice_must_be_a_file_in_its_group():
    with pytest.raises(SweepSpecError, match=r"parameters.model: 'gpt5' is not a file in conf/model/; choose from"):
        compose_points(spec({"model": {"values": ["tiny", "gpt5"]}}), [])
    with pytest.raises(SweepSpecError, match="is a config group"):
        compose_points(parse_spec({"method": "random", "run_cap": 2, "metric": {"name": "m"},
                                   "parameters": {"model": {"min": 1, "max": 3}}}), [])


def test_command_line_overrides_apply_to_every_point_and_may_not_clash():
    configs = compose_points(spec({"train.lora.r": {"values": [4, 8]}}), [{"train.lora.r": 4}, {"train.lora.r": 8}],
                             ["cluster.num_workers=1", "model=qwen2_5_0_5b"])
    assert [(c.train.lora.r, c.cluster.num_workers, c.model.name) for c in configs] == [
        (4, 1, "qwen2.5-0.5b"), (8, 1, "qwen2.5-0.5b")]
    with pytest.raises(SweepSpecError, match=r"\['train.lora.r'\] set both"):
        compose_points(spec({"train.lora.r": {"values": [4]}}), [{"train.lora.r": 4}], ["train.lora.r=2"])
    with pytest.raises(SweepSpecError, match=r"\['run.dir'\] are set by the sweep for each trial"):
        compose_points(spec({"train.lora.r": {"values": [4]}}), [{"train.lora.r": 4}], ["run.dir=/tmp/x"])
    with pytest.raises(SweepSpecError, match="does not compose"):
        compose_points(spec({"train.lora.r": {"values": [4]}}), [{"train.lora.r": 4}], ["train.lora.rank=2"])


def test_a_value_the_config_refuses_is_refused_before_anything_runs():
    """Each trial's config is built as typed slices: a bound or a choice fails at planning, naming the trial."""
    with pytest.raises(SweepSpecError, match=r"the trial train.lora.r=0 has a bad option: train.lora.r: must be >= 1"):
        compose_points(spec({"train.lora.r": {"values": [4, 0]}}), [{"train.lora.r": 4}, {"train.lora.r": 0}])
    with pytest.raises(SweepSpecError, match=r"pipeline.condition: expected one of"):
        compose_points(spec({"pipeline.condition": {"values": ["few_shot"]}}), [{"pipeline.condition": "few_shot"}])
