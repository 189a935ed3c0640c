"""Human ratings: import and validate a CSV, analyse it the way the paper did, and a synthetic generator.

CSV (one row per rater x rated reply; UTF-8, header row):

| column | required | content |
|---|---|---|
| rater_id | yes | who rated |
| item_id | yes | the dialogue the reply answers (the generation's dialogue_id) |
| model, condition | yes | which reply was rated (condition: zero_shot / finetuned / reference ...) |
| empathy | yes | perceived empathy, an integer 1..scale (`3.0` reads as 3; `3.5` is an error) |
| emotion_recognition, distress_normalization, supportive_reflection | no | the factors, 1..scale |
| age_group, gender, education | no | the rater's demographics; one value per rater |
| scenario | no | the dialogue's scenario |

Analyses:
- `mixed_effects`: linear mixed model (statsmodels MixedLM, REML) of a rating on fixed effects with
  crossed random intercepts for rater and item (one group holding both as variance components).
  `analyse_ratings` fits rating ~ condition, then rating ~ condition * demographic for each demographic
  column present. Each fixed term has coefficient, SE, z, p (Holm-corrected within its model), 95% CI
  and a standardised effect size (coefficient / total SD of the random effects and residual).
- `krippendorff_alpha`: inter-rater agreement on ordinal ratings of the same replies.
- `metric_correlations`: Spearman rho of each automatic metric with the mean human rating per reply,
  with a 95% CI from Fisher's z with the Fieller-Hartley-Pearson variance 1.06 / (n - 3).
- `synthetic_ratings`: seeded ratings with planted effects, for tests and the demo.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

import numpy as np

from tide.core.domain import CONDITIONS, FACTORS, FINETUNED, ZERO_SHOT
from tide.core.intervals import fisher_z_interval

REQUIRED = ("rater_id", "item_id", "model", "condition", "empathy")
FACTOR_COLUMNS = FACTORS
DEMOGRAPHICS = ("age_group", "gender", "education")
OPTIONAL = (*FACTOR_COLUMNS, *DEMOGRAPHICS, "scenario")
LIKERT = ("empathy", *FACTOR_COLUMNS)
MAX_ERRORS_SHOWN = 20


class RatingsFormatError(ValueError):
    """A ratings CSV that cannot be analysed; the message names the file, line and column of each problem."""


def read_ratings(path: str | Path, scale: int = 5):
    """The validated ratings as a DataFrame (Likert columns as integers); raises RatingsFormatError."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise RatingsFormatError(f"{path}: ratings file not found")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise RatingsFormatError(f"{path}: missing required column(s) {missing}; header is {header}; "
                                     f"required: {list(REQUIRED)}, optional: {list(OPTIONAL)}")
        reader.fieldnames = header
        rows = [(line, {k: (v or "").strip() for k, v in row.items() if k is not None})
                for line, row in enumerate(reader, start=2)]
    errors = _validate(rows, [c for c in (*REQUIRED, *OPTIONAL) if c in header], scale)
    if errors:
        shown = "\n  ".join(errors[:MAX_ERRORS_SHOWN])
        more = f"\n  ... and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise RatingsFormatError(f"{path}: {len(errors)} problem(s):\n  {shown}{more}")
    if not rows:
        raise RatingsFormatError(f"{path}: no ratings (header only)")
    columns = [c for c in (*REQUIRED, *OPTIONAL) if c in header]
    frame = pd.DataFrame([{c: row[c] for c in columns} for _, row in rows])
    for column in LIKERT:
        if column in frame:
            # A blank optional rating (pandas writes the rest of such a column as 3.0) stays missing.
            blank = frame[column] == ""
            frame[column] = pd.to_numeric(frame[column].mask(blank)).astype("Int64" if blank.any() else int)
    return frame


def import_ratings(path: str | Path, scale: int = 5, generations_dir: str | Path | None = None):
    """`read_ratings`, then refused unless the file can support the analysis (`check_comparison`) and, when
    `generations_dir` already holds the rated replies, unless every rated item is one of them (`check_items`).
    What the commands do before any stage runs; the evaluation checks the items again before scoring."""
    frame = read_ratings(path, scale)
    check_comparison(frame, path)
    if generations_dir is not None and any(Path(generations_dir).glob("*/*.parquet")):
        from tide.evaluate.inputs import load_generations

        check_items(frame, load_generations(generations_dir)["dialogue_id"], path, generations_dir)
    return frame


