"""Confidence intervals and their one spelling."""

import math

import numpy as np
import pytest

from tide.core.intervals import (bootstrap_mean, fisher_z_interval, format_cell, format_interval,
                                 percentile_interval)


def test_percentile_interval_ignores_non_finite_samples():
    samples = [*range(101), math.nan, math.inf]
    assert percentile_interval(samples) == pytest.approx([2.5, 97.5])
    assert all(math.isnan(v) for v in percentile_interval([math.nan]))


def test_bootstrap_mean_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(0).normal(1.0, 1.0, 200)
    mean, low, high = bootstrap_mean(values, n_boot=500, seed=4)
    assert low < mean < high and bootstrap_mean(values, n_boot=500, seed=4) == (mean, low, high)


def test_fisher_z_interval_widens_with_the_variance_factor_and_needs_four_points():
    pearson, spearman = fisher_z_interval(0.5, 30), fisher_z_interval(0.5, 30, variance_factor=1.06)
    assert spearman[0] < pearson[0] < 0.5 < pearson[1] < spearman[1]
    # by hand: atanh(0.5) = 0.5493, half-width 1.96 / sqrt(27) = 0.3772
    assert pearson == pytest.approx((math.tanh(0.5493 - 0.3772), math.tanh(0.5493 + 0.3772)), abs=1e-3)
    assert all(math.isnan(v) for v in fisher_z_interval(0.5, 3))


def test_one_spelling_for_a_value_and_its_interval():
    assert format_interval(0.41234, 0.398, 0.431) == "0.412 [0.398, 0.431]"
    assert format_interval(0.041, -0.01, 0.09, digits=4, signed=True) == "+0.0410 [-0.0100, +0.0900]"
    assert format_interval(0.5, math.nan, math.nan) == "0.500" and format_interval(None) == "n/a"
    assert format_cell({"mean": 0.2, "ci_low": 0.1, "ci_high": 0.3}) == "0.200 [0.100, 0.300]"
    assert format_cell({"mean": None, "ci_low": None, "ci_high": None}) == "n/a"
