"""Every option of every config group composes with the defaults and resolves (Hydra compose API)."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tide.core.runtime import CONF_DIR

GROUPS = sorted(p.name for p in Path(CONF_DIR).iterdir() if p.is_dir() and p.name != "experiment")
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((Path(CONF_DIR) / group).glob("*.yaml"))]
EXPERIMENTS = sorted(path.stem for path in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


def compose_config(overrides=()):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture(autouse=True)
def outputs(monkeypatch, tmp_path):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))


def test_every_group_has_options():
    assert GROUPS == ["cluster", "data", "deepspeed", "eval", "generate", "logger", "model", "study", "train"]
    assert EXPERIMENTS == ["demo", "paper", "smoke"]


@pytest.mark.parametrize("group,option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_resolves(group, option):
    cfg = compose_config([f"{group}={option}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert set(resolved) >= {"data", "model", "train", "deepspeed", "generate", "eval", "cluster", "logger",
                             "prompt", "paths", "runtime", "seed"}


@pytest.mark.parametrize("group", GROUPS)
def test_options_of_a_group_share_one_schema(group):
    """A key present in one option and missing in another is a bug waiting for the other option."""
    options = [option for g, option in OPTIONS if g == group]
    base = OmegaConf.to_container(compose_config([f"{group}={options[0]}"])[group])
    for option in options[1:]:
        composed = OmegaConf.to_container(compose_config([f"{group}={option}"])[group])
        assert set(composed) == set(base), f"{group}={option}"


def test_defaults_are_the_embedded_offline_setup(tmp_path):
    cfg = OmegaConf.to_container(compose_config(), resolve=True)
    assert cfg["data"]["source"] == "synthetic" and cfg["model"]["name"] == "tiny"
    assert cfg["logger"]["mode"] == "offline" and cfg["runtime"]["offline"] is True
    assert cfg["runtime"]["ray_usage_stats"] is False and cfg["cluster"]["use_gpu"] is False
    assert cfg["data"]["artifact_dir"].startswith(str(tmp_path))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiments_compose(experiment):
    cfg = OmegaConf.to_container(compose_config([f"experiment={experiment}"]), resolve=True)
    if experiment == "smoke":
        assert cfg["model"]["name"] == "tiny" and cfg["data"]["synthetic"]["n_personas"] < 500
        assert 0 < cfg["train"]["max_steps"] <= 100
    elif experiment == "demo":  # the real small model, offline, on CPU; >= 100 paired test dialogues
        assert cfg["model"]["name"] == "smollm2-135m" and cfg["data"]["source"] == "synthetic"
        assert cfg["cluster"]["use_gpu"] is False and cfg["generate"]["limit"] >= 100
    else:
        assert cfg["data"]["source"] == "tide" and cfg["cluster"]["use_gpu"] is True
        assert cfg["train"]["lora"]["r"] == 16 and cfg["deepspeed"]["stage"] == 2


def test_slurm_cluster_puts_everything_on_its_shared_storage(tmp_path):
    cfg = OmegaConf.to_container(compose_config(["cluster=slurm"]), resolve=True)
    slurm = cfg["cluster"]["slurm"]
    assert slurm["storage"] == str(tmp_path) and cfg["cluster"]["storage_path"] == f"{tmp_path}/ray"
    assert slurm["nodes"] >= 2 and slurm["partition"] is None
    assert OmegaConf.to_container(compose_config())["cluster"]["slurm"] is None


def test_unknown_option_is_refused():
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="model"):
        compose_config(["model=gpt5"])