def check_comparison(frame, path, reference: str = ZERO_SHOT) -> None:
    """The analysis compares each condition with `reference`: a file without it, or with nothing else, cannot
    support it (e.g. the synthetic ratings of a run that generated one condition)."""
    conditions = sorted(set(frame["condition"]))
    if reference not in conditions or len(conditions) < 2:
        raise RatingsFormatError(f"{path}: rates condition(s) {conditions} only; the analysis compares each "
                                 f"condition with {reference!r}, so it needs ratings of {reference!r} replies and "
                                 f"of at least one other condition")


def check_items(frame, dialogue_ids, path, where) -> None:
    """Every rated item_id must be a dialogue whose replies are in `where` (the generations): one line listing
    how many are not, and the first of them."""
    known = set(dialogue_ids)
    unknown = sorted(set(frame["item_id"]) - known)
    if unknown:
        ratings = int(frame["item_id"].isin(unknown).sum())
        raise RatingsFormatError(f"{path}: {len(unknown)} unknown item(s) in {ratings} rating(s), not among the "
                                 f"{len(known)} dialogues replied to in {where}: {', '.join(unknown[:5])}"
                                 f"{' ...' if len(unknown) > 5 else ''}")


def _validate(rows, columns: list[str], scale: int) -> list[str]:
    errors, seen, demographics = [], {}, {}
    for line, row in rows:
        for column in columns:
            value = row.get(column, "")
            if column in REQUIRED and not value:
                errors.append(f"line {line}, column {column!r}: empty")
            elif column in LIKERT and value:
                rating = likert_value(value)
                if rating is None or not 1 <= rating <= scale:
                    errors.append(f"line {line}, column {column!r}: {value!r} is not an integer rating 1..{scale}")
                else:
                    row[column] = str(rating)
        key = tuple(row.get(c, "") for c in ("rater_id", "item_id", "model", "condition"))
        if key in seen:
            errors.append(f"line {line}: duplicate rating of item {key[1]!r} ({key[2]}, {key[3]}) by rater "
                          f"{key[0]!r} (first on line {seen[key]})")
        seen.setdefault(key, line)
        for column in DEMOGRAPHICS:
            if column in columns:
                first = demographics.setdefault((row["rater_id"], column), (row[column], line))
                if first[0] != row[column]:
                    errors.append(f"line {line}, column {column!r}: rater {row['rater_id']!r} has {row[column]!r} "
                                  f"here but {first[0]!r} on line {first[1]}")
    return errors


def likert_value(text: str) -> int | None:
    """The integer a rating cell holds: "3", and "3.0" as survey tools and pandas write it; else None ("3.5")."""
    if text.isdigit():
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None  # is_integer() is False for nan and inf


_TERM = re.compile(r"C\((\w+)(?:,\s*Treatment\([^)]*\))?\)\[T\.([^\]]+)\]")


def _readable(term: str) -> str:
    """patsy's "C(condition, Treatment('zero_shot'))[T.finetuned]" -> "condition=finetuned"."""
    return _TERM.sub(lambda m: f"{m.group(1)}={m.group(2)}", term)


def _factor(column: str, reference: str) -> str:
    return f"C({column}, Treatment({reference!r}))"


def mixed_effects(frame, outcome: str, fixed: str, name: str | None = None, alpha: float = 0.05) -> dict:
    """Fit `outcome ~ fixed` with crossed random intercepts for rater and item; fixed terms as dicts."""
    from tide.evaluate.effects import crossed_mixed_model, holm

    result, variances = crossed_mixed_model(frame, f"{outcome} ~ {fixed}", "rater_id", "item_id")
    total_sd = math.sqrt(sum(variances.values()))
    ci = result.conf_int(alpha=alpha)
    terms = [t for t in result.fe_params.index if t != "Intercept"]
    adjusted = holm([{"p": float(result.pvalues[t])} for t in terms])
    return {
        "analysis": name or fixed, "outcome": outcome, "formula": f"{outcome} ~ {fixed}", "n": int(len(frame)),
        "raters": int(frame["rater_id"].nunique()), "items": int(frame["item_id"].nunique()),
        "variance": variances, "converged": bool(result.converged),
        "terms": [{"term": _readable(t), "coef": float(result.fe_params[t]), "se": float(result.bse[t]),
                   "z": float(result.tvalues[t]), "p": a["p"], "p_holm": a["p_holm"],
                   "ci_low": float(ci.loc[t, 0]), "ci_high": float(ci.loc[t, 1]),
                   "effect_size": float(result.fe_params[t]) / total_sd}
                  for t, a in zip(terms, adjusted)],
    }


