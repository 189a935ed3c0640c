"""Agreement of a score with human labels: AUC, Spearman, F1 and Brier with cluster-bootstrap CIs, calibration;
agreement among raters: Krippendorff's alpha with a bootstrap CI over rated units.

Used for the mechanism scorers' cross-validation (tide/evaluate/mechanism_training.py), for
`python -m launch.validate_scorer` (tide/evaluate/validation.py) and for the human study's agreement
(tide/study/agreement.py: rater agreement, judge-human and metric-human correlations). Pairs that share a seeker post are not
independent, so the bootstrap resamples seeker posts (`groups`), not pairs; the interval is the central 95%
of those resamples (tide.core.intervals.percentile_interval).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from tide.core.intervals import percentile_interval
from tide.evaluate.factors import auc


def f1_at(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    predicted, labels = np.asarray(probabilities) >= threshold, np.asarray(labels, dtype=bool)
    true_positives = int((predicted & labels).sum())
    denominator = int(predicted.sum()) + int(labels.sum())
    return 2 * true_positives / denominator if denominator else float("nan")


def best_f1_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The threshold (among the predicted values) with the highest F1: chosen on out-of-fold predictions."""
    candidates = np.unique(np.round(probabilities, 3))
    return float(max(candidates, key=lambda t: f1_at(probabilities, labels, t)))


def brier(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((np.asarray(probabilities, dtype=float) - np.asarray(labels, dtype=float)) ** 2))


def spearman(values: np.ndarray, levels: np.ndarray) -> float:
    if len(np.unique(values)) < 2 or len(np.unique(levels)) < 2:
        return float("nan")
    return float(spearmanr(values, levels).statistic)


def _statistics(probabilities, expected_levels, levels, threshold) -> dict[str, float]:
    present = levels > 0
    return {"auc": auc(probabilities, present), "spearman": spearman(expected_levels, levels),
            "f1": f1_at(probabilities, present, threshold), "brier": brier(probabilities, present)}


def cluster_bootstrap_indices(groups, n_boot: int, seed: int):
    """Row indices of n_boot resamples of whole groups (with replacement)."""
    _, inverse = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    n_groups = inverse.max() + 1 if len(inverse) else 0
    rng = np.random.default_rng(seed)
    rows = np.arange(len(inverse))
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        yield np.repeat(rows, counts[inverse])


def agreement(probabilities, expected_levels, levels, groups, threshold: float, n_boot: int = 1000,
              seed: int = 0) -> dict:
    """n, AUC (level > 0 vs 0), Spearman of the expected level with the level, F1 at the threshold and
    Brier score of P(present), each with a percentile 95% CI over `n_boot` seeker-post resamples."""
    probabilities, expected_levels = np.asarray(probabilities, dtype=float), np.asarray(expected_levels, dtype=float)
    levels = np.asarray(levels, dtype=int)
    point = _statistics(probabilities, expected_levels, levels, threshold)
    samples = {name: [] for name in point}
    for rows in cluster_bootstrap_indices(groups, n_boot, seed):
        for name, value in _statistics(probabilities[rows], expected_levels[rows], levels[rows], threshold).items():
            samples[name].append(value)
    out = {"n": int(len(levels)), "positives": int((levels > 0).sum()), "threshold": float(threshold)}
    for name, value in point.items():
        out[name], out[f"{name}_ci"] = value, percentile_interval(samples[name])
    return out


def auc_with_ci(scores, labels, groups, n_boot: int = 1000, seed: int = 0) -> dict:
    """AUC of any score against binary labels, with the same seeker-post bootstrap CI."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    samples = [auc(scores[rows], labels[rows]) for rows in cluster_bootstrap_indices(groups, n_boot, seed)]
    return {"n": int(len(labels)), "auc": auc(scores, labels), "auc_ci": percentile_interval(samples)}


def correlation_with_ci(x, y, groups, n_boot: int = 1000, seed: int = 0) -> dict:
    """Spearman rho of x and y with a percentile CI over `n_boot` resamples of whole groups (dialogues:
    several replies to one dialogue are not independent); pairs with a missing value are dropped."""
    x, y, groups = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups, dtype=str)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, groups = x[keep], y[keep], groups[keep]
    samples = [spearman(x[rows], y[rows]) for rows in cluster_bootstrap_indices(groups, n_boot, seed)]
    return {"rho": spearman(x, y), "ci": percentile_interval(samples), "n": int(len(x)),
            "clusters": int(len(np.unique(groups)))}


def krippendorff_alpha(matrix, level: str = "ordinal", value_domain=None) -> float:
    """Krippendorff's alpha of a raters x units matrix (NaN: not rated); nan when nothing is pairable."""
    import krippendorff

    matrix = np.asarray(matrix, dtype=float)
    pairable = (np.isfinite(matrix).sum(axis=0) >= 2).any()
    if not pairable or len(np.unique(matrix[np.isfinite(matrix)])) < 2:
        return float("nan")
    if level == "ordinal" and value_domain is None:
        value_domain = np.unique(matrix[np.isfinite(matrix)])  # the values used, in order
    return float(krippendorff.alpha(reliability_data=matrix, value_domain=value_domain,
                                    level_of_measurement=level))


def alpha_with_ci(matrix, level: str = "ordinal", value_domain=None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Krippendorff's alpha with a percentile CI over `n_boot` resamples of the units (the rated things),
    each resample keeping all of a unit's ratings; the raters, units and ratings it rests on."""
    matrix = np.asarray(matrix, dtype=float)
    rated = np.isfinite(matrix).sum(axis=0) >= 2  # units rated once carry no agreement
    matrix = matrix[:, rated]
    if value_domain is None and level == "ordinal":
        value_domain = np.unique(matrix[np.isfinite(matrix)])
    rng = np.random.default_rng(seed)
    units = matrix.shape[1]
    samples = [krippendorff_alpha(matrix[:, rng.integers(0, units, units)], level, value_domain)
               for _ in range(n_boot if units else 0)]
    return {"alpha": krippendorff_alpha(matrix, level, value_domain), "ci": percentile_interval(samples),
            "level": level, "units": int(units), "raters": int((np.isfinite(matrix).sum(axis=1) > 0).sum()),
            "ratings": int(np.isfinite(matrix).sum())}


def reliability(probabilities, labels, bins: int = 10) -> list[dict]:
    """Calibration table: per equal-width probability bin, count, mean predicted and observed rate."""
    probabilities, labels = np.asarray(probabilities, dtype=float), np.asarray(labels, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "count": int((which == b).sum()),
             "mean_predicted": float(probabilities[which == b].mean()) if (which == b).any() else None,
             "observed": float(labels[which == b].mean()) if (which == b).any() else None} for b in range(bins)]


def reliability_plot(curves: dict[str, list[dict]], path, title: str) -> None:
    """One reliability diagram (observed vs predicted per bin, point size ~ count) for several scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tide.core.files import write_atomic

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, table in curves.items():
        used = [row for row in table if row["count"]]
        ax.plot([r["mean_predicted"] for r in used], [r["observed"] for r in used], marker="o", label=name)
    ax.set(xlabel="predicted P(mechanism present)", ylabel="observed share present", xlim=(0, 1), ylim=(0, 1),
           title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    write_atomic(path, lambda temp: fig.savefig(temp, format="png", dpi=110))
    plt.close(fig)
