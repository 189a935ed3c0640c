"""Who is left out of the analysis, and why: attention checks, gold items, speeders, straight-liners.

Each rule of the spec's `quality` section has an action: `exclude` (the participant's ratings leave the
analysis), `flag` (listed, kept) or `ignore`.

- attention: instructed-response items (the key's kind `attention`, e.g. `*=2`: "select 2 on every
  scale"); a participant failing more than `max_failures` of those answered is excluded by default;
- gold: items with an obvious answer (kind `gold`, e.g. `perceived_empathy<=2` for a plainly dismissive
  reply), the same way;
- speeders: faster than `min_seconds`, or than `fraction_of_median` of the median participant's time
  (0.3 by default; a participant's time is the sum of per-item durations, or the one value repeated on
  every row); flagged by default;
- straight-liners: at least `min_answers` rating answers (every outcome of every rating item, and the
  rule's extra `columns` of a wide export), all the same value; flagged by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tide.study.spec import QualitySpec, parse_expected, passes


@dataclass
class QualityReport:
    table: pd.DataFrame                          # the rows of the participants kept
    excluded: list[dict] = field(default_factory=list)   # {participant, reasons}
    flagged: list[dict] = field(default_factory=list)    # {participant, reasons}: kept, but listed
    participants: int = 0                        # before exclusions

    def describe(self) -> str:
        return (f"{self.participants} participants, {len(self.excluded)} excluded, {len(self.flagged)} flagged, "
                f"{self.table['participant'].nunique()} analysed")


def apply_quality(table: pd.DataFrame, quality: QualitySpec, outcomes) -> QualityReport:
    """Run every rule; the kept rows and the lists of excluded and flagged participants with their reasons."""
    found: dict[str, dict[str, list[str]]] = {"exclude": {}, "flag": {}}
    rules = ((quality.attention.action, check_failures(table, "attention", outcomes, quality.attention.max_failures)),
             (quality.gold.action, check_failures(table, "gold", outcomes, quality.gold.max_failures)),
             (quality.speeders.action, speeders(table, quality.speeders.min_seconds,
                                                quality.speeders.fraction_of_median)),
             (quality.straightliners.action, straightliners(table, outcomes, quality.straightliners.min_answers)))
    for action, reasons in rules:
        if action == "ignore":
            continue
        for participant, reason in reasons.items():
            found[action].setdefault(participant, []).append(reason)
    excluded = found["exclude"]
    kept = table[~table["participant"].isin(excluded)]
    return QualityReport(kept, [{"participant": p, "reasons": r} for p, r in sorted(excluded.items())],
                         [{"participant": p, "reasons": r} for p, r in sorted(found["flag"].items()) if p not in excluded],
                         int(table["participant"].nunique()))


def check_failures(table: pd.DataFrame, kind: str, outcomes, max_failures: int) -> dict[str, str]:
    """participant -> reason, for those failing more than max_failures of their `kind` items."""
    rows = table[table["kind"] == kind]
    out = {}
    for participant, group in rows.groupby("participant", sort=True):
        failed = [item for item, expected, answers in zip(group["item"], group["expected"],
                                                          group[list(outcomes)].to_dict("records"))
                  if not passes(parse_expected(expected, outcomes), answers)]
        if len(failed) > max_failures:
            out[participant] = f"failed {len(failed)} of {len(group)} {kind} check(s) ({', '.join(failed)})"
    return out


def participant_seconds(table: pd.DataFrame) -> pd.Series:
    """Each participant's time: the one value when every row repeats it, else the sum of per-item times."""
    def seconds(values: pd.Series) -> float:
        values = values.dropna()
        if values.empty:
            return np.nan
        return float(values.iloc[0]) if values.nunique() == 1 and len(values) > 1 else float(values.sum())
    return table.groupby("participant")["duration"].agg(seconds)


def speeders(table: pd.DataFrame, min_seconds: float | None, fraction_of_median: float | None) -> dict[str, str]:
    """participant -> reason, for those faster than the threshold (the larger of the two rules set)."""
    if "duration" not in table or table["duration"].isna().all():
        return {}
    seconds = participant_seconds(table)
    median = float(seconds.median())
    relative = fraction_of_median * median if fraction_of_median else 0.0
    threshold = max(min_seconds or 0.0, relative)
    why = (f"{fraction_of_median:g} x the median {median:.0f} s" if relative >= (min_seconds or 0.0)
           else f"min_seconds {min_seconds:g}")
    return {p: f"took {s:.0f} s, under {threshold:.0f} s ({why})" for p, s in seconds.items() if s < threshold}


def straightliners(table: pd.DataFrame, outcomes, min_answers: int) -> dict[str, str]:
    """participant -> reason, for at least min_answers rating answers that are all the same."""
    rows = table[table["kind"] == "rating"]
    extra = [c for c in rows.columns if c.startswith("answer:")]
    out = {}
    for participant, group in rows.groupby("participant", sort=True):
        answers = pd.concat([group[c] for c in [*outcomes, *extra]]).dropna()
        if len(answers) >= min_answers and answers.nunique() == 1:
            out[participant] = f"gave all {len(answers)} rating answers the same value ({answers.iloc[0]:g})"
    return out
