"""The evaluation summary (eval/summary.json) from the per-reply metrics frame: what was scored, group means
with bootstrap CIs, paired fine-tuned vs zero-shot tests, the size ceiling, safety pass rates, the factor
scorer's accuracy on recorded spans, the judge's counters and the human-ratings analysis.

Failed generations keep their rows in the metrics frame but are left out of every statistic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tide.config import EvalConfig

DISCLAIMER = ("These scores describe model replies for research. Language models can supplement, never replace, "
              "clinical care; a person in crisis needs a human: a crisis line, emergency services or a clinician.")


def summarise(scored: pd.DataFrame, failed: np.ndarray, eval: EvalConfig, judge: dict | None = None,
              ratings: pd.DataFrame | None = None, scoring_s: float = 0.0) -> dict:
    """The summary of a scored evaluation (without its `outputs` paths, which the writer adds).

    failed: a boolean per row of `scored`, True where the generation failed; judge: the judge's counters
    (None: no judge); ratings: validated human ratings (tide.evaluate.ratings.read_ratings) or None.
    """
    from tide.evaluate.reference import WORDNET_MISSING
    from tide.evaluate.scoring import describe_metrics, metric_columns

    metrics = metric_columns(scored)
    usable = scored[~failed]
    unavailable = {"meteor": WORDNET_MISSING} if "meteor" in scored and scored["meteor"].isna().all() else {}
    return {
        "disclaimer": DISCLAIMER,
        "rows": int(len(scored)), "failed_generations": int(failed.sum()),
        "models": sorted(scored["model"].unique().tolist()), "conditions": sorted(scored["condition"].unique().tolist()),
        "metrics": metrics, "metrics_info": describe_metrics(eval), "unavailable": unavailable,
        **statistics(usable, metrics, eval),
        "factor_scorer": factor_report(scored, eval),
        "judge": judge,
        "human_ratings": ratings_report(ratings, usable, metrics, eval) if ratings is not None else None,
        "timing": {"scoring_s": scoring_s, "rows_per_s": len(scored) / scoring_s if scoring_s else None},
    }


def statistics(scored: pd.DataFrame, metrics: list[str], eval: EvalConfig) -> dict:
    """Group means with bootstrap CIs (per model x condition, and per scenario), paired tests, the size
    ceiling on eval.primary_metric (when the rows carry model sizes) and safety pass rates."""
    from tide.evaluate.safety import pass_rates
    from tide.evaluate.stats import group_means, paired_tests, transfer_ceiling

    frame = scored.assign(safety_pass=scored["safety_pass"].astype(float)) if "safety_pass" in scored else scored
    boot, seed = eval.bootstrap_samples, eval.seed
    out = {
        "by_model_condition": group_means(frame, metrics, ("model", "condition"), boot, seed),
        "by_scenario": group_means(frame.assign(scenario=frame["scenario"].fillna("(none)")), metrics,
                                   ("model", "condition", "scenario"), boot, seed),
        "paired_tests": paired_tests(frame, [m for m in metrics if m != "safety_pass"], eval.alpha),
    }
    primary = eval.primary_metric
    if "model_params_b" in frame and primary in metrics:
        out["transfer_ceiling"] = transfer_ceiling(frame, primary)
    if "safety_pass" in scored:
        from tide.evaluate.risk import default_detector
        from tide.evaluate.safety import NOT_CLINICAL

        out["safety"] = pass_rates(scored, validated=default_detector().validated())
        out["safety_note"] = NOT_CLINICAL
    return out


def factor_report(frame: pd.DataFrame, eval: EvalConfig) -> dict | None:
    """The factor scorer's accuracy on the evaluated dialogues' references, when they carry factor spans."""
    from tide.evaluate.factors import FactorScorer, factor_accuracy, has_factor_spans
    from tide.evaluate.reference import load_encoder

    if not eval.factors:
        return None
    references = frame.drop_duplicates("dialogue_id")
    if not has_factor_spans(references["extra"]):
        return {"unavailable": "the references carry no factor_spans (only the synthetic data records them)"}
    scorer = FactorScorer(load_encoder(eval.embedder), eval.factor_threshold, eval.batch_size)
    return factor_accuracy(scorer, references["reference"].tolist(), references["extra"].tolist())


def ratings_report(ratings: pd.DataFrame, scored: pd.DataFrame, metrics: list[str], eval: EvalConfig) -> dict:
    """Inter-rater agreement, the mixed-effects analyses and each metric's Spearman with the human ratings."""
    from tide.evaluate.ratings import analyse_ratings, krippendorff_alpha, metric_correlations

    return {"file": str(eval.ratings), "ratings": int(len(ratings)),
            "raters": int(ratings["rater_id"].nunique()),
            "krippendorff_alpha": krippendorff_alpha(ratings, "empathy", eval.ratings_scale),
            "mixed_effects": analyse_ratings(ratings),
            "metric_correlations": metric_correlations(ratings, scored, [m for m in metrics if m != "safety_pass"])}


def json_safe(value):
    """NaN and infinities -> None, numpy scalars -> Python: strict JSON that W&B and browsers read."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
