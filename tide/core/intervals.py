"""Confidence intervals, and the one way the suite writes them: "0.412 [0.398, 0.431]".

- `bootstrap_mean`: the mean with a percentile-bootstrap interval (rows resampled, seeded);
- `percentile_interval`: the central interval of any bootstrap samples (e.g. whole-group resamples);
- `wilson_interval`: a proportion's interval (Wilson score), for rates over few rows;
- `fisher_z_interval`: a correlation's interval on Fisher's z scale, with the variance the caller gives
  (1 / (n - 3) for Pearson, 1.06 / (n - 3) for Spearman, Fieller et al. 1957);
- `format_interval`: value and interval as text, "n/a" where any is missing.
"""

from __future__ import annotations

import math

import numpy as np

LEVEL = 0.95


def percentile_interval(samples, level: float = LEVEL) -> list[float]:
    """The central `level` interval of the finite samples ([nan, nan] when there are none)."""
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return [math.nan, math.nan]
    tail = (1 - level) / 2 * 100
    return [float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))]


def bootstrap_mean(values, n_boot: int = 1000, seed: int = 0, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap of the mean; NaNs dropped; (nan, nan, nan) when empty."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    low, high = percentile_interval(means, level)
    return float(values.mean()), low, high


def fisher_z_interval(rho: float, n: int, variance_factor: float = 1.0, level: float = LEVEL) -> tuple[float, float]:
    """A correlation's interval: z = atanh(rho) +- q * sqrt(variance_factor / (n - 3)); nan below 4 points."""
    from scipy.stats import norm

    if n < 4 or not np.isfinite(rho):
        return math.nan, math.nan
    half = norm.ppf(0.5 + level / 2) * math.sqrt(variance_factor / (n - 3))
    z = math.atanh(max(min(rho, 0.999999), -0.999999))
    return math.tanh(z - half), math.tanh(z + half)


def wilson_interval(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """A proportion's Wilson score interval (sound for the few at-risk rows a run holds, where a bootstrap
    of 3 rows is degenerate); (nan, nan) when n is 0."""
    from scipy.stats import norm

    if n <= 0:
        return math.nan, math.nan
    q, p = norm.ppf(0.5 + level / 2), successes / n
    centre = (p + q * q / (2 * n)) / (1 + q * q / n)
    half = q * math.sqrt(p * (1 - p) / n + q * q / (4 * n * n)) / (1 + q * q / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def format_interval(value, low=None, high=None, digits: int = 3, signed: bool = False) -> str:
    """"0.412 [0.398, 0.431]" ("+0.041 [...]" when signed); the value alone when there is no interval."""
    if value is None or _missing(value):
        return "n/a"
    spec = f"{'+' if signed else ''}.{digits}f"
    text = format(value, spec)
    if low is None or high is None or _missing(low) or _missing(high):
        return text
    return f"{text} [{format(low, spec)}, {format(high, spec)}]"


def format_cell(cell: dict, digits: int = 3, signed: bool = False) -> str:
    """A summary cell {mean, ci_low, ci_high} as `format_interval` writes it."""
    return format_interval(cell.get("mean"), cell.get("ci_low"), cell.get("ci_high"), digits, signed)


def _missing(number) -> bool:
    return isinstance(number, float) and math.isnan(number)
