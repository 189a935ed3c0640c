"""The generation entry point from the command line: killed mid-run, rerun, complete with no duplicates."""

import os
import signal
import subprocess
import sys
import time

import pytest

from launch.generate import format_summary
from tide.generate.shards import read_rows, shard_paths


def test_format_summary_lists_each_condition():
    summary = {"zero_shot": {"dir": "/runs/x/generations/zero_shot", "rows": 20, "generated": 12, "errors": 1,
                             "finish_reasons": {"length": 19, "error": 1}, "mean_reply_tokens": 5.5,
                             "rows_per_s": 1.25}}
    text = format_summary(summary)
    assert "zero_shot      20    12       1    1.25        5.5  error 1, length 19" in text
    assert "zero_shot: /runs/x/generations/zero_shot" in text


@pytest.mark.slow
def test_command_killed_after_a_shard_then_rerun_is_complete(tmp_path, data_artifact, synthetic_dir,
                                                            tiny_varied_model_dir):
    run_dir = tmp_path / "run"
    # The data stage runs first (it reuses or rebuilds the artifact from data.dir); model.tokenizer=null: the
    # model directory is used as it is, not built from the data.
    args = [sys.executable, "-m", "launch.generate", "data=tide", f"data.dir={synthetic_dir}",
            f"data.artifact_dir={data_artifact}", "data.split.stratify_on=[]", f"model.path={tiny_varied_model_dir}",
            "model.tokenizer=null", f"run.dir={run_dir}", "pipeline.condition=zero_shot", "logger=none",
            "generate.concurrency=1", "generate.batch_size=2", "generate.shard_rows=2",
            "generate.sampling.max_new_tokens=16"]
    env = {**os.environ, "TIDE_OUTPUTS": str(tmp_path)}
    out_dir = run_dir / "generations" / "zero_shot"
    job = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           start_new_session=True)
    deadline = time.monotonic() + 240
    while not shard_paths(out_dir) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)  # the job and the Ray it started
    job.wait()
    killed_with = len(read_rows(out_dir))
    assert 0 < killed_with < 20

    done = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = read_rows(out_dir)
    assert len(rows) == 20 and rows["dialogue_id"].is_unique
    assert f"zero_shot      20{20 - killed_with:>6}" in done.stdout
