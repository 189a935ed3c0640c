"""cluster.runner=bare: the suite's own loop in this process, without Ray, on the same trajectory as Ray's.

The GPU check runs it where Ray is not installed and to measure what Ray Train adds; here it must give
the Ray loop's summary (same keys) and losses for the same seed and batches, resume from its own
checkpoints after the process is killed, and run DeepSpeed in a one-process group.
"""

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.test_training import losses, run_training
from tide.config import ConfigError, compose_config
from tide.core.domain import ADAPTER_DIR, TRAIN_SUMMARY_FILE
from tide.train.context import BareWorkerContext
from tide.train.job import TrainingJob

ONE_WORKER = ["cluster.num_workers=1", "cluster.cpus_per_worker=2"]


@pytest.fixture(scope="module")
def bare_run(train_config, tmp_path_factory):
    config = train_config(tmp_path_factory.mktemp("bare"), *ONE_WORKER, "cluster.runner=bare")
    return config, run_training(config)


def test_bare_runner_matches_the_ray_loop_for_the_same_seed_and_batches(ray_local, bare_run, train_config, tmp_path):
    config, bare = bare_run
    ray_summary = run_training(train_config(tmp_path, *ONE_WORKER))
    assert bare["runner"] == "bare" and ray_summary["runner"] == "ray"
    assert set(bare) == set(ray_summary)  # the same summary keys: the GPU check compares them
    assert bare["steps"] == ray_summary["steps"] == 8 and bare["world_size"] == 1
    assert bare["tokens_seen"] == ray_summary["tokens_seen"]  # the same batches
    assert losses(bare) == pytest.approx(losses(ray_summary), rel=1e-4, abs=1e-5)
    assert bare["final_val_loss"] == pytest.approx(ray_summary["final_val_loss"], rel=1e-4)


def test_bare_run_writes_the_run_outputs(bare_run):
    config, summary = bare_run
    written = json.loads((Path(config.run.dir) / TRAIN_SUMMARY_FILE).read_text())
    assert written["status"] == "completed" and written["runner"] == "bare"
    assert (Path(config.run.dir) / ADAPTER_DIR / "adapter_model.safetensors").is_file()
    assert Path(summary["checkpoint"]).name == "checkpoint_000000008"


def test_killed_bare_run_resumes_from_its_checkpoint_on_the_same_trajectory(bare_run, train_config, tmp_path, capfd):
    """A real process dies at step 6 (after the step-4 checkpoint); the same job then resumes at step 4, and
    says so on the console."""
    _, uninterrupted = bare_run
    config = train_config(tmp_path, *ONE_WORKER, "cluster.runner=bare", "train.inject_failure_at_step=6")
    job_file = tmp_path / "job.pkl"
    job_file.write_bytes(pickle.dumps(TrainingJob.from_config(config)))
    script = ("import pickle, sys; from tide.track import TrackedRun; from tide.train.trainer import train; "
              "train(pickle.loads(open(sys.argv[1], 'rb').read()), TrackedRun(None))")
    killed = subprocess.run([sys.executable, "-c", script, str(job_file)], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 1 and "injected failure" in killed.stdout, killed.stderr[-2000:]
    assert "resumed" not in killed.stdout  # a fresh start says nothing of resuming
    assert not (Path(config.run.dir) / TRAIN_SUMMARY_FILE).exists()
    capfd.readouterr()
    summary = run_training(config)
    assert summary["resumed_from_step"] == 4 and summary["steps"] == 8
    assert capfd.readouterr().out.count("resumed from step 4 of 8\n") == 1
    assert losses(summary) == pytest.approx(losses(uninterrupted), rel=1e-4, abs=1e-5)


def test_bare_runner_runs_deepspeed_zero2_in_a_one_process_group(train_config, tmp_path):
    import torch.distributed as dist

    # Twice in one process: DeepSpeed's cached groups from the first run must not break the second.
    for attempt in ("first", "second"):
        summary = run_training(train_config(tmp_path / attempt, *ONE_WORKER, "cluster.runner=bare", "deepspeed=zero2"))
        assert summary["deepspeed_stage"] == 2 and summary["world_size"] == 1 and summary["status"] == "completed"
        assert all(loss == loss for loss in losses(summary))
        assert not dist.is_initialized()  # the group is removed afterwards


def test_bare_runner_refuses_several_workers_in_one_line():
    with pytest.raises(ConfigError) as refused:
        compose_config(["cluster.runner=bare", "cluster.num_workers=2"])
    assert str(refused.value) == "cluster.num_workers: cluster.runner=bare runs one process, got 2"


def test_bare_context_keeps_the_newest_checkpoints(tmp_path):
    import torch

    context = BareWorkerContext(torch.device("cpu"), tmp_path / "ckpt", keep=2)
    for step in (1, 2, 3):
        source = tmp_path / f"s{step}"
        source.mkdir()
        (source / "state.txt").write_text(str(step))
        context.report({"step": step}, str(source))
    kept = [path.name for path in context.checkpoints()]
    assert kept == ["checkpoint_000000002", "checkpoint_000000003"]
    with context.latest_checkpoint().as_directory() as directory:
        assert (Path(directory) / "state.txt").read_text() == "3"
