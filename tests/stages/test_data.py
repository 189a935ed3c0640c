"""The data stage's summary: token lengths are computed once per artifact, model and prompt, not per trial."""

from pathlib import Path

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


def snapshot(*directories) -> dict:
    return {str(path): path.read_bytes() for directory in directories for path in sorted(Path(directory).rglob("*"))
            if path.is_file()}


def test_a_data_command_with_another_split_seed_leaves_the_shared_artifact_and_tiny_model_whole(tmp_path):
    """`launch.data run.name=seed7 data.split.seed=7` beside a finished run: its own artifact and tiny model; the
    shared ones (and so the finished run's data stage) untouched, where they were rewritten in place before."""
    from tide.stages import build_stages, pending, run_pipeline
    from tide.stages.pipeline import pipeline_config

    first = small_config(tmp_path, "run.name=a")
    run_pipeline(first, target="data")
    before = snapshot(first.data.artifact_dir, first.model.path)
    other = small_config(tmp_path, "run.name=seed7", "data.split.seed=7")
    result = run_pipeline(other, target="data")
    assert result["stages"]["data"].startswith("built ")
    assert other.data.artifact_dir != first.data.artifact_dir and other.model.path != first.model.path
    assert snapshot(first.data.artifact_dir, first.model.path) == before
    assert pending(build_stages(pipeline_config(first)), first.run.dir)[:1] == ["train"]  # its data still complete


def test_a_tiny_model_rebuilt_in_place_makes_the_data_stage_and_what_follows_stale(tmp_path):
    """A config pointed at the same tiny model path with another build (e.g. changed by with_options, not
    composed again): the run that used the old build no longer counts its data stage complete."""
    from tide.config import with_options
    from tide.stages import build_stages, pending, read_record, run_pipeline
    from tide.stages.pipeline import pipeline_config

    first = small_config(tmp_path, "run.name=a")
    run_pipeline(first, target="data")
    made = read_record(first.run.dir, "data")["made"]
    assert made.endswith(read_record(first.run.dir, "data")["result"]["tiny_model_build"])
    other = with_options(small_config(tmp_path, "run.name=b"), {"seed": 3})  # same model.path, another seed
    run_pipeline(other, target="data")
    assert pending(build_stages(pipeline_config(first), target="data"), first.run.dir) == ["data"]
    run_pipeline(first, target="data")  # rebuilt as this run had it: what it made is the same again
    assert read_record(first.run.dir, "data")["made"] == made
