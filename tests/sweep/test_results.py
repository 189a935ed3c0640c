"""The results table: one row per trial, atomic CSV + Parquet, read back as the sweep's ledger."""

import pandas as pd

from tide.sweep.results import RESULTS_CSV, RESULTS_PARQUET, ResultsTable, trial_key


def test_trial_key_depends_on_the_override_set_not_its_order():
    assert trial_key({"a": 1, "b": "x"}) == trial_key({"b": "x", "a": 1})
    assert trial_key({"a": 1, "b": "x"}) != trial_key({"a": 2, "b": "x"})
    assert trial_key({"a": 1}) != trial_key({"a": "1"})  # 1 and '1' are different overrides


def row(key, status, score, r):
    return {"trial": key, "status": status, "m": score, "train.lora.r": r, "eval/bleu": 0.1,
            "overrides": f"train.lora.r={r}", "run_dir": f"/runs/{key}", "duration_s": 1.0, "error": None}


def test_rows_are_written_ranked_and_read_back(tmp_path):
    table = ResultsTable(tmp_path, ["train.lora.r"], "m")
    table.record(row("a", "completed", 0.2, 4))
    table.record(row("b", "completed", 0.5, 8))
    table.record(row("c", "error", None, "auto"))  # a choice of another type: the column becomes text
    frame = pd.read_csv(tmp_path / RESULTS_CSV)
    assert list(frame["trial"]) == ["b", "a", "c"]  # best first, unscored last
    assert list(frame.columns[:4]) == ["trial", "status", "m", "train.lora.r"]
    assert list(frame.columns[-4:]) == ["overrides", "run_dir", "duration_s", "error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [RESULTS_CSV, RESULTS_PARQUET]  # no temp files left

    again = ResultsTable(tmp_path, ["train.lora.r"], "m")
    assert again.finished("b")["m"] == 0.5 and again.finished("c") is None and again.finished("zz") is None
    assert again.metrics_of(again.rows["a"]) == {"m": 0.2, "eval/bleu": 0.1}


def test_minimized_metric_ranks_lowest_first(tmp_path):
    table = ResultsTable(tmp_path, ["train.lora.r"], "m", goal="minimize")
    table.record(row("a", "completed", 0.2, 4))
    table.record(row("b", "completed", 0.5, 8))
    assert list(table.dataframe()["trial"]) == ["a", "b"]
