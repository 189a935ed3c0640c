"""Agreement in a study: among raters (Krippendorff's alpha with a bootstrap CI), of automatic raters
(LLM judges) with the human raters, and of the suite's metrics with the human ratings.

Correlations are Spearman's rho, each with a percentile CI from a cluster bootstrap over dialogues (the
key's dialogue_id, else the item): several replies to one dialogue are not independent
(tide.evaluate.agreement.correlation_with_ci). Metric-human agreement pools every run's scored replies
that were rated, whatever their model or condition, so it is never one condition's correlation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tide.evaluate.agreement import alpha_with_ci, correlation_with_ci

KEYS = ("dialogue_id", "model", "condition")


def _domain(outcome) -> list[float] | None:
    """The scale's points when every answer is a whole number (ordinal alpha's value domain), else None."""
    return list(np.arange(outcome.min, outcome.max + 1)) if outcome.integer else None


def _clusters(rows: pd.DataFrame) -> pd.Series:
    if "dialogue_id" in rows and rows["dialogue_id"].notna().all():
        return rows["dialogue_id"].astype(str)
    return rows["item"].astype(str)


def rater_alpha(rows: pd.DataFrame, name: str, outcome, level: str, n_boot: int, seed: int) -> dict:
    """Krippendorff's alpha among the participants who rated the same items, with its bootstrap CI."""
    matrix = rows.pivot_table(index="participant", columns="item", values=name, aggfunc="mean")
    if matrix.shape[1] == 0 or (matrix.notna().sum(axis=0) >= 2).sum() < 2:
        return {"alpha": None, "why": "no item rated by two participants: agreement is not measurable"}
    domain = _domain(outcome) if level == "ordinal" else None
    found = alpha_with_ci(matrix.to_numpy(dtype=float), level, domain, n_boot, seed)
    return {**found, "n_boot": n_boot, "ci_over": "items (bootstrap, all of an item's ratings kept together)"}


def judge_agreement(rows: pd.DataFrame, name: str, outcome, human: tuple[str, ...], judges: tuple[str, ...],
                    level: str, n_boot: int, seed: int) -> dict:
    """Humans' alpha; each judge's and each human's Spearman with the (other) humans' mean per item."""
    matrix = rows.pivot_table(index="participant", columns="item", values=name, aggfunc="mean")
    missing = [p for p in (*human, *judges) if p not in matrix.index]
    if missing:
        raise ValueError(f"analysis.human/judges: {missing[0]!r} rated nothing (raters: {', '.join(matrix.index)})")
    items = rows.drop_duplicates("item")
    clusters = pd.Series(_clusters(items).to_numpy(), index=items["item"]).reindex(matrix.columns)
    people = matrix.loc[list(human)]
    domain = _domain(outcome) if level == "ordinal" else None
    out = {"human_alpha": alpha_with_ci(people.to_numpy(dtype=float), level, domain, n_boot, seed), "judges": {},
           "humans": {}}
    for judge in judges:
        with_judge = matrix.loc[[*human, judge]].to_numpy(dtype=float)
        out["judges"][judge] = {
            **correlation_with_ci(matrix.loc[judge], people.mean(axis=0), clusters, n_boot, seed),
            "alpha_with_humans": alpha_with_ci(with_judge, level, domain, n_boot, seed)}
    for person in human:  # the ceiling a judge is held to: how one person agrees with the others
        others = people.drop(index=person).mean(axis=0)
        out["humans"][person] = correlation_with_ci(people.loc[person], others, clusters, n_boot, seed)
    return out


def load_metrics(runs) -> pd.DataFrame:
    """Every scored reply of these evaluated runs with its metric and judge columns (found by stage record)."""
    from tide.evaluate.scoring import metric_columns
    from tide.stages.records import stage_output
    from tide.study.sources import find_runs

    frames = []
    for run in find_runs([Path(r) for r in runs]):
        frame = pd.read_parquet(stage_output(run, "evaluate", "metrics"))
        frames.append(frame[[*KEYS, *metric_columns(frame)]].assign(run=run.name))
    return pd.concat(frames, ignore_index=True)


def metric_agreement(rows: pd.DataFrame, name: str, metrics: pd.DataFrame, n_boot: int, seed: int) -> dict:
    """Each metric's (and judge score's) Spearman with the mean human rating per reply, pooled over runs."""
    if not set(KEYS) <= set(rows.columns):
        return {}
    human = rows.groupby(list(KEYS), as_index=False)[name].mean()
    joined = human.merge(metrics, on=list(KEYS), how="inner")
    out = {}
    for column in [c for c in metrics.columns if c not in (*KEYS, "run")]:
        pairs = joined[[column, name, "dialogue_id"]].dropna()
        if len(pairs) >= 4 and pairs[column].nunique() > 1:
            out[column] = {**correlation_with_ci(pairs[column].astype(float), pairs[name], pairs["dialogue_id"],
                                                 n_boot, seed),
                           "kind": "judge" if column.startswith("judge_") else "metric",
                           "runs": int(joined.loc[pairs.index, "run"].nunique())}
    return out
