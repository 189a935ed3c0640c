"""The offline runner on a local Ray with fake trial functions: table, errors, early termination, bayes."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.sweep.plan import make_plan
from tide.sweep.results import RESULTS_CSV, RESULTS_PARQUET
from tide.sweep.spec import parse_spec
from tide.sweep.tune_runner import run_offline

LOCAL = with_options(config_for().cluster, {"num_workers": 2, "use_gpu": False, "cpus_per_worker": 0.5,
                                             "gpus_per_worker": 0})
METRIC = "eval/cosine/mean"


def sweep(tmp_path, parameters, trial_fn, method="grid", **extra):
    raw = {"name": "t", "method": method, "metric": {"name": METRIC, "goal": "maximize"}, "parameters": parameters,
           **extra}
    spec = parse_spec(raw, Path("sweeps/t.yaml"))
    plan = make_plan(spec, [LOCAL], {"CPU": 2, "GPU": 0}, "test")
    frame = run_offline(spec, plan, ["experiment=smoke"], tmp_path / "sweep", str(tmp_path / "ray"),
                        trial_fn=f"tests.sweep.fakes:{trial_fn}", seed=0)
    return frame.set_index("trial")


def markers(trial_dir: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(Path(trial_dir).glob("ran-*"))]


def test_grid_runs_every_trial_with_its_overrides_and_writes_the_table(tmp_path, ray_local):
    frame = sweep(tmp_path, {"train.lora.r": {"values": [4, 8]}, "pipeline.condition": {"values": ["zero_shot"]}},
                  "scored_trial")
    assert sorted(frame["train.lora.r"]) == [4, 8] and set(frame["status"]) == {"completed"}
    assert frame[METRIC].tolist() == [0.08, 0.04]  # best first
    assert (tmp_path / "sweep" / RESULTS_CSV).is_file() and (tmp_path / "sweep" / RESULTS_PARQUET).is_file()
    for key, row in frame.iterrows():
        assert row["overrides"] == f"train.lora.r={row['train.lora.r']} pipeline.condition=zero_shot"
        [marker] = markers(row["run_dir"])
        overrides = marker["overrides"]
        assert overrides["experiment"] == "smoke" and overrides["logger.group"] == "t"
        assert overrides["run.dir"] == row["run_dir"] and overrides["run.name"] == f"t-{key}"
    assert pd.read_parquet(tmp_path / "sweep" / RESULTS_PARQUET)["eval/bleu"].tolist() == [0.1, 0.1]


def test_failed_trial_is_recorded_and_runs_again_while_finished_ones_replay(tmp_path, ray_local):
    parameters = {"train.lora.r": {"values": [4, 8]}}
    first = sweep(tmp_path, parameters, "failing_trial")
    by_rank = first.reset_index().set_index("train.lora.r")
    assert by_rank.loc[4, "status"] == "completed"
    assert by_rank.loc[8, "status"] == "error" and "pipeline exploded for r=8" in by_rank.loc[8, "error"]

    second = sweep(tmp_path, parameters, "scored_trial").reset_index().set_index("train.lora.r")
    assert set(second["status"]) == {"completed"} and second.loc[8, METRIC] == 0.08
    assert len(markers(second.loc[4, "run_dir"])) == 1  # replayed, not run again
    assert len(markers(second.loc[8, "run_dir"])) == 1


def test_early_termination_stops_trials_below_the_rung(tmp_path, ray_local):
    frame = sweep(tmp_path, {"train.lora.r": {"values": [8, 4, 2]}}, "curve_trial",
                  early_terminate={"type": "hyperband", "min_iter": 1, "eta": 2, "max_iter": 27})
    status = frame.set_index("train.lora.r")["status"].to_dict()
    assert status == {8: "completed", 4: "early_stopped", 2: "early_stopped"}
    assert frame.set_index("train.lora.r").loc[4, METRIC] < 0.04  # its last intermediate value


def test_bayes_runs_run_cap_trials_inside_the_space(tmp_path, ray_local):
    frame = sweep(tmp_path, {"train.lora.r": {"values": [4, 8, 16]},
                             "train.learning_rate": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-3}},
                  "scored_trial", method="bayes", run_cap=3)
    assert len(frame) == 3 and set(frame["status"]) == {"completed"}
    assert frame["train.learning_rate"].between(1e-5, 1e-3).all() and set(frame["train.lora.r"]) <= {4, 8, 16}


def pipelines_running(trial_dir: Path) -> list[int]:
    """Process ids whose command line names trial_dir (a pipeline still running there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(trial_dir).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_asha_stops_the_real_pipeline_whose_validation_loss_lags(tmp_path, ray_local):
    """Two real tiny-model trials, one at a time; the learning rate that barely moves the loss is stopped
    at its second validation, while training, and its pipeline process ends with it."""
    from tests.launch.test_data import SMALL

    raw = {"name": "asha", "method": "grid", "metric": {"name": "train/val_loss", "goal": "minimize"},
           "parameters": {"train.learning_rate": {"values": [3e-2, 1e-7]}},
           "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2}}
    spec = parse_spec(raw, Path("sweeps/asha.yaml"))
    plan = make_plan(spec, [with_options(LOCAL, {"num_workers": 1})], {"CPU": 1, "GPU": 0}, "test")  # one at a time
    fixed = [*SMALL, f"paths.outputs={tmp_path / 'outputs'}", "cluster.num_workers=1", "cluster.cpus_per_worker=0.5",
             "train.max_steps=40", "train.eval_every_steps=4", "train.eval_max_batches=1", "train.per_device_batch_size=4",
             "train.gradient_accumulation_steps=1", "train.save_every_steps=1000", "train.warmup_ratio=0",
             "train.lr_scheduler=constant", "generate.limit=4", "generate.sampling.max_new_tokens=4",
             "eval.metrics=[cosine]", "eval.bootstrap_samples=20"]
    frame = run_offline(spec, plan, fixed, tmp_path / "sweep", str(tmp_path / "ray"),
                        trial_fn="tide.sweep.trial:pipeline_trial", seed=0).set_index("train.learning_rate")
    good, bad = frame.loc[3e-2], frame.loc[1e-7]
    assert good["status"] == "completed" and good["train/step"] == 40 and good["eval/cosine/mean"] > 0
    assert bad["status"] == "early_stopped" and bad["train/val_loss"] > good["train/val_loss"]
    assert bad["train/step"] < 40  # its last report: stopped before its last step
    bad_dir = Path(bad["run_dir"])
    assert not (bad_dir / "eval" / "summary.json").exists() and not (bad_dir / "train_summary.json").exists()
    assert pipelines_running(bad_dir) == []
