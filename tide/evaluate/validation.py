"""Agreement of the shipped scores with EPITOME's human labels on any EPITOME-format directory.

    python -m launch.validate_scorer DIR [--json PATH]        # or: make validate-scorer DIR=...

Scores every pair's response with the mechanism scorers (tide/evaluate/mechanisms.py) and the
three-factor scorer (tide/evaluate/factors.py) on one shared MiniLM embedding per response, and
reports per mechanism n, AUC (level > 0 vs 0), Spearman of the expected level with the level, F1 at the
scorer's threshold and Brier score, each with a seeker-post bootstrap 95% CI (tide/evaluate/agreement.py),
plus each factor's AUC against the mechanisms it maps to. `training_overlap` counts pairs the shipped
scorer was trained on: figures on those are not validation (the grouped-CV figures are).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tide.evaluate.epitome import MECHANISMS, read_epitome

# The paper's factors and the EPITOME mechanisms that carry them (distress normalization has none).
FACTOR_MECHANISMS = {"emotion_recognition": ("emotional_reactions", "interpretations"),
                     "supportive_reflection": ("interpretations",)}
VALIDATION_NOTE = ("pairs the scorer was trained on are not a validation; the documented figures are its "
                   "grouped cross-validation on the development split (tide/evaluate/scorers/cv_metrics.json)")


def validate_directory(directory: str | Path, scorer_dir: str | Path | None = None, n_boot: int = 1000,
                       seed: int = 0, encoder=None) -> dict:
    """{"data", "mechanisms": {name: agreement}, "factors": {factor: {mechanism: AUC}}, "training_overlap"}."""
    from tide.evaluate.agreement import agreement, auc_with_ci
    from tide.evaluate.embedding import TextEmbeddings
    from tide.evaluate.factors import FactorScorer
    from tide.evaluate.mechanisms import SCORER_DIR, MechanismScorer, expected_level
    from tide.evaluate.reference import load_encoder

    labels = read_epitome(directory)
    scorer = MechanismScorer(scorer_dir or SCORER_DIR)
    encoder = encoder or load_encoder(None)
    embedded = TextEmbeddings(encoder, [t for m in labels.values() for t in m.response_post], layers=scorer.layers)
    mechanisms, factors = {}, {}
    for mechanism in MECHANISMS:
        pairs = labels[mechanism]
        p = scorer.probabilities(pairs.response_post, embedded.layer_rows(pairs.response_post), (mechanism,))[mechanism]
        mechanisms[mechanism] = agreement(p["present"], expected_level(p["present"], p["strong"]), pairs.level,
                                          pairs.sp_id, scorer.thresholds[mechanism], n_boot, seed)
    factor_scorer = FactorScorer(encoder)
    mapped_to = {mechanism for mapped in FACTOR_MECHANISMS.values() for mechanism in mapped}
    factor_scores = {m: factor_scorer.score(labels[m].response_post, embedded.numpy_rows(labels[m].response_post))
                     for m in mapped_to}
    for factor, mapped in FACTOR_MECHANISMS.items():
        factors[factor] = {}
        for mechanism in mapped:
            pairs = labels[mechanism]
            factors[factor][mechanism] = auc_with_ci(factor_scores[mechanism][factor], np.asarray(pairs.level) > 0,
                                                     pairs.sp_id, n_boot, seed)
    trained = set(scorer.meta.get("training_rp_ids", []))
    seen = {r for m in labels.values() for r in m.rp_id}
    return {"data": str(directory), "scorer": str(scorer_dir or SCORER_DIR), "bootstrap_samples": n_boot,
            "mechanisms": mechanisms, "factors": factors,
            "training_overlap": {"pairs": len(seen & trained), "of": len(seen), "note": VALIDATION_NOTE}}