def analyse_ratings(frame, outcome: str = "empathy", reference_condition: str = ZERO_SHOT,
                    demographics=DEMOGRAPHICS) -> list[dict]:
    """rating ~ condition, then rating ~ condition * demographic for each demographic column present."""
    if frame[outcome].isna().any():
        raise RatingsFormatError(f"{outcome}: missing values; validate with read_ratings first")
    if reference_condition not in set(frame["condition"]):
        raise RatingsFormatError(f"condition: reference level {reference_condition!r} not in the ratings "
                                 f"(found {sorted(set(frame['condition']))})")
    condition = _factor("condition", reference_condition)
    fits = [mixed_effects(frame, outcome, condition, name="condition")]
    for column in demographics:
        if column in frame and frame[column].nunique() > 1:
            reference = sorted(frame[column].unique())[0]
            fits.append(mixed_effects(frame, outcome, f"{condition} * {_factor(column, reference)}",
                                      name=f"condition x {column}"))
    return fits


def krippendorff_alpha(frame, column: str = "empathy", scale: int = 5) -> float:
    """Ordinal Krippendorff's alpha; a unit is one rated reply (item, model, condition)."""
    from tide.evaluate.agreement import krippendorff_alpha as alpha

    units = frame[["item_id", "model", "condition"]].astype(str).agg("|".join, axis=1)
    matrix = frame.assign(_unit=units).pivot_table(index="rater_id", columns="_unit", values=column, aggfunc="mean")
    return alpha(matrix.to_numpy(dtype=float), "ordinal", list(range(1, scale + 1)))


