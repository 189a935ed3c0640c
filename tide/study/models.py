"""The families of tests the analysis reports for one outcome, each Holm-corrected within itself.

- effects: the fitted terms of the effects design (each factor level against its reference, and the
  interactions of crossed factors);
- simple effects: a factor's effect at each level of the factor crossed with it (`label[human label] |
  source=human response`), and, for a key's systems `model/condition`, each model's condition effect
  (`condition[finetuned] | model=qwen`);
- moderation: each demographic x each factor level (`label[human label]:age`), one fit per demographic;
- scenarios: the gains (the simple effects of the focal factor, or its levels) within each scenario;
- ordinal: the effects design as a proportional-odds model, the robustness check.

The model is the design's: a linear mixed model with crossed random intercepts (rater, item) for repeated
measures, OLS with HC3 errors for one rating per participant (tide/evaluate/effects.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tide.evaluate.effects import Fit, contrast, fit_crossed, fit_ols, fit_ordinal, holm
from tide.study.terms import Factor, centred, dummies, effects_design, factor_from, full_rank, product

Contrast = tuple[str, dict[str, float]]  # (term, {design column: weight})


@dataclass(frozen=True)
class Setup:
    design: str                       # "crossed" | "between"
    groups: tuple[tuple[Factor, ...], ...]  # the effects: factors crossed within a group, added across
    contrasts: tuple[Contrast, ...]   # the simple effects
    gains: tuple[Contrast, ...]       # what "a gain" means per scenario (the focal factor's effects)
    moderated: tuple[Contrast, ...]   # the effects each demographic may moderate
    item_effects: bool                # items rated by more than one participant: a random intercept for item

    def model(self) -> str:
        if not self.groups:
            return "no factors to compare: agreement only"
        return ("linear mixed model (REML), crossed random intercepts for rater and item" if self.design == "crossed"
                else "OLS with HC3 robust standard errors")


def fit(setup: Setup, rows: pd.DataFrame, outcome: str, design: pd.DataFrame) -> Fit:
    if not full_rank(design):
        raise ValueError(f"{outcome}: the design is not estimable (a factor level is confounded with another); "
                         "set analysis.effects to fewer or added (+) factors")
    if setup.design == "crossed":
        return fit_crossed(rows[outcome], design, rows["participant"], rows["item"] if setup.item_effects else None)
    return fit_ols(rows[outcome], design)


def _public(terms: list[dict]) -> list[dict]:
    return [{k: t[k] for k in ("term", "estimate", "ci_low", "ci_high", "p", "p_holm", "se") if k in t}
            | {k: v for k, v in t.items() if k in ("demographic", "scenario", "gain")} for t in terms]


def effects(setup: Setup, rows: pd.DataFrame, outcome: str) -> tuple[Fit, list[dict], list[dict]]:
    """(fit, effects, simple effects) of the effects design on the rows rated."""
    design = effects_design(rows, [list(g) for g in setup.groups])
    result = fit(setup, rows, outcome, design)
    simple = [contrast(result, weights, term) for term, weights in setup.contrasts]
    return result, _public(holm(result.terms)), _public(holm(simple))


def moderation(setup: Setup, rows: pd.DataFrame, outcome: str, demographics: dict) -> tuple[list[dict], dict]:
    """(terms, per-demographic notes): how each demographic changes each moderated effect (`label[human
    label]:age`, `condition[finetuned]:age_group[60+] | model=qwen`), Holm over all demographics."""
    terms, notes = [], {}
    for name, spec in demographics.items():
        used, column, note = demographic_block(rows, name, spec)
        notes[name] = note
        if column is None:
            continue
        design = effects_design(used, [list(g) for g in setup.groups])
        mains = design[sorted({c for _, weights in setup.moderated for c in weights})]
        try:
            result = fit(setup, used, outcome, pd.concat([design, column, product(mains, column)], axis=1))
        except (ValueError, np.linalg.LinAlgError) as error:
            notes[name] = {**note, "error": str(error).split("\n")[0]}
            continue
        for effect, weights in setup.moderated:
            for part in column.columns:
                left, _, right = effect.partition(" | ")
                term = f"{left}:{part}" + (f" | {right}" if right else "")
                terms.append({**contrast(result, {f"{c}:{part}": w for c, w in weights.items()}, term),
                              "demographic": name})
        notes[name] = {**note, "n": result.n}
    return _public(holm(terms)), notes


def demographic_block(rows: pd.DataFrame, name: str, spec) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """(rows used, the demographic's design columns, note): missing answers and levels rarer than
    min_group participants are left out of this fit, and the note says so."""
    values = rows[name]
    present = rows[values.notna()]
    note = {"missing": int(rows.loc[values.isna(), "participant"].nunique())}
    numeric = spec.type == "numeric" and spec.groups is None
    if numeric:
        note = {**note, "type": "numeric", "per": spec.per}
        if present[name].nunique() < 2:
            return present, None, {**note, "error": "every participant gave the same answer"}
        return present.reset_index(drop=True), centred(present[name], name, spec.per), note
    counts = present.groupby(name)["participant"].nunique()
    rare = sorted(counts[counts < spec.min_group].index)
    used = present[~present[name].isin(rare)].reset_index(drop=True)
    note = {**note, "type": "categorical", "left_out": {str(level): int(counts[level]) for level in rare}}
    if used[name].nunique() < 2:
        return used, None, {**note, "error": "fewer than two groups with enough participants"}
    order = list(_group_order(used[name], spec))
    factor = factor_from(used[name], name, order[0], f"demographics.{name}")
    return used, dummies(used[name], factor), {**note, "reference": factor.reference}


def _group_order(values: pd.Series, spec) -> list[str]:
    """Grouped numbers in their numeric order (youngest first); categories largest first (the reference)."""
    if spec.groups is not None:
        from tide.study.demographics import group_labels

        return [label for label in group_labels(spec.groups) if label in set(values)]
    counts = values.value_counts()
    return sorted(counts.index, key=lambda level: (-counts[level], str(level)))


def scenarios(setup: Setup, rows: pd.DataFrame, outcome: str, column: str) -> tuple[list[dict], str]:
    """(terms, note): each gain within each scenario, from one fit with the effects x scenario interactions."""
    if not setup.gains or column not in rows or rows[column].nunique() < 2:
        return [], "no gain to split" if not setup.gains else f"fewer than two scenarios in {column!r}"
    scenario = factor_from(rows[column], "scenario", None, "analysis.scenario")
    design = effects_design(rows, [list(g) for g in setup.groups])
    used = sorted({c for _, weights in setup.gains for c in weights})
    levels = dummies(rows[column], scenario)
    try:
        result = fit(setup, rows, outcome, pd.concat([design, levels, product(design[used], levels)], axis=1))
    except (ValueError, np.linalg.LinAlgError) as error:  # too few ratings per scenario to split
        return [], str(error).split("\n")[0]
    terms = []
    for level in scenario.levels:
        for gain, weights in setup.gains:
            extra = {} if level == scenario.reference else {f"{c}:{scenario.column(level)}": w for c, w in weights.items()}
            terms.append({**contrast(result, {**weights, **extra}, f"{gain} | scenario={level}"),
                          "scenario": level, "gain": gain})
    return _public(holm(terms)), f"{len(scenario.levels)} scenarios, one fit with the gains x scenario"


def ordinal(setup: Setup, rows: pd.DataFrame, outcome: str) -> dict:
    """The effects design as a proportional-odds logit (log-odds; rounded to whole points if needed)."""
    values = rows[outcome].to_numpy(dtype=float)
    rounded = bool(np.any(values % 1))
    design = effects_design(rows, [list(g) for g in setup.groups])
    try:
        result = fit_ordinal(np.rint(values), design, rows["participant"] if setup.design == "crossed" else None)
    except (ValueError, np.linalg.LinAlgError) as error:
        return {"model": "ordinal logit", "error": str(error).split("\n")[0]}
    return {"model": result.model, "converged": result.converged, "n": result.n,
            "outcome": "rounded to whole scale points" if rounded else "as rated",
            "effects": _public(holm(result.terms))}
