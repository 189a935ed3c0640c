"""Regression models of human ratings on a design whose columns are named as a reader names terms.

The caller builds the design (one column per term: `label[human label]`, `age`, `source[human
response]:label[human label]`); these functions fit it and return each term's estimate, 95% CI and p:

- `fit_crossed`: linear mixed model (REML) with crossed random intercepts for rater and item, as
  statsmodels fits them: one group holding both as variance components (`crossed_mixed_model`, which
  tide.evaluate.ratings also uses); for repeated measures;
- `fit_ols`: ordinary least squares with HC3 heteroskedasticity-robust errors; one rating per participant;
- `fit_ordinal`: proportional-odds (ordinal logit) model of the same design, estimates in log-odds, errors
  clustered by rater where raters repeat (the robustness check: it does not assume equal spacing);
- `contrast`: a sum of terms (a simple effect: a factor's effect at another factor's level) with its CI;
- `holm`: Holm-corrected p-values within one family of tests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LEVEL = 0.95


@dataclass
class Fit:
    model: str                 # what was fitted, in words
    terms: list[dict]          # {term, estimate, se, ci_low, ci_high, p}
    n: int
    converged: bool = True
    variance: dict = field(default_factory=dict)   # random-effect and residual variances (mixed model)
    result: object = None      # the statsmodels result, for contrasts
    names: dict = field(default_factory=dict)      # term -> the result's parameter name
    warnings: list = field(default_factory=list)   # the fitter's warnings (a boundary fit), one line each


def crossed_mixed_model(data: pd.DataFrame, formula: str, rater: str, item: str | None):
    """(result, variances): `formula` with random intercepts for `rater` and (when given) `item`, crossed."""
    import statsmodels.formula.api as smf

    components = {"rater": f"0 + C({rater})", **({"item": f"0 + C({item})"} if item else {})}
    model = smf.mixedlm(formula, data.assign(_all=1), groups="_all", re_formula="0", vc_formula=components)
    with warnings.catch_warnings(record=True) as caught:
        # A variance near zero (raters who agree, few items) is a boundary fit, not an error: the result
        # says whether it converged, and the warnings travel with it instead of cluttering the output.
        warnings.simplefilter("always")
        result = model.fit(reml=True, method=["lbfgs"])
    result.fit_warnings = sorted({str(w.message).split("\n")[0] for w in caught})
    variances = dict(zip(model.exog_vc.names, np.atleast_1d(result.vcomp).astype(float)))
    return result, {**variances, "residual": float(result.scale)}


def _safe(design: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The design with formula-safe column names (x0, x1, ...) and the map back to the terms."""
    names = {term: f"x{i}" for i, term in enumerate(design.columns)}
    return design.rename(columns=names), names


def _terms(result, names: dict[str, str], level: float) -> list[dict]:
    ci = result.conf_int(alpha=1 - level)
    return [{"term": term, "estimate": float(result.params[name]), "se": float(result.bse[name]),
             "ci_low": float(ci.loc[name].iloc[0]), "ci_high": float(ci.loc[name].iloc[1]),
             "p": float(result.pvalues[name])} for term, name in names.items()]


def fit_crossed(y: pd.Series, design: pd.DataFrame, raters: pd.Series, items: pd.Series | None,
                level: float = LEVEL) -> Fit:
    """Linear mixed model of y on the design with crossed random intercepts (rater, and item when given)."""
    safe, names = _safe(design.reset_index(drop=True))
    data = safe.assign(_y=np.asarray(y, dtype=float), _rater=np.asarray(raters, dtype=str))
    if items is not None:
        data["_item"] = np.asarray(items, dtype=str)
    formula = "_y ~ " + (" + ".join(safe.columns) or "1")
    result, variances = crossed_mixed_model(data, formula, "_rater", "_item" if items is not None else None)
    what = "rater, item" if items is not None else "rater"
    return Fit(f"linear mixed model (REML), crossed random intercepts: {what}", _terms(result, names, level),
               int(len(data)), bool(result.converged), variances, result, names, result.fit_warnings)


def fit_ols(y: pd.Series, design: pd.DataFrame, level: float = LEVEL) -> Fit:
    """OLS of y on the design (with an intercept), HC3 robust standard errors."""
    import statsmodels.api as sm

    safe, names = _safe(design.reset_index(drop=True))
    result = sm.OLS(np.asarray(y, dtype=float), sm.add_constant(safe, has_constant="add")).fit(cov_type="HC3")
    return Fit("OLS, HC3 robust standard errors", _terms(result, names, level), int(len(safe)), True,
               {"residual": float(result.scale)}, result, names)


def fit_ordinal(y: pd.Series, design: pd.DataFrame, clusters: pd.Series | None = None,
                level: float = LEVEL) -> Fit:
    """Proportional-odds logit of y's ordered values on the design; errors clustered when clusters are given."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    safe, names = _safe(design.reset_index(drop=True))
    endog = pd.Categorical(np.asarray(y, dtype=float), ordered=True)
    model = OrderedModel(endog, safe, distr="logit")
    options = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(np.asarray(clusters))[0]}} \
        if clusters is not None else {}
    result = model.fit(method="bfgs", disp=False, maxiter=2000, **options)
    converged = bool(result.mle_retvals.get("converged", True))
    errors = "errors clustered by rater" if clusters is not None else "model-based errors"
    return Fit(f"ordinal logit (proportional odds), log-odds, {errors}", _terms(result, names, level),
               int(len(safe)), converged, {}, result, names)


def contrast(fit: Fit, weights: dict[str, float], term: str, level: float = LEVEL) -> dict:
    """The estimate of sum(weight x term) with its CI and p (a simple effect, a gain at one level)."""
    fixed = getattr(fit.result, "fe_params", None)  # a mixed model's t_test takes the fixed effects only
    params = list((fixed if fixed is not None else fit.result.params).index)
    vector = np.zeros(len(params))
    for name, weight in weights.items():
        vector[params.index(fit.names[name])] = weight
    test = fit.result.t_test(vector.reshape(1, -1))
    low, high = np.asarray(test.conf_int(alpha=1 - level)).ravel()
    return {"term": term, "estimate": float(np.ravel(test.effect)[0]), "se": float(np.ravel(test.sd)[0]),
            "ci_low": float(low), "ci_high": float(high), "p": float(np.ravel(test.pvalue)[0])}


def holm(terms: list[dict]) -> list[dict]:
    """The terms with `p_holm`: Holm's step-down correction over this family (NaN p-values stay NaN)."""
    from statsmodels.stats.multitest import multipletests

    p = np.array([t["p"] for t in terms], dtype=float)
    adjusted = np.full(len(p), np.nan)
    finite = np.isfinite(p)
    if finite.any():
        adjusted[finite] = multipletests(p[finite], method="holm")[1]
    return [{**t, "p_holm": float(a)} for t, a in zip(terms, adjusted)]
