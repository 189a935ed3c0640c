"""The Ray run name (where checkpoints live, and so what a rerun resumes) changes with what shapes training."""

import json

from tests.configs import config_under
from tide.train.job import TrainingJob
from tide.train.trainer import ray_run_name


def test_an_artifact_rebuilt_with_other_content_never_resumes_the_old_checkpoints(tmp_path):
    job = TrainingJob.from_config(config_under(tmp_path, "run.name=r"))
    manifest = tmp_path / "artifact" / "manifest.json"
    manifest.parent.mkdir()
    job = TrainingJob(**{**vars(job), "data_dir": str(manifest.parent)})
    manifest.write_text(json.dumps({"fingerprint": "old content"}))
    before = ray_run_name(job)
    assert before.startswith("r-") and ray_run_name(job) == before  # the same config and data: resumed
    manifest.write_text(json.dumps({"fingerprint": "new content"}))  # same path and settings, other source files
    assert ray_run_name(job) != before
