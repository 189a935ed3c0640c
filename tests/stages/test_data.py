"""The data stage's summary: token lengths are computed once per artifact, model and prompt, not per trial."""

import os

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import tide.data.lengths
from tests.launch.test_data import SMALL
from tide.core.runtime import CONF_DIR
from tide.stages.data import prepare_data


def config(outputs, model_dir, *overrides) -> dict:
    os.environ["TIDE_OUTPUTS"] = str(outputs)
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            # A real (not tiny-built) model: a model directory given by path, with no tokenizer to train.
            composed = compose("config", overrides=[*SMALL, f"model.path={model_dir}", "model.tokenizer=null",
                                                    *overrides])
            return OmegaConf.to_container(composed, resolve=True)
    finally:
        del os.environ["TIDE_OUTPUTS"]


def test_token_lengths_are_reused_until_the_model_or_prompt_changes(tmp_path, tiny_model_dir, monkeypatch):
    calls = []
    real = tide.data.lengths.token_length_percentiles
    monkeypatch.setattr(tide.data.lengths, "token_length_percentiles",
                        lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))

    first = prepare_data(config(tmp_path, tiny_model_dir))
    assert len(calls) == 1 and first["model"]["source"] == str(tiny_model_dir)
    again = prepare_data(config(tmp_path, tiny_model_dir))
    assert len(calls) == 1 and again["manifest"]["reused"]  # the same artifact, model and prompt: reused
    assert again["tokens"] == first["tokens"] and again["model"] == first["model"]

    shorter = prepare_data(config(tmp_path, tiny_model_dir, "prompt.max_length=64"))
    assert len(calls) == 2  # another prompt setting: the lengths (and the over-length count) are recomputed
    assert shorter["lengths_key"]["prompt"]["max_length"] == 64
