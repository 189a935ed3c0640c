"""The online sweep: what is registered with W&B and what its agents run (no W&B server here)."""

import sys
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from tests.configs import config_for
from tide.config import with_options
from tide.core.runtime import PROJECT_ROOT
from tide.sweep import wandb_agents
from tide.sweep.spec import load_spec
from tide.sweep.wandb_agents import (OnlineSweepError, agent_command, online_overrides, register_sweep,
                                     require_api_key, wandb_sweep_config)

SMOKE = load_spec(PROJECT_ROOT / "sweeps" / "smoke.yaml")


def test_registered_spec_is_the_file_plus_a_hydra_command_without_dashes():
    fixed = online_overrides(SMOKE, ["logger.mode=online"])
    config = wandb_sweep_config(SMOKE, fixed)
    assert config["command"] == ["${env}", "${interpreter}", "-m", "launch.pipeline", "logger.mode=online",
                                 "logger.group=smoke", "run.name=smoke-${oc.env:WANDB_RUN_ID}", "${args_no_hyphens}"]
    assert {k: v for k, v in config.items() if k != "command"} == {**SMOKE.raw, "name": "smoke"}
    assert not any(part.startswith("-") for part in config["command"][3:])


def test_fixed_overrides_parse_and_name_each_run_after_its_w_and_b_id():
    parser = OverridesParser.create()
    overrides = parser.parse_overrides(online_overrides(SMOKE, ["cluster=single_node_gpu"]))
    assert [o.key_or_group for o in overrides] == ["cluster", "logger.group", "run.name"]
    assert overrides[-1].value() == "smoke-${oc.env:WANDB_RUN_ID}"  # resolved by Hydra in each agent run


def test_agents_run_wandb_agent_with_this_interpreter():
    assert agent_command("team/tide/abc123") == [sys.executable, "-m", "wandb", "agent", "team/tide/abc123"]


def test_refuses_without_a_key(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with pytest.raises(OnlineSweepError, match="needs WANDB_API_KEY in the environment"):
        require_api_key()
    with pytest.raises(OnlineSweepError):
        wandb_agents.run_online(SMOKE, None, [], config_for().logger, Path("unused"), "unused")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    require_api_key()


def test_an_interrupted_online_sweep_reuses_its_w_and_b_sweep(tmp_path, monkeypatch):
    import wandb

    (tmp_path / wandb_agents.SWEEP_ID_FILE).write_text("team/tide/abc123\n")
    monkeypatch.setattr(wandb, "sweep", lambda *a, **k: pytest.fail("registered a second sweep"))
    logger = with_options(config_for().logger, {"project": "tide", "entity": "team"})
    assert register_sweep(SMOKE, [], logger, tmp_path) == "team/tide/abc123"
