"""How far Reddit C-SSRS lets a detector go: the shipped heads pooled three ways and a user-level model.

    risk_ceiling(table, lexicon_features, layer_features, config)  ->  {"rows": [...], "settings": {...}}

Issue 20 asked for user-level AUC >= 0.90 with sensitivity >= 0.90 at specificity >= 0.60, and the shipped
detector (tide/evaluate/risk.py) misses all three. This study asks whether a different detector would
reach them on the same labels, under the same grouped cross-validation (no user on both sides). Rows:

- `max post score`: the issue's definition (a user is flagged when any post is) over the shipped heads'
  out-of-fold post scores, without the gate (the gate only lowers these figures on Reddit);
- `mean of top 3 posts`, `mean post score`: softer pooling of the same scores;
- `user-level model`: a logistic regression on each user's mean MiniLM features, mean lexicon counts and
  pronoun rates (first-person singular, second-person, third-person per word). It reads every post of a
  user at once, so it cannot score one chat turn: it is an upper bound for this data and these encoders,
  not a detector the suite could ship.

Each row: AUC with a 95% CI over user resamples, and the specificity at the highest threshold that flags
90% of at-risk users (chosen on the same out-of-fold scores, so it is optimistic by design: a ceiling).
"""

from __future__ import annotations

import re
import numpy as np

from tide.evaluate.cssrs import AT_RISK, NO_RISK
from tide.evaluate.risk import HEADS, head_logits
from tide.evaluate.risk_training import PostTable, RiskTrainingConfig, fit_detector, user_folds
from tide.evaluate.risk_validation import threshold_for_sensitivity

# Who a text is about: supporters write to someone ("you"), people at risk about themselves ("I").
PRONOUNS = {
    "first person singular": re.compile(r"\b(?:i|me|my|myself|mine|i'm|im|i've|ive|i'd|i'll)\b", re.I),
    "second person": re.compile(r"\b(?:you|your|yours|yourself|you're|youre|u)\b", re.I),
    "third person": re.compile(r"\b(?:he|she|they|him|her|them|his|hers|their|theirs)\b", re.I),
}
USER_MODEL_C = 0.001  # inverse L2 strength of the user-level model (0.0003-0.03 compared: AUC 0.80-0.85 on the dev split)


def pronoun_rates(texts: list[str]) -> np.ndarray:
    """(n, 4): each pronoun group's matches per word, and log(1 + words)."""
    rows = []
    for text in texts:
        words = max(1, len(text.split()))
        rows.append([len(pattern.findall(text)) / words for pattern in PRONOUNS.values()] + [np.log1p(words)])
    return np.array(rows, dtype=float).reshape(len(texts), len(PRONOUNS) + 1)


def out_of_fold_posts(table: PostTable, lexicon_features, layer_features, folds, config: RiskTrainingConfig):
    """The shipped heads' out-of-fold post probabilities, without the gate."""
    scores = np.zeros(len(table.texts))
    for train, test in folds:
        arrays = fit_detector(lexicon_features[train], layer_features[train], table.labels[train], config)
        scores[test] = 1 / (1 + np.exp(-head_logits(arrays, lexicon_features[test], layer_features[test], HEADS)))
    return scores


def user_model_scores(table: PostTable, user_features: np.ndarray, users: list[str], folds) -> np.ndarray:
    """Out-of-fold scores of a logistic regression on pooled user features, fitted on at-risk and
    Supportive users only (the same folds: a user's posts are never on both sides)."""
    from sklearn.linear_model import LogisticRegression

    label_of = dict(zip(table.users, table.labels))
    position = {user: i for i, user in enumerate(users)}
    scores = np.zeros(len(users))
    for train, test in folds:
        fit = [position[u] for u in dict.fromkeys(table.users[train]) if label_of[u] in (*AT_RISK, NO_RISK)]
        held = [position[u] for u in dict.fromkeys(table.users[test])]
        mean, scale = user_features[fit].mean(axis=0), user_features[fit].std(axis=0) + 1e-6
        model = LogisticRegression(C=USER_MODEL_C, max_iter=5000, class_weight="balanced")
        model.fit((user_features[fit] - mean) / scale, [label_of[users[i]] in AT_RISK for i in fit])
        scores[held] = model.decision_function((user_features[held] - mean) / scale)
    return scores


def ceiling_row(name: str, scores: np.ndarray, at_risk: np.ndarray, n_boot: int, seed: int, per_turn: bool) -> dict:
    """AUC with a 95% CI over user resamples (one score per user), and specificity where 90% of at-risk users are flagged."""
    from sklearn.metrics import roc_auc_score

    from tide.core.intervals import percentile_interval

    threshold = threshold_for_sensitivity(scores, at_risk, 0.90)
    rng, samples = np.random.default_rng(seed), []
    for _ in range(n_boot):
        rows = rng.integers(0, len(scores), len(scores))
        if 0 < at_risk[rows].sum() < len(rows):
            samples.append(roc_auc_score(at_risk[rows], scores[rows]))
    low, high = percentile_interval(samples)
    return {"pooling": name, "scores_one_turn": per_turn, "auc": {"value": float(roc_auc_score(at_risk, scores)),
            "ci_low": low, "ci_high": high}, "specificity_at_90_sensitivity": float((scores[~at_risk] < threshold).mean()),
            "n": int(len(scores))}


def user_features(table: PostTable, lexicon_features, layer_features, users: list[str]) -> np.ndarray:
    """Per user: mean layer features, mean lexicon counts, mean pronoun rates."""
    pronouns = pronoun_rates(table.texts)
    rows = []
    for user in users:
        mine = table.users == user
        rows.append(np.concatenate([layer_features[mine].mean(axis=0), lexicon_features[mine].mean(axis=0),
                                    pronouns[mine].mean(axis=0)]))
    return np.array(rows)


def risk_ceiling(table: PostTable, lexicon_features, layer_features, config: RiskTrainingConfig) -> dict:
    """The rows of the module docstring, at-risk against Supportive users."""
    folds = user_folds(table, config)
    posts = out_of_fold_posts(table, lexicon_features, layer_features, folds, config)
    label_of = dict(zip(table.users, table.labels))
    users = [u for u in dict.fromkeys(table.users) if label_of[u] in (*AT_RISK, NO_RISK)]
    at_risk = np.array([label_of[u] in AT_RISK for u in users])
    pooled = {"max post score": np.max, "mean of top 3 posts": lambda s: np.sort(s)[-3:].mean(),
              "mean post score": np.mean}
    rows = [ceiling_row(name, np.array([pool(posts[table.users == u]) for u in users]), at_risk,
                        config.bootstrap_samples, config.seed, per_turn=True) for name, pool in pooled.items()]
    all_users = list(dict.fromkeys(table.users))
    model = user_model_scores(table, user_features(table, lexicon_features, layer_features, all_users), all_users, folds)
    position = {u: i for i, u in enumerate(all_users)}
    rows.append(ceiling_row("user-level model", model[[position[u] for u in users]], at_risk,
                            config.bootstrap_samples, config.seed, per_turn=False))
    return {"rows": rows, "users": len(users), "at_risk": int(at_risk.sum()),
            "validation": f"{config.folds}-fold cross-validation grouped by user, stratified by label"}
