"""Bootstrap CIs, paired Wilcoxon tests with effect sizes and Holm correction, the size ceiling."""

import numpy as np
import pandas as pd
import pytest

from tide.core.intervals import bootstrap_mean
from tide.evaluate.stats import group_means, paired_tests, rank_biserial, transfer_ceiling


def paired_frame(gains: dict, n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for model, (gain, size) in gains.items():
        base = rng.normal(0.5, 0.1, n)
        for condition, values in (("zero_shot", base), ("finetuned", base + gain + rng.normal(0, 0.05, n))):
            rows += [{"model": model, "model_params_b": size, "condition": condition, "dialogue_id": f"d{i}",
                      "scenario": "s" + str(i % 2), "cosine": v} for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    # group_means' interval (tide.core.intervals.bootstrap_mean).
    values = np.random.default_rng(0).normal(1.0, 1.0, 200)
    mean, low, high = bootstrap_mean(values, n_boot=2000, seed=1)
    assert low < mean < high and mean == pytest.approx(values.mean())
    # Close to the normal-theory interval for a mean of 200 draws.
    assert high - low == pytest.approx(2 * 1.96 * values.std(ddof=1) / np.sqrt(200), rel=0.15)
    assert bootstrap_mean(values, n_boot=2000, seed=1) == (mean, low, high)
    assert all(np.isnan(bootstrap_mean([np.nan])))


def test_group_means_per_model_condition_scenario():
    frame = paired_frame({"a": (0.2, 1.0)})
    groups = group_means(frame, ["cosine"], n_boot=100, seed=3)
    assert len(groups) == 4 and {g["scenario"] for g in groups} == {"s0", "s1"}
    assert all(g["cosine"]["ci_low"] <= g["cosine"]["mean"] <= g["cosine"]["ci_high"] for g in groups)
    first = frame[(frame["condition"] == "finetuned") & (frame["scenario"] == "s0")]["cosine"]
    assert tuple(groups[0]["cosine"].values()) == bootstrap_mean(first, 100, 3)  # each group resampled alike


def test_paired_tests_find_the_planted_gain_only():
    tests = {t["model"]: t for t in paired_tests(paired_frame({"gain": (0.1, 3.0), "none": (0.0, 1.0)}), ["cosine"])}
    assert tests["gain"]["significant"] and tests["gain"]["rank_biserial"] > 0.9
    assert tests["gain"]["mean_gain"] == pytest.approx(0.1, abs=0.03) and tests["gain"]["pairs"] == 40
    assert not tests["none"]["significant"] and tests["none"]["p_holm"] >= tests["none"]["p"]


def test_rank_biserial():
    assert rank_biserial([1, 2, 3]) == 1.0 and rank_biserial([-1, -2]) == -1.0
    assert rank_biserial([1, -1]) == 0.0 and rank_biserial([0, 0]) == 0.0


def test_transfer_ceiling_orders_models_by_size():
    frame = paired_frame({"s": (0.02, 0.5), "m": (0.10, 1.5), "l": (0.15, 3.0)})
    ceiling = transfer_ceiling(frame, "cosine")
    assert [p["model"] for p in ceiling["models"]] == ["s", "m", "l"]
    assert ceiling["models"][0]["gain"] < ceiling["models"][2]["gain"]
    assert ceiling["spearman_gain_vs_size"]["rho"] == pytest.approx(1.0)
