"""Fine-tuned vs zero-shot on the same dialogues: per-metric gain with its CI, end-of-turn rates, samples.

The comparison the demo prints and the report shows, computed from the per-row metrics of evaluated
runs (the evaluate stage's per-row metrics, which carry each reply, its finish reason, the client turn
and the reference). The gain of a metric is the mean over dialogues of (fine-tuned - zero-shot) on the same
dialogue; its 95% CI is a percentile bootstrap of that mean over dialogues, and its p-value the
two-sided Wilcoxon signed-rank test of the pairs (tide.evaluate.stats.paired_tests, Holm-corrected).
"""

from __future__ import annotations

import math

import pandas as pd

from tide.core.domain import FINETUNED, ZERO_SHOT
from tide.core.intervals import bootstrap_mean, format_interval
from tide.evaluate.stats import paired_frame, paired_tests

CONDITIONS = (ZERO_SHOT, FINETUNED)
SAMPLE_WIDTH = 220  # characters of each text in a side-by-side sample


def gains(rows: pd.DataFrame, metrics: list[str], n_boot: int = 1000, seed: int = 0) -> dict:
    """{metric: {mean, ci_low, ci_high, p, p_holm, pairs}} of fine-tuned minus zero-shot, one model's rows."""
    numeric = rows.assign(safety_pass=rows["safety_pass"].astype(float)) if "safety_pass" in rows else rows
    tests = {t["metric"]: t for t in paired_tests(numeric, metrics)}
    out = {}
    for metric in metrics:
        pairs = paired_frame(numeric, metric)
        if pairs is None or not len(pairs):
            continue
        mean, low, high = bootstrap_mean((pairs[FINETUNED] - pairs[ZERO_SHOT]).to_numpy(), n_boot, seed)
        test = tests.get(metric, {})
        out[metric] = {"mean": mean, "ci_low": low, "ci_high": high, "p": test.get("p", math.nan),
                       "p_holm": test.get("p_holm", math.nan), "pairs": int(len(pairs))}
    return out


def eos_rates(rows: pd.DataFrame) -> dict:
    """Per condition, the share of replies that ended with the end-of-turn token (finish_reason 'eos')."""
    return {condition: float((group["finish_reason"] == "eos").mean())
            for condition, group in rows.groupby("condition") if condition in CONDITIONS}


def side_by_side(rows: pd.DataFrame, count: int = 3, seed: int = 0) -> list[dict]:
    """`count` dialogues answered in both conditions: client turn, reference, zero-shot and fine-tuned reply."""
    replies = rows.pivot_table(index="dialogue_id", columns="condition", values="reply", aggfunc="first")
    replies = replies.dropna(subset=[c for c in CONDITIONS if c in replies])
    if not all(c in replies for c in CONDITIONS) or not len(replies):
        return []
    chosen = replies.sample(n=min(count, len(replies)), random_state=seed).index
    context = rows.drop_duplicates("dialogue_id").set_index("dialogue_id")
    return [{"dialogue_id": dialogue, "scenario": context.at[dialogue, "scenario"],
             "client": context.at[dialogue, "client"], "reference": context.at[dialogue, "reference"],
             ZERO_SHOT: replies.at[dialogue, ZERO_SHOT], FINETUNED: replies.at[dialogue, FINETUNED]}
            for dialogue in sorted(chosen)]


def shorten(text: str, width: int = SAMPLE_WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def format_gains(gain: dict, headline: list[str] | None = None) -> list[str]:
    """Terminal lines: one per metric, gain [95% CI] and p, headline metrics first."""
    order = [m for m in (headline or []) if m in gain] + [m for m in gain if m not in (headline or [])]
    lines = [f"  {'metric':<22}{'gain':>9}  {'95% CI':<21}{'p':>9}"]
    for metric in order:
        g = gain[metric]
        value, _, ci = format_interval(g["mean"], g["ci_low"], g["ci_high"], digits=4, signed=True).partition(" ")
        lines.append(f"  {metric:<22}{value:>9}  {ci:<21}{g['p']:>9.2g}")
    return lines


def format_samples(samples: list[dict]) -> list[str]:
    lines = []
    for sample in samples:
        lines += [f"  -- {sample['dialogue_id']} ({sample['scenario']})",
                  f"     client:     {shorten(sample['client'])}",
                  f"     reference:  {shorten(sample['reference'])}",
                  f"     zero-shot:  {shorten(sample[ZERO_SHOT])}",
                  f"     fine-tuned: {shorten(sample[FINETUNED])}"]
    return lines
