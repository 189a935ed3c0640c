"""Observed means with 95% t intervals: per cell of the factors, and per factor level x demographic group
(what an interaction plot draws). Numbers a reader can check by hand, beside the model's estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _mean_ci(values: pd.Series) -> dict:
    from scipy.stats import t

    values = values.dropna().to_numpy(dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    half = float(t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def cell_means(rows: pd.DataFrame, outcome: str, factors: list[str]) -> list[dict]:
    """The mean rating per combination of the factors' levels."""
    if not factors:
        return [{"cell": {}, **_mean_ci(rows[outcome])}]
    return [{"cell": dict(zip(factors, key if isinstance(key, tuple) else (key,))), **_mean_ci(group[outcome])}
            for key, group in rows.groupby(factors, sort=True)]


def numeric_groups(values: pd.Series, groups: int = 3) -> pd.Series:
    """A number cut at its tertiles (by default), each group labelled by its range: "19-35"."""
    ranks = pd.qcut(values.rank(method="first"), groups, labels=False)
    labels = {g: f"{values[ranks == g].min():g}-{values[ranks == g].max():g}" for g in range(groups)}
    return ranks.map(labels)


def interaction_means(rows: pd.DataFrame, outcome: str, factor: str, demographic: str, spec) -> list[dict]:
    """The mean rating per factor level x demographic group (numbers without groups: their tertiles)."""
    used = rows[rows[demographic].notna() & rows[factor].notna()]
    if used.empty:
        return []
    numeric = spec.type == "numeric" and spec.groups is None
    groups = numeric_groups(used[demographic]) if numeric else used[demographic].astype(str)
    order = (sorted(groups.unique(), key=lambda label: float(label.split("-")[0])) if numeric
             else list(groups.value_counts().index))
    return [{"level": str(level), "group": group, **_mean_ci(used.loc[(used[factor] == level) & (groups == group),
                                                                         outcome])}
            for level in sorted(used[factor].unique()) for group in order]
