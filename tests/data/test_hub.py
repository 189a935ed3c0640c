"""The Hub path: real snapshot_download calls, checked without the network."""

import pytest

from tests.configs import config_for
from tide.config import HubConfig, with_options
from tide.data import hub
from tide.data.hub import HubAccessError, fetch_tide_snapshot
from tide.data.reader import read_tide


def hub_config(cache_dir, **options) -> HubConfig:
    """data.hub of conf/data/tide.yaml (yenopoya/TIDE at main, token in HF_TOKEN) with a test cache."""
    return with_options(config_for("data=tide").data.hub, {"cache_dir": str(cache_dir), **options}, path="data.hub")


def test_online_without_token_says_how_to_get_access(monkeypatch, tmp_path):
    monkeypatch.delenv("MY_TOKEN", raising=False)
    with pytest.raises(HubAccessError, match="gated.*accept its terms.*environment variable MY_TOKEN"):
        fetch_tide_snapshot(hub_config(tmp_path, token_env="MY_TOKEN"), offline=False)


def test_offline_without_a_snapshot_is_a_clear_error(tmp_path, no_network):
    with pytest.raises(HubAccessError, match="no local snapshot of yenopoya/TIDE .* offline"):
        fetch_tide_snapshot(hub_config(tmp_path), offline=True)


def test_token_comes_from_the_environment_and_the_snapshot_reads(monkeypatch, tmp_path, write_persona):
    """snapshot_download gets the token from the named variable; the directory it returns is read."""
    snapshot = tmp_path / "datasets--yenopoya--TIDE" / "snapshots" / "abc123"
    (snapshot / ".gitattributes").parent.mkdir(parents=True)
    (snapshot / ".gitattributes").write_text("*.json filter=lfs\n")
    write_persona(snapshot, "1", {"age": 40, "trauma_type": "combat"},
                  [{"person": "I keep reliving it.", "chatbot": "That sounds exhausting."}], layout="nested")
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(snapshot)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setenv("TIDE_TEST_TOKEN", "hf_secret_value")
    path = fetch_tide_snapshot(hub_config(tmp_path / "cache", revision="v1", token_env="TIDE_TEST_TOKEN"),
                               offline=False)
    assert calls == [("yenopoya/TIDE", {"repo_type": "dataset", "revision": "v1", "cache_dir": str(tmp_path / "cache"),
                                        "token": "hf_secret_value", "local_files_only": False})]
    records = read_tide(path).records
    assert [r["dialogue_id"] for r in records] == ["1-1"]


def test_hub_page_is_named_in_errors():
    assert hub.TIDE_PAGE.format(repo_id="yenopoya/TIDE") == "https://huggingface.co/datasets/yenopoya/TIDE"
