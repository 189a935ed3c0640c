"""The evaluation benchmark runs (its speed is measured by `make bench`, never asserted here)."""

from tests.configs import config_for
from tide.bench.evaluation import benchmark_rows, evaluation_throughput


def test_rows_are_shaped_like_a_runs_evaluation():
    rows = benchmark_rows(10)
    assert len(rows) == 10 and rows["dialogue_id"].nunique() == 5
    assert sorted(rows["condition"].unique()) == ["finetuned", "zero_shot"]


def test_throughput_reports_both_rates_and_their_ratio():
    eval = config_for("logger=none").eval
    result = evaluation_throughput(eval, n_rows=8, naive_rows=4)
    assert result["rows"] == 8 and result["naive_rows"] == 4 and result["metrics"] == list(eval.metrics)
    assert result["speedup"] == result["batched_rows_per_s"] / result["naive_rows_per_s"] > 0
    assert result["sharing_speedup"] == result["batched_rows_per_s"] / result["separate_rows_per_s"] > 0
    # the naive loop is the pre-sharing scorer per row; the shared scorer per row is reported beside it
    assert result["speedup_vs_shared_per_row"] == result["batched_rows_per_s"] / result["shared_per_row_rows_per_s"] > 0
    assert result["replies"] == 8 and result["scorers_replies_per_s"] > result["scorers_with_encoding_replies_per_s"] > 0
