"""`python -m launch.sweep`: the plan, refusals before anything runs, and an interrupted sweep resuming."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

import tide.sweep.plan
from launch.errors import run_command
from launch.sweep import main
from tide.core.runtime import PROJECT_ROOT

SMOKE = str(PROJECT_ROOT / "sweeps" / "smoke.yaml")


def sweep_command(argv: list[str]) -> int:
    """`python -m launch.sweep ARGV` in this process: main inside the error boundary."""
    return run_command("launch.sweep", main, argv)


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setattr(tide.sweep.plan, "local_resources", lambda: {"CPU": 2.0, "GPU": 0.0})
    return tmp_path / "outputs"


def test_dry_run_prints_the_plan_and_runs_nothing(outputs, capsys):
    assert main([SMOKE, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "Sweep smoke (grid, maximize eval/cosine/mean): 2 trial(s)" in printed
    assert "per trial: 1.5 CPU, 0 GPU" in printed and "1 trial(s) at a time" in printed
    assert "2. experiment=smoke cluster.cpus_per_worker=0.5 pipeline.condition=finetuned" in printed
    assert not outputs.exists()


def test_options_may_sit_among_the_overrides():
    from launch.sweep import parse_args

    args = parse_args([SMOKE, "--dry-run", "cluster=slurm", "--trial-fn", "m:f", "seed=3"])
    assert args.dry_run and args.trial_fn == "m:f" and args.overrides == ["cluster=slurm", "seed=3"]


def test_a_plan_that_cannot_fit_is_refused(outputs, capsys):
    assert sweep_command([str(PROJECT_ROOT / "sweeps" / "paper.yaml"), "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert "a trial needs 8.5 CPU, 2 GPU" in error and "cluster has 2 CPU and 0 GPU" in error
    assert not outputs.exists()


def test_unknown_key_is_refused_before_anything_runs(outputs, tmp_path, capsys):
    spec = tmp_path / "typo.yaml"
    spec.write_text("method: grid\nmetric: {name: m, goal: maximize}\nparameters:\n  train.lora.rr: {values: [4]}\n")
    assert sweep_command([str(spec)]) == 2
    error = capsys.readouterr().err
    assert f"{spec}: parameters.train.lora.rr: no such key in the config tree" in error
    assert not outputs.exists()


def test_online_without_a_key_is_refused_before_anything_runs(outputs, monkeypatch, capsys):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert sweep_command([SMOKE, "logger.mode=online"]) == 2
    assert "logger.mode=online needs WANDB_API_KEY in the environment" in capsys.readouterr().err
    assert not (outputs / "sweeps").exists()


SECRETS = {"WANDB_API_KEY": "wandb-secret-5f1e0c9a7b", "HF_TOKEN": "hf_secret_83b1d2c4e5",
           "RAY_AUTH_TOKEN": "ray-secret-0d9c8b7a6f5e4d3c"}


@pytest.fixture
def ray_tmp():
    """Ray's session directory, short enough for its socket paths (107 bytes at most)."""
    path = Path(tempfile.mkdtemp(prefix="tide-sweep-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def saved_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file() and not p.is_socket()]


def assert_no_secret(files: list[Path], *logs: str) -> None:
    for path in files:
        content = path.read_bytes()
        assert not any(value.encode() in content for value in SECRETS.values()), path
    assert not any(value in log for log in logs for value in SECRETS.values())


def test_sweep_writes_its_table_and_w_and_b_run_and_saves_no_secret(outputs, ray_local, monkeypatch, capsys):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert main([SMOKE, "--trial-fn", "tests.sweep.fakes:scored_trial"]) == 0
    printed = capsys.readouterr()
    assert "Sweep smoke: 2 trial(s), best first by eval/cosine/mean" in printed.out
    table = pd.read_csv(outputs / "sweeps" / "smoke" / "results.csv")
    assert len(table) == 2 and set(table["status"]) == {"completed"}
    assert (outputs / "sweeps" / "smoke" / "spec.yaml").read_text() == Path(SMOKE).read_text()
    assert list((outputs / "wandb").rglob("*.wandb"))  # the sweep's offline W&B run, with the table
    assert_no_secret(saved_files(outputs), printed.out, printed.err)


# Four trials, one at a time on 2 cores (0.5 CPU driver + 2 x 0.5 CPU workers), in grid order.
RESUME_SPEC = """name: resume
method: grid
metric: {name: eval/cosine/mean, goal: maximize}
parameters:
  cluster.cpus_per_worker: {value: 0.5}
  train.lora.r: {values: [2, 4, 8, 16]}
"""


def resume_sweep(spec: Path, outputs: Path, ray_tmp: Path, seconds_per_trial: str) -> subprocess.Popen:
    """`python -m launch.sweep` as a user runs it; scored_trial writes a ran-* marker, then sleeps."""
    env = {**os.environ, **SECRETS, "TIDE_OUTPUTS": str(outputs), "FAKE_TRIAL_SECONDS": seconds_per_trial,
           "RAY_TMPDIR": str(ray_tmp)}
    for name in ("RAY_AUTH_MODE", "RAY_ADDRESS"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-m", "launch.sweep", str(spec), "--trial-fn", "tests.sweep.fakes:scored_trial"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def snapshot(run_dir: Path) -> dict:
    """Every file of a run directory: modification time and content."""
    return {str(p.relative_to(run_dir)): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(run_dir.rglob("*"))
            if p.is_file()}


def ran(run_dir: Path) -> int:
    return len(list(run_dir.glob("ran-*")))


def stop_leftovers(family: list) -> None:
    """The driver's Ray processes (its local cluster and workers) that outlived it, by process id."""
    import psutil

    for member in family:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=20)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_sweep_interrupted_during_its_second_trial_resumes_where_it_stopped(tmp_path, ray_tmp, stop):
    """Real processes: the driver is interrupted while the second of four trials runs, then rerun."""
    import psutil

    spec, outputs = tmp_path / "resume.yaml", tmp_path / "outputs"
    spec.write_text(RESUME_SPEC)
    sweep_dir = outputs / "sweeps" / "resume"
    first = resume_sweep(spec, outputs, ray_tmp, seconds_per_trial="6")  # the margin to kill trial 2 in
    deadline, family = time.monotonic() + 180, []
    try:
        # The second trial is running: its marker exists; the first trial's row is in the table.
        while len(list(sweep_dir.glob("trials/*/ran-*"))) < 2 or not (sweep_dir / "results.csv").is_file():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0]
            time.sleep(0.2)
        family = psutil.Process(first.pid).children(recursive=True)
        first.send_signal(stop)
        first_log, _ = first.communicate(timeout=120)
    finally:
        first.kill()
        stop_leftovers(family)
    before = pd.read_csv(sweep_dir / "results.csv")
    done = before[before["status"] == "completed"]
    assert len(done) == 1, first_log
    [finished_dir] = [Path(d) for d in done["run_dir"]]
    untouched = snapshot(finished_dir)
    [interrupted_dir] = [d for d in (sweep_dir / "trials").iterdir() if d != finished_dir]
    assert ran(interrupted_dir) == 1
    # Ctrl-C lets the driver mark the running trial; SIGKILL leaves no chance to write anything.
    interrupted = before[before["run_dir"] == str(interrupted_dir)]
    assert list(interrupted["status"]) == (["interrupted"] if stop == signal.SIGINT else []), first_log

    second = resume_sweep(spec, outputs, ray_tmp, seconds_per_trial="0")
    second_log, _ = second.communicate(timeout=300)
    assert second.returncode == 0, second_log
    assert "resuming: 1 finished trial(s)" in second_log
    table = pd.read_csv(sweep_dir / "results.csv")
    assert sorted(table["train.lora.r"]) == [2, 4, 8, 16] and table["trial"].is_unique  # one row per trial
    assert set(table["status"]) == {"completed"}, table
    def row_of(frame):  # the finished trial's filled cells (other rows may add columns)
        return frame[frame["trial"].isin(done["trial"])].dropna(axis=1, how="all").reset_index(drop=True)

    pd.testing.assert_frame_equal(row_of(table), row_of(before))  # the finished trial's row, unchanged
    assert snapshot(finished_dir) == untouched  # not rerun: nothing in its run directory changed
    assert ran(interrupted_dir) == 2  # the interrupted trial ran again
    assert all(ran(Path(d)) == 1 for d in table["run_dir"] if Path(d) not in (finished_dir, interrupted_dir))

    # The secrets reached the trials' environment, yet no saved file or log holds their values.
    marker = next(finished_dir.glob("ran-*")).read_text()
    assert all(name in marker for name in SECRETS)
    assert_no_secret(saved_files(outputs, ray_tmp), first_log, second_log)