def spearman_ci(x, y, level: float = 0.95) -> dict:
    """Spearman rho, its p-value and a Fisher-z CI (variance 1.06 / (n - 3), Fieller et al. 1957)."""
    from scipy.stats import spearmanr

    n = len(x)
    if n < 2 or np.ptp(np.asarray(x, dtype=float)) == 0 or np.ptp(np.asarray(y, dtype=float)) == 0:
        # A constant metric (e.g. every reply judged alike) has no rank correlation.
        return {"rho": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": n}
    result = spearmanr(x, y)
    rho = float(result.statistic)
    low, high = fisher_z_interval(rho, n, variance_factor=1.06, level=level)  # nan below 4 points
    return {"rho": rho, "p": float(result.pvalue), "ci_low": low, "ci_high": high, "n": n}


def metric_correlations(ratings, metrics_frame, metrics, outcome: str = "empathy") -> dict:
    """Spearman of each automatic metric with the mean human rating per reply (joined on dialogue, model,
    condition)."""
    human = ratings.groupby(["item_id", "model", "condition"], as_index=False)[outcome].mean()
    joined = human.merge(metrics_frame.rename(columns={"dialogue_id": "item_id"}),
                         on=["item_id", "model", "condition"], how="inner")
    if joined.empty:
        raise RatingsFormatError("no rated reply matches a scored generation on (item_id=dialogue_id, model, "
                                 "condition); check that the ratings refer to this run's replies")
    out = {}
    for metric in metrics:
        pairs = joined[[metric, outcome]].dropna()
        out[metric] = spearman_ci(pairs[metric], pairs[outcome])
    return out


# Effects planted by `synthetic_ratings`, in rating points on the latent scale (before rounding to 1..5).
PLANTED_EFFECTS = {"finetuned": 0.5, "older_x_finetuned": 0.6, "gender": 0.0, "education": 0.0, "quality": 0.0}
AGE_GROUPS = ("18-39", "40-59", "60+")
GENDERS = ("man", "nonbinary", "woman")
EDUCATION = ("graduate", "secondary", "undergraduate")


def synthetic_ratings(items, n_raters: int = 30, items_per_rater: int = 20, seed: int = 0,
                      effects: dict | None = None, scale: int = 5):
    """Seeded ratings of `items` (DataFrame: item_id, model, condition[, quality]) with planted effects.

    Each rater rates every reply (all models and conditions) of `items_per_rater` random items. Latent
    rating = 3 + rater + item + effects + noise (SDs 0.5, 0.4, 0.8), rounded and clipped to 1..scale:
    - finetuned: every fine-tuned reply; older_x_finetuned: extra for raters aged 60+ on fine-tuned replies;
    - gender: raters who are women; education: graduate raters;
    - quality: per standard deviation of the items' `quality` column (e.g. an automatic metric).
    """
    import pandas as pd

    effects = {**PLANTED_EFFECTS, **(effects or {})}
    unknown = set(effects) - set(PLANTED_EFFECTS)
    if unknown:
        raise ValueError(f"unknown planted effect(s) {sorted(unknown)}; known: {sorted(PLANTED_EFFECTS)}")
    rng = np.random.default_rng(seed)
    items = items.reset_index(drop=True)
    quality = items["quality"] if "quality" in items else pd.Series(0.0, index=items.index)
    quality = ((quality - quality.mean()) / (quality.std() or 1.0)).to_numpy()
    item_ids = items["item_id"].unique()
    item_effect = dict(zip(item_ids, rng.normal(0, 0.4, len(item_ids))))
    rows = []
    for r in range(n_raters):
        rater = {"rater_id": f"r{r:03d}", "age_group": AGE_GROUPS[rng.integers(3)],
                 "gender": GENDERS[rng.integers(3)], "education": EDUCATION[rng.integers(3)]}
        offset = rng.normal(0, 0.5)
        chosen = set(rng.choice(item_ids, size=min(items_per_rater, len(item_ids)), replace=False))
        for i in np.flatnonzero(items["item_id"].isin(chosen).to_numpy()):
            item = items.loc[i]
            finetuned = item["condition"] == FINETUNED
            latent = (3.0 + offset + item_effect[item["item_id"]] + effects["quality"] * quality[i]
                      + effects["finetuned"] * finetuned
                      + effects["older_x_finetuned"] * (finetuned and rater["age_group"] == "60+")
                      + effects["gender"] * (rater["gender"] == "woman")
                      + effects["education"] * (rater["education"] == "graduate"))
            ratings = {column: int(np.clip(np.rint(latent + rng.normal(0, 0.8)), 1, scale)) for column in LIKERT}
            rows.append({**rater, "item_id": item["item_id"], "model": item["model"],
                         "condition": item["condition"], **ratings})
    return pd.DataFrame(rows, columns=[*REQUIRED, *FACTOR_COLUMNS, *DEMOGRAPHICS])


def synthetic_items(n_items: int = 40, models=("tiny",), conditions=CONDITIONS):
    """Items for `synthetic_ratings` when there are no real replies: every model x condition per item."""
    import pandas as pd

    return pd.DataFrame([{"item_id": f"item-{i:03d}", "model": m, "condition": c}
                         for i in range(n_items) for m in models for c in conditions])


def main(argv=None) -> int:
    """Write synthetic ratings of a run's scored replies (eval/metrics.parquet) as a CSV, for the demo."""
    import argparse

    import pandas as pd

    from tide.core.files import write_atomic

    parser = argparse.ArgumentParser(description="synthetic human ratings with planted effects (demo, tests)")
    parser.add_argument("metrics", help="a run's eval/metrics.parquet: the replies to rate")
    parser.add_argument("out", help="CSV to write")
    parser.add_argument("--raters", type=int, default=30)
    parser.add_argument("--items-per-rater", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    items = pd.read_parquet(args.metrics, columns=["dialogue_id", "model", "condition"])
    ratings = synthetic_ratings(items.rename(columns={"dialogue_id": "item_id"}), args.raters,
                                args.items_per_rater, args.seed)
    try:
        check_comparison(ratings, args.metrics)   # the analysis could not use them: write nothing
    except RatingsFormatError as error:
        print(f"synthetic ratings: {error}", file=sys.stderr)
        return 2
    write_atomic(Path(args.out), lambda temp: ratings.to_csv(temp, index=False))
    print(f"{len(ratings)} synthetic ratings by {args.raters} raters -> {args.out} (planted: {PLANTED_EFFECTS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
