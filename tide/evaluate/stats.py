"""Statistics over per-row metrics: bootstrap CIs, paired fine-tuned vs zero-shot tests, the size ceiling.

- `group_means`: mean of each metric per group (model x condition x scenario by default) with a
  percentile bootstrap 95% CI (resampling rows within the group, seeded; tide.core.intervals.bootstrap_mean).
- `paired_tests`: per model and metric, the same dialogues answered zero-shot and fine-tuned: a
  Wilcoxon signed-rank test (two-sided, zero differences dropped, scipy) with the matched-pairs
  rank-biserial correlation as effect size (+1: every pair improved), Holm-corrected over all tests.
- `transfer_ceiling`: mean paired gain per model against its size (billions of parameters), with the
  Spearman correlation of gain and size. A "knowledge transfer ceiling" shows as gains that flatten or
  shrink for the smallest models.
"""

from __future__ import annotations

import math

import numpy as np

from tide.core.domain import FINETUNED, ZERO_SHOT
from tide.core.intervals import bootstrap_mean


def group_means(frame, metrics, by=("model", "condition", "scenario"), n_boot: int = 1000,
                seed: int = 0) -> list[dict]:
    """One dict per group: its keys, rows, and {metric: {mean, ci_low, ci_high}}."""
    out = []
    for keys, group in frame.groupby(list(by), sort=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = {**dict(zip(by, keys)), "rows": int(len(group))}
        for metric in metrics:
            mean, low, high = bootstrap_mean(group[metric], n_boot, seed)
            row[metric] = {"mean": mean, "ci_low": low, "ci_high": high}
        out.append(row)
    return out


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation: (sum of positive ranks - negative ranks) / total."""
    from scipy.stats import rankdata

    differences = np.asarray(differences, dtype=float)
    differences = differences[differences != 0]
    if not len(differences):
        return 0.0
    ranks = rankdata(np.abs(differences))
    return float((ranks[differences > 0].sum() - ranks[differences < 0].sum()) / ranks.sum())


def paired_frame(frame, metric: str):
    """dialogue-aligned columns zero_shot / finetuned of one metric, per model (rows with both only)."""
    table = frame.pivot_table(index=["model", "dialogue_id"], columns="condition", values=metric, aggfunc="mean")
    if ZERO_SHOT not in table or FINETUNED not in table:
        return None
    return table[[ZERO_SHOT, FINETUNED]].dropna()


def paired_tests(frame, metrics, alpha: float = 0.05) -> list[dict]:
    """Fine-tuned vs zero-shot per model x metric; p-values Holm-corrected across every test made."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    tests = []
    for metric in metrics:
        pairs = paired_frame(frame, metric)
        if pairs is None:
            continue
        for model, table in pairs.groupby(level="model"):
            differences = (table[FINETUNED] - table[ZERO_SHOT]).to_numpy()
            if len(differences) < 2 or not np.any(differences):
                p_value, statistic = 1.0, math.nan
            else:
                result = wilcoxon(table[FINETUNED], table[ZERO_SHOT], zero_method="wilcox")
                p_value, statistic = float(result.pvalue), float(result.statistic)
            tests.append({"model": model, "metric": metric, "pairs": int(len(differences)),
                          "zero_shot_mean": float(table[ZERO_SHOT].mean()),
                          "finetuned_mean": float(table[FINETUNED].mean()),
                          "mean_gain": float(differences.mean()), "wilcoxon_w": statistic, "p": p_value,
                          "rank_biserial": rank_biserial(differences)})
    if tests:
        reject, corrected, _, _ = multipletests([t["p"] for t in tests], alpha=alpha, method="holm")
        for test, p_holm, significant in zip(tests, corrected, reject):
            test["p_holm"], test["significant"] = float(p_holm), bool(significant)
    return tests


def transfer_ceiling(frame, metric: str) -> dict:
    """Mean paired gain per model against its size, and the Spearman correlation of gain with size."""
    from scipy.stats import spearmanr

    pairs = paired_frame(frame, metric)
    if pairs is None:
        return {"metric": metric, "models": [], "spearman_gain_vs_size": None}
    sizes = frame.groupby("model")["model_params_b"].first()
    points = sorted(({"model": model, "params_b": float(sizes[model]), "zero_shot": float(t[ZERO_SHOT].mean()),
                      "finetuned": float(t[FINETUNED].mean()), "gain": float((t[FINETUNED] - t[ZERO_SHOT]).mean())}
                     for model, t in pairs.groupby(level="model")), key=lambda p: p["params_b"])
    rho = None
    if len(points) >= 3:
        result = spearmanr([p["params_b"] for p in points], [p["gain"] for p in points])
        rho = {"rho": float(result.statistic), "p": float(result.pvalue)}
    return {"metric": metric, "models": points, "spearman_gain_vs_size": rho}
