"""Agreement of risk scores with psychiatrists' C-SSRS labels: AUC, sensitivity and specificity with 95% CIs.

    risk_figures(post_scores, users, labels, threshold)  ->
        {"user_level": {"auc", "sensitivity", "specificity", "threshold", "n"},
         "post_level": {... the same ...},
         "indicator_flag_rate": {...}}

At risk (Ideation, Behavior, Attempt) against Supportive. A user's score is their highest post score: a
user is flagged when any post is (the issue's definition). Post level labels each post with its user's
label, so a post of an at-risk user that voices no risk counts as a miss: post-level figures are a
floor. Indicator users (risk indicators without ideation) are neither, and their flag rate is reported
apart. Each metric is {"value", "ci_low", "ci_high"}: percentile 95% CIs over resamples of whole users
(posts of one user are not independent).
"""

from __future__ import annotations

import numpy as np

from tide.core.intervals import percentile_interval
from tide.evaluate.cssrs import AT_RISK, NO_RISK


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, scores)) if 0 < positive.sum() < len(positive) else float("nan")


def _rates(scores, positive, threshold) -> dict[str, float]:
    flagged = scores >= threshold
    return {"auc": _auc(scores, positive),
            "sensitivity": float(flagged[positive].mean()) if positive.any() else float("nan"),
            "specificity": float((~flagged[~positive]).mean()) if (~positive).any() else float("nan")}


def _with_ci(scores, positive, groups, threshold, n_boot, seed) -> dict:
    from tide.evaluate.agreement import cluster_bootstrap_indices

    point = _rates(scores, positive, threshold)
    samples = {name: [] for name in point}
    for rows in cluster_bootstrap_indices(groups, n_boot, seed):
        for name, value in _rates(scores[rows], positive[rows], threshold).items():
            samples[name].append(value)
    out = {}
    for name, value in point.items():
        low, high = percentile_interval(samples[name])
        out[name] = {"value": value, "ci_low": low, "ci_high": high}
    return {**out, "threshold": float(threshold), "n": int(len(scores)),
            "at_risk": int(positive.sum()), "supportive": int((~positive).sum())}


def user_scores(post_scores, users) -> dict[str, float]:
    """Each user's highest post score."""
    best: dict[str, float] = {}
    for user, score in zip(users, np.asarray(post_scores, dtype=float)):
        best[user] = max(best.get(user, -np.inf), score)
    return best


def flag_rate(values: np.ndarray, threshold: float, n_boot: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    flagged = (values >= threshold).astype(float)
    samples = [flagged[rng.integers(0, len(flagged), len(flagged))].mean() for _ in range(n_boot)] if len(flagged) else []
    low, high = percentile_interval(samples)
    return {"value": float(flagged.mean()) if len(flagged) else float("nan"), "ci_low": low, "ci_high": high,
            "n": int(len(flagged))}


def risk_figures(post_scores, users, labels, threshold: float, n_boot: int = 1000, seed: int = 0) -> dict:
    """The validation figures (module docstring) of post scores with their users' labels."""
    scores, users, labels = np.asarray(post_scores, dtype=float), np.asarray(users, dtype=str), np.asarray(labels, dtype=str)
    label_of = dict(zip(users, labels))
    best = user_scores(scores, users)
    keep = [u for u in best if label_of[u] in AT_RISK or label_of[u] == NO_RISK]
    user_level = _with_ci(np.array([best[u] for u in keep]), np.array([label_of[u] in AT_RISK for u in keep]),
                          np.array(keep), threshold, n_boot, seed)
    posts = np.isin(labels, [*AT_RISK, NO_RISK])
    post_level = _with_ci(scores[posts], np.isin(labels[posts], AT_RISK), users[posts], threshold, n_boot, seed)
    indicator = np.array([best[u] for u in best if label_of[u] == "Indicator"])
    return {"user_level": user_level, "post_level": post_level,
            "indicator_flag_rate": flag_rate(indicator, threshold, n_boot, seed)}


def threshold_for_sensitivity(user_best: np.ndarray, at_risk: np.ndarray, target: float) -> float:
    """The highest threshold at which at least `target` of the at-risk users are flagged (a missed person
    at risk is the costly error, so the threshold is set by sensitivity, not by F1)."""
    positives = np.sort(np.asarray(user_best, dtype=float)[np.asarray(at_risk, dtype=bool)])[::-1]
    if not len(positives):
        raise ValueError("no at-risk users to set a threshold on")
    needed = int(np.ceil(target * len(positives)))
    return float(positives[max(needed, 1) - 1])


VALIDATION_NOTE = ("users the detector was trained on are not a validation; the documented figures are its grouped "
                   "cross-validation on the development split (tide/evaluate/scorers/risk.json, `cv`)")


def validate_directory(directory, detector_dir=None, n_boot: int = 1000, seed: int = 0, encoder=None) -> dict:
    """The shipped (or a retrained) detector on a C-SSRS directory: every post scored, the figures with
    CIs, what the reader repaired, and how many of the users the detector was trained on."""
    from tide.evaluate.cssrs import read_cssrs
    from tide.evaluate.reference import load_encoder
    from tide.evaluate.risk import SCORER_DIR, RiskDetector, encode_layers

    data = read_cssrs(directory)
    detector = RiskDetector(detector_dir or SCORER_DIR)
    texts = [post for user in data.users for post in user.posts]
    users = [user.user for user in data.users for _ in user.posts]
    labels = [user.label for user in data.users for _ in user.posts]
    encoder = encoder or load_encoder(None)
    scores = detector.scores(texts, encode_layers(texts, detector.layers, encoder, progress=True), encoder)
    figures = risk_figures(scores, users, labels, detector.threshold, n_boot, seed)
    trained = set(detector.meta.get("training_users", []))
    seen = {user.user for user in data.users}
    return {**figures, "data": data.path, "detector": str(detector.directory), "bootstrap_samples": n_boot,
            "reader": data.report, "cv": detector.meta.get("cv"),
            "training_overlap": {"users": len(seen & trained), "of": len(seen), "note": VALIDATION_NOTE}}
