"""The default trial: the pipeline as a subprocess, its progress reported, its eval summary as metrics."""

import pytest

import tide.sweep.trial as trial
from tide.sweep.trial import ProgressReader, TrialFailed, final_metrics, flatten, load_trial_fn, pipeline_trial


@pytest.fixture
def fake_pipeline(monkeypatch):
    monkeypatch.setattr(trial, "PIPELINE_MODULE", "tests.sweep.fake_pipeline")
    monkeypatch.setattr(trial, "POLL_SECONDS", 0.05)


def test_pipeline_trial_reports_progress_and_returns_the_eval_summary(tmp_path, fake_pipeline):
    reports = []
    metrics = pipeline_trial([f"run.dir={tmp_path}", "pipeline.condition=finetuned"], tmp_path, reports.append)
    assert metrics["eval/cosine/mean"] == 0.6 and metrics["eval/cosine/ci_low"] == pytest.approx(0.5)
    assert metrics["eval/zero_shot/cosine"] == 0.4 and metrics["eval/finetuned/bleu"] == 12.0
    assert metrics["eval/gain/cosine"] == 0.2 and metrics["eval/rows"] == 40
    assert all(isinstance(v, (int, float)) for v in metrics.values())
    assert metrics["train/step"] == 2 and metrics["train/loss"] == 0.5  # the last progress line comes along
    assert reports == [{"train/loss": 1.0, "train/step": 1}, {"train/loss": 0.5, "train/step": 2}]  # text skipped
    assert "fake pipeline in" in (tmp_path / "pipeline.log").read_text()


def test_a_zero_shot_run_ranks_on_its_zero_shot_means(tmp_path, fake_pipeline):
    metrics = pipeline_trial([f"run.dir={tmp_path}", "pipeline.condition=zero_shot"], tmp_path, lambda m: None)
    assert metrics["eval/cosine/mean"] == 0.4 and "eval/gain/cosine" not in metrics


def test_a_failed_pipeline_fails_the_trial_with_its_log_tail(tmp_path, fake_pipeline):
    with pytest.raises(TrialFailed, match=r"(?s)exited with 3.*the stage failed"):
        pipeline_trial([f"run.dir={tmp_path}", "pipeline.condition=broken"], tmp_path, lambda metrics: None)


def test_a_summary_without_a_complete_evaluate_stage_is_no_result(tmp_path, fake_pipeline):
    """The metrics come through the evaluate stage's record: a summary file alone (or a record whose
    summary is gone) fails the trial."""
    pipeline_trial([f"run.dir={tmp_path}", "pipeline.condition=finetuned"], tmp_path, lambda m: None)
    assert final_metrics(tmp_path)["eval/cosine/mean"] == 0.6
    (tmp_path / "stages" / "evaluate.json").unlink()
    assert (tmp_path / "eval" / "summary.json").is_file()
    with pytest.raises(TrialFailed, match="without an evaluation summary"):
        final_metrics(tmp_path)


def test_progress_lines_are_reported_once_and_only_when_complete(tmp_path):
    path = tmp_path / "progress.jsonl"
    reader, seen = ProgressReader(path), []
    reader.report_new(seen.append)  # no file yet
    path.write_text('{"a": 1}\n{"a": 2')
    reader.report_new(seen.append)
    with open(path, "a") as handle:
        handle.write("}\n")
    reader.report_new(seen.append)
    reader.report_new(seen.append)
    assert seen == [{"a": 1}, {"a": 2}]


def test_flatten_joins_nested_keys_and_keeps_numbers():
    assert flatten({"a": {"b": 1, "c": "x", "d": {"e": 2.5}}, "f": True}, "eval/") == {"eval/a/b": 1, "eval/a/d/e": 2.5}


def test_trial_functions_load_by_name():
    assert load_trial_fn("tide.sweep.trial:pipeline_trial") is pipeline_trial
    with pytest.raises(ValueError, match="expected 'package.module:function'"):
        load_trial_fn("pipeline_trial")
    with pytest.raises(ValueError, match="has no function 'nope'"):
        load_trial_fn("tide.sweep.trial:nope")
