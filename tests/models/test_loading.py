import json
import shutil
import socket
from pathlib import Path

import pytest
import torch

from tests.configs import config_for
from tide.config import with_options
from tide.models.loading import ModelNotAvailableError, load_model, load_tokenizer, resolve_model_source
from tide.models.tiny import build_tiny_model

ARCH = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
        "tie_word_embeddings": True}
TOKENIZER = {"vocab_size": 400, "min_frequency": 2}


def preset(stem, **overrides):
    """The composed model slice of conf/model/<stem>.yaml, with `overrides` replaced."""
    model = config_for(f"model={stem}").model
    return with_options(model, overrides, path="model") if overrides else model


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    texts = [f"<|im_start|>user\nhow are you today, friend number {i}?<|im_end|>\n" for i in range(200)]
    tokenizer = with_options(preset("tiny").tokenizer, TOKENIZER)
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny", texts, ARCH, tokenizer)


@pytest.fixture
def offline_empty_cache(tmp_path, monkeypatch):
    """An empty HF cache, the Hub switched off, and any network connection an error."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def no_network(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return tmp_path / "hf" / "hub"


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelNotAvailableError, match="nowhere") as err:
        resolve_model_source(preset("qwen2_5_0_5b", path=str(missing)))
    assert "make demo" not in str(err.value)


def test_missing_tiny_says_how_to_build_it(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="make demo") as err:
        resolve_model_source(preset("tiny", path=str(tmp_path / "models" / "tiny")))
    assert str(tmp_path / "models" / "tiny") in str(err.value)
    assert "python -m launch.data" in str(err.value)


def test_neither_path_nor_hf_id():
    with pytest.raises(ModelNotAvailableError, match="neither"):
        resolve_model_source(preset("tiny", path=None))


@pytest.mark.parametrize("stem", ["qwen2_5_0_5b", "llama3_2_1b"])
def test_uncached_preset_offline_says_how_to_download(stem, offline_empty_cache):
    cfg = preset(stem)
    with pytest.raises(ModelNotAvailableError) as err:
        load_model(cfg)
    message = str(err.value)
    assert cfg.hf_id in message and cfg.name in message
    assert f"huggingface-cli download {cfg.hf_id}" in message
    assert "HF_TOKEN" in message and "model.path=" in message


def test_tiny_loads_by_path(tiny_dir):
    cfg = preset("tiny", path=str(tiny_dir))
    assert resolve_model_source(cfg) == str(tiny_dir)
    tokenizer = load_tokenizer(cfg)
    model = load_model(cfg, dtype="bfloat16")
    assert tokenizer.eos_token == "<|im_end|>"
    assert next(model.parameters()).dtype == torch.bfloat16
    assert model.config.vocab_size == len(tokenizer)


def _fake_cache_entry(hub: Path, hf_id: str, files: Path) -> Path:
    """The Hub cache layout (refs/main -> snapshots/<commit>/...) holding a copy of `files`."""
    repo = hub / ("models--" + hf_id.replace("/", "--"))
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    shutil.copytree(files, snapshot)
    return snapshot


def test_cached_preset_loads_offline(tiny_dir, offline_empty_cache):
    cfg = preset("qwen2_5_0_5b")
    snapshot = _fake_cache_entry(offline_empty_cache, cfg.hf_id, tiny_dir)
    assert resolve_model_source(cfg) == str(snapshot)
    assert load_model(cfg).config.vocab_size == len(load_tokenizer(cfg))


def test_partially_downloaded_shards_are_missing(tiny_dir, offline_empty_cache):
    cfg = preset("qwen2_5_0_5b")
    snapshot = _fake_cache_entry(offline_empty_cache, cfg.hf_id, tiny_dir)
    index = {"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                            "b": "model-00002-of-00002.safetensors"}}
    (snapshot / "model.safetensors.index.json").write_text(json.dumps(index))
    (snapshot / "model.safetensors").rename(snapshot / "model-00001-of-00002.safetensors")
    with pytest.raises(ModelNotAvailableError, match="huggingface-cli download"):
        resolve_model_source(cfg)
