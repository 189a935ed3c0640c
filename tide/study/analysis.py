"""Analyse a study's ratings as the paper did, fitting what the design supports and saying which.

    python -m launch.study analyse RATINGS... --spec SPEC.yaml --json OUT.json [--runs RUN_DIR...]

- design: `crossed` when participants rate several items (a linear mixed model with crossed random
  intercepts for rater and, where items are rated more than once, item), `between` when each participant
  gives one rating (OLS with HC3 robust errors); an ordinal model of the same terms as a robustness check;
- effects: each factor level against its reference (spec `factors.NAME.reference`), crossed factors with
  their interaction (`analysis.effects: source * label`); simple effects of each factor at the other's
  levels; a key's systems `model/condition` give each model's condition effect;
- moderation: each demographic x each factor level, one fit per demographic (age continuous or grouped);
- scenarios: the focal factor's gains within each scenario;
- agreement: Krippendorff's alpha with a bootstrap CI (crossed), judge-human (spec `analysis.human` and
  `analysis.judges`) and metric-human (with `--runs`) Spearman with dialogue-clustered bootstrap CIs.

Holm's correction runs within each family (effects, simple effects, moderation, scenarios, ordinal) of
each outcome. Every finding here comes from the people who rated (or the raters the spec names).
"""

from __future__ import annotations

import pandas as pd

from tide.study import models
from tide.study.agreement import judge_agreement, metric_agreement, rater_alpha
from tide.study.describe import cell_means, interaction_means
from tide.study.quality import QualityReport, apply_quality
from tide.study.responses import Responses
from tide.study.spec import StudySpec
from tide.study.terms import (Factor, StudyAnalysisError, complete_cells, effects_design, factor_from, full_rank,
                              parse_effects)

REFERENCE_SYSTEM, ZERO_SHOT = "reference", "zero_shot"


def detect_design(ratings: pd.DataFrame) -> str:
    """`crossed` when some participant rated more than one item, else `between`."""
    return "crossed" if ratings.groupby("participant").size().max() > 1 else "between"


def study_factors(ratings: pd.DataFrame, spec: StudySpec) -> dict[str, Factor]:
    """The spec's factors with their levels as rated; without any, a key's `system` (reference replies first)."""
    if spec.factors:
        return {name: factor_from(ratings[name], name, f.reference, f"factors.{name}.reference")
                for name, f in spec.factors.items()}
    if "system" in ratings and ratings["system"].nunique() > 1:
        reference = REFERENCE_SYSTEM if REFERENCE_SYSTEM in set(ratings["system"]) else None
        return {"system": factor_from(ratings["system"], "system", reference, "factors.system.reference")}
    return {}  # nothing to compare: agreement only (e.g. several raters of the same conversations)


def effect_groups(ratings: pd.DataFrame, factors: dict[str, Factor], spec: StudySpec) -> list[list[Factor]]:
    """The spec's `analysis.effects`; by default every factor, crossed when every cell was rated, else added,
    leaving out a factor nested in the others (a condition that each system has one of)."""
    if spec.analysis.effects is not None:
        return [[factors[name] for name in group] for group in parse_effects(spec.analysis.effects)]
    every = list(factors.values())
    if not every or complete_cells(ratings, every):
        return [every] if every else []
    groups: list[list[Factor]] = []
    for factor in sorted(every, key=lambda f: -len(f.levels)):
        if full_rank(effects_design(ratings, [*groups, [factor]])):
            groups.append([factor])
    return groups


def pair_contrasts(groups: list[list[Factor]]) -> list[models.Contrast]:
    """In each group of two crossed factors, each factor's levels at each level of the other."""
    out = []
    for group in groups:
        if len(group) != 2:
            continue
        for this, other in (group, group[::-1]):
            for level in this.levels[1:]:
                for at in other.levels:
                    weights = {this.column(level): 1.0}
                    if at != other.reference:
                        pair = (this.column(level), other.column(at))
                        weights[":".join(pair if this is group[0] else pair[::-1])] = 1.0
                    out.append((f"{this.column(level)} | {other.name}={at}", weights))
    return out


def condition_contrasts(ratings: pd.DataFrame, factor: Factor, base: str = ZERO_SHOT) -> list[models.Contrast]:
    """For systems `model/condition` (the key's): each model's other conditions against its `base` one."""
    if factor.name != "system" or not {"model", "condition"} <= set(ratings):
        return []
    pairs = ratings.groupby("system")[["model", "condition"]].first()
    out = []
    for model, group in pairs.groupby("model"):
        conditions = dict(zip(group["condition"], group.index))
        first = base if base in conditions else sorted(conditions)[0]
        for condition, system in sorted(conditions.items()):
            if condition == first:
                continue
            weights = {factor.column(s): w for s, w in ((system, 1.0), (conditions[first], -1.0))
                       if s != factor.reference}
            out.append((f"condition[{condition}] | model={model}", weights))
    return out


