import os

import pytest

from tide.core.runtime import PROJECT_ROOT, apply_runtime_env, resolve_path


@pytest.fixture(autouse=True)
def private_environ(monkeypatch):
    """apply_runtime_env writes os.environ: keep that from leaking into other tests."""
    monkeypatch.setattr(os, "environ", os.environ.copy())


def test_embedded_default_is_offline():
    os.environ.update(HF_HUB_OFFLINE="0", WANDB_MODE="online", RAY_USAGE_STATS_ENABLED="1")
    apply_runtime_env()
    assert os.environ["HF_HUB_OFFLINE"] == os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0" and os.environ["WANDB_MODE"] == "offline"


def test_cluster_configuration_turns_the_network_on():
    apply_runtime_env(offline=False, ray_usage_stats=True, wandb_mode="online")
    assert os.environ["HF_HUB_OFFLINE"] == "0" and os.environ["WANDB_MODE"] == "online"
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "1"


def test_relative_paths_are_taken_from_the_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_path("outputs") == PROJECT_ROOT / "outputs"
    assert resolve_path(tmp_path / "x") == tmp_path / "x"
