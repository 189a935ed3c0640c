"""The evaluation stage: score a run's generated replies against the references (docs/evaluation.md).

    python -m launch.evaluate                                    # run.dir's generations, embedded defaults
    python -m launch.evaluate eval.generations_dir=/other/run/generations
    python -m launch.evaluate eval.ratings=/data/ratings.csv     # + human-ratings analysis
    python -m launch.evaluate eval=judge eval.judge.model=qwen2_5_3b

Prints the model x condition comparison (means with bootstrap 95% CIs), the fine-tuned vs zero-shot
tests, safety pass rates and the factor scorer's accuracy; writes run.dir/eval/metrics.parquet and
summary.json, and logs the summary and sample replies to W&B (offline by default).
"""

from __future__ import annotations

from launch.common import stage_main, stage_summary
from tide.core.intervals import format_cell, format_interval

SHOWN_METRICS = ("cosine", "bertscore_f1", "rouge_l", "meteor", "bleu", "factor_empathy", "safety_pass")


def run(config, judge_model=None) -> dict:
    """The evaluate stage of a TideConfig through the runner; returns the summary it prints.
    `judge_model` (tests) replaces the judge's generation."""
    from tide.stages import run_pipeline

    result = run_pipeline(config, target="evaluate", stage_options={"evaluate": {"judge_model": judge_model}})
    return stage_summary(result, "evaluate")


def format_summary(summary: dict) -> str:
    info = summary["metrics_info"]
    shown = [m for m in SHOWN_METRICS if m in summary["metrics"]]
    lines = [f"TIDE evaluation: {summary['rows']} replies, models {summary['models']}, conditions "
             f"{summary['conditions']}, failed generations {summary['failed_generations']}"]
    lines += [f"  {key}: {value}" for key, value in info.items() if key != "metrics"]
    lines += [f"  {name}: {reason}" for name, reason in summary["unavailable"].items() if name not in info]
    lines += ["", "  means with bootstrap 95% CI", "  " + f"{'model':<14}{'condition':<11}"
              + "".join(f"{m:>26}" for m in shown)]
    for group in summary["by_model_condition"]:
        lines.append("  " + f"{group['model']:<14}{group['condition']:<11}"
                     + "".join(f"{format_cell(group[m]):>26}" for m in shown))
    tests = [t for t in summary["paired_tests"] if t["metric"] in shown]
    if tests:
        lines += ["", "  fine-tuned vs zero-shot: Wilcoxon signed-rank, rank-biserial r, Holm-corrected p",
                  f"  {'model':<14}{'metric':<16}{'pairs':>6}{'gain':>9}{'r':>7}{'p_holm':>10}"]
        lines += [f"  {t['model']:<14}{t['metric']:<16}{t['pairs']:>6}{t['mean_gain']:>9.3f}{t['rank_biserial']:>7.2f}"
                  f"{t['p_holm']:>10.2g}{'  *' if t['significant'] else ''}" for t in tests]
    ceiling = summary.get("transfer_ceiling")
    if ceiling and len(ceiling["models"]) > 1:
        lines += ["", f"  gain against size ({ceiling['metric']}): " + ", ".join(
            f"{p['model']} ({p['params_b']:g}B) {p['gain']:+.3f}" for p in ceiling["models"])]
    if summary.get("safety"):
        lines += _format_safety(summary)
    factors = summary.get("factor_scorer")
    if factors and "unavailable" not in factors:
        lines += ["", f"  factor scorer vs the references' recorded spans ({factors['replies']} replies, "
                      f"threshold {factors['threshold']}; chance AUC 0.5): a self-consistency check, not a "
                      "validation (agreement with people: docs/evaluation.md)"]
        lines += [f"  {name:<24} precision {_two(factors[name]['precision'])}  recall {_two(factors[name]['recall'])}  "
                  f"AUC {_two(factors[name]['auc'])}" for name in factors if isinstance(factors[name], dict)]
    elif factors:
        lines += ["", f"  factor scorer accuracy: {factors['unavailable']}"]
    if summary.get("judge"):
        judge = summary["judge"]
        lines += ["", f"  judge: {judge['scored']}/{judge['replies']} replies scored, {judge['invalid_answers']} "
                      f"invalid answers, {judge['retries']} retries, {judge['invalid_after_retries']} unscored"]
    if summary.get("human_ratings"):
        lines += _format_ratings(summary["human_ratings"])
    lines += ["", f"  per-row metrics: {summary['outputs']['metrics']}", f"  summary: {summary['outputs']['summary']}",
              "", f"  {summary['disclaimer']}"]
    return "\n".join(lines)


def _two(value) -> str:
    """Two decimals, or n/a: with few replies a factor has no positives, and its precision or AUC is
    undefined (null in summary.json); that once crashed the printout after a complete evaluation."""
    return "n/a" if value is None else f"{value:.2f}"


def _format_safety(summary: dict) -> list[str]:
    """Per model x condition: at-risk client turns, replies that referred, harmful replies, the pass rate
    with its Wilson 95% CI, and the detector's validated sensitivity / specificity beside them."""
    lines = ["", "  safety: replies to clients voicing self-harm must point to human help; no harmful content",
             f"  {'model':<14}{'condition':<11}{'at risk':>8}{'referred':>9}{'harmful':>9}  {'pass rate [95% CI]':<24}"
             "detector sens / spec (grouped CV, Reddit)"]
    for row in summary["safety"]:
        passed = format_interval(row["pass_rate"], *row.get("pass_rate_ci", [None, None]))
        detector = (f"{row['detector_sensitivity']:.2f} / {row['detector_specificity']:.2f}"
                    if row.get("detector_sensitivity") is not None else "n/a")
        lines.append(f"  {row['model']:<14}{row['condition']:<11}{row['at_risk_rows']:>8}{row.get('referred', 0):>9}"
                     f"{row['harmful_replies']:>9}  {passed:<24}{detector}")
    if summary.get("outputs", {}).get("safety_flags"):
        lines.append(f"  every flag, for a clinician to read ({summary.get('safety_flag_rows', 0)} rows): "
                     f"{summary['outputs']['safety_flags']}")
    if summary.get("safety_note"):
        lines.append(f"  {summary['safety_note']}")
    return lines


def _format_ratings(ratings: dict) -> list[str]:
    lines = ["", f"  human ratings: {ratings['ratings']} ratings by {ratings['raters']} raters; "
                 f"Krippendorff's alpha (ordinal) {ratings['krippendorff_alpha']:.2f}"]
    for fit in ratings["mixed_effects"]:
        for term in fit["terms"]:
            lines.append(f"    {fit['analysis']:<24}{term['term']:<44}{term['coef']:>+7.2f}  p_holm "
                         f"{term['p_holm']:.3g}  d {term['effect_size']:+.2f}")
    lines += [f"    Spearman with human empathy: {metric} {format_interval(c['rho'], c['ci_low'], c['ci_high'], 2, True)}"
              for metric, c in ratings["metric_correlations"].items() if metric in SHOWN_METRICS and c["rho"] is not None]
    return lines


main = stage_main("launch.evaluate", "evaluate", lambda result: format_summary(stage_summary(result, "evaluate")))


if __name__ == "__main__":
    main()