def setup_for(ratings: pd.DataFrame, spec: StudySpec) -> tuple[models.Setup, dict[str, Factor]]:
    factors = study_factors(ratings, spec)
    groups = effect_groups(ratings, factors, spec)
    base = factors["condition"].reference if "condition" in factors else ZERO_SHOT
    contrasts = pair_contrasts(groups) + [c for g in groups if len(g) == 1
                                          for c in condition_contrasts(ratings, g[0], base)]
    focal = spec.analysis.focal or ("condition" if any(t.startswith("condition[") for t, _ in contrasts)
                                    else next(iter(factors), None))
    gains = [c for c in contrasts if c[0].startswith(f"{focal}[")]
    if not gains and focal in factors:
        gains = [(factors[focal].column(level), {factors[focal].column(level): 1.0})
                 for level in factors[focal].levels[1:]]
    within = [c for c in contrasts if c[0].startswith("condition[")]
    moderated = within or [(column, {column: 1.0}) for g in groups for f in g for column in f.columns()]
    design = detect_design(ratings)
    items_repeat = bool(ratings.groupby("item")["participant"].nunique().max() > 1)
    return models.Setup(design, tuple(map(tuple, groups)), tuple(contrasts), tuple(gains), tuple(moderated),
                        items_repeat), factors


def analyse_outcome(setup: models.Setup, rows: pd.DataFrame, name: str, spec: StudySpec, focal: str) -> dict:
    """Every family for one outcome, on the rows that answered it."""
    rows = rows[rows[name].notna()].reset_index(drop=True)
    factor_names = [f.name for g in setup.groups for f in g]
    out = {"n": int(len(rows)), "participants": int(rows["participant"].nunique()),
           "means": cell_means(rows, name, factor_names), "effects": [], "moderation": []}
    if setup.groups:
        fit, out["effects"], out["simple_effects"] = models.effects(setup, rows, name)
        out.update(model=fit.model, converged=fit.converged, variance=fit.variance, warnings=fit.warnings)
        out["moderation"], out["moderation_fits"] = models.moderation(setup, rows, name, spec.demographics)
    out["interaction_means"] = {d: interaction_means(rows, name, focal, d, s) for d, s in spec.demographics.items()
                                if focal in rows}
    out["scenarios"], out["scenarios_note"] = (models.scenarios(setup, rows, name, spec.analysis.scenario)
                                               if spec.analysis.scenario and setup.groups else ([], "no scenario column"))
    if spec.analysis.ordinal and setup.groups:
        out["ordinal"] = models.ordinal(setup, rows, name)
    a = spec.analysis
    out["alpha"] = (rater_alpha(rows, name, spec.outcomes[name], a.alpha_level, a.n_boot, a.seed)
                    if setup.design == "crossed" else
                    {"alpha": None, "why": "between-subjects: each participant rated one reply, no reply twice"})
    return out


def analyse(responses: Responses, metrics: pd.DataFrame | None = None) -> dict:
    """The whole analysis of imported responses as the JSON `launch.study analyse` writes."""
    spec = responses.spec
    quality = apply_quality(responses.table, spec.quality, spec.outcomes)
    ratings = quality.table[quality.table["kind"] == "rating"].reset_index(drop=True)
    if ratings.empty:
        raise StudyAnalysisError("no rating is left to analyse after the exclusions")
    people = [*spec.analysis.human, *spec.analysis.judges]
    rated = ratings[~ratings["participant"].isin(spec.analysis.judges)] if people else ratings
    setup, factors = setup_for(rated, spec)
    focal = spec.analysis.focal or ("condition" if "condition" in rated else next(iter(factors), ""))
    out = {"design": setup.design, "model": setup.model(), "n_participants": int(rated["participant"].nunique()),
           "n_ratings": int(len(rated)), **_quality_json(quality),
           "factors": {f.name: {"reference": f.reference, "levels": list(f.levels)} for f in factors.values()},
           "effects_formula": " + ".join(" * ".join(f.name for f in g) for g in setup.groups), "focal": focal,
           "outcomes": {}, "from_people": True}
    for name in spec.outcomes:
        out["outcomes"][name] = analyse_outcome(setup, rated, name, spec, focal)
        if spec.analysis.judges:
            a = spec.analysis
            out["outcomes"][name]["judges"] = judge_agreement(ratings, name, spec.outcomes[name], a.human, a.judges,
                                                              a.alpha_level, a.n_boot, a.seed)
        if metrics is not None:
            out["outcomes"][name]["metrics"] = metric_agreement(rated, name, metrics, spec.analysis.n_boot,
                                                                spec.analysis.seed)
    return out


def _quality_json(quality: QualityReport) -> dict:
    return {"excluded": quality.excluded, "flagged": quality.flagged, "participants_before_exclusions":
            quality.participants}
