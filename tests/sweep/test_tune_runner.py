"""The offline runner on a local Ray with fake trial functions: table, errors, early termination, bayes."""

import json
from pathlib import Path

import pandas as pd

from tide.sweep.plan import make_plan
from tide.sweep.results import RESULTS_CSV, RESULTS_PARQUET
from tide.sweep.spec import parse_spec
from tide.sweep.tune_runner import run_offline

LOCAL = {"num_workers": 2, "use_gpu": False, "cpus_per_worker": 0.5, "gpus_per_worker": 0}
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
