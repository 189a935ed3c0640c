"""The data stage's summary: token lengths are computed once per artifact, model and prompt, not per trial."""

import tide.data.lengths
from tests.launch.test_data import config as small_config
from tide.stages.data import DataStage


def config(outputs, model_dir, *overrides):
    # A real (not tiny-built) model: a model directory given by path, with no tokenizer to train.
    return small_config(outputs, f"model.path={model_dir}", "model.tokenizer=null", *overrides)


def summary(config) -> dict:
    from tide.stages.data import prepare_data

    stage = DataStage.from_config(config)
    return prepare_data(stage.data, stage.model, stage.prompt, stage.tiny_model())


def test_token_lengths_are_reused_until_the_model_or_prompt_changes(tmp_path, tiny_model_dir, monkeypatch):
    calls = []
    real = tide.data.lengths.token_length_percentiles
    monkeypatch.setattr(tide.data.lengths, "token_length_percentiles",
                        lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))

    first = summary(config(tmp_path, tiny_model_dir))
    assert len(calls) == 1 and first["model"]["source"] == str(tiny_model_dir)
    again = summary(config(tmp_path, tiny_model_dir))
    assert len(calls) == 1 and again["manifest"]["reused"]  # the same artifact, model and prompt: reused
    assert again["tokens"] == first["tokens"] and again["model"] == first["model"]

    shorter = summary(config(tmp_path, tiny_model_dir, "prompt.max_length=64"))
    assert len(calls) == 2  # another prompt setting: the lengths (and the over-length count) are recomputed
    assert shorter["lengths_key"]["prompt"]["max_length"] == 64
