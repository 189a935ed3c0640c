"""The import and analysis on real people's ratings: excerpts of Kumar et al. (2025), MIT (tests/fixtures/study/
README.md), read with the specs shipped in conf/study/specs/. The numbers are checked against independent
computations (cell means, statsmodels formulas, scipy), not against the suite's own output."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launch.study import main as study_main
from tide.study.analysis import analyse
from tide.study.responses import read_responses
from tide.study.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "study"
EXCERPT = FIXTURES / "perceived_empathy_excerpt.csv"
RATERS = ("expert1", "expert2", "expert3", "gpt", "claude", "gemini", "crowd")
TERMS = ["source[human response]", "label[human label]", "source[human response]:label[human label]"]
ITEMS = ["understood", "validated", "affirmed", "seen", "accepted", "caredfor"]


def by_term(terms):
    return {t["term"]: t for t in terms}


@pytest.fixture(scope="module")
def perceived():
    spec = load_spec(ROOT / "conf" / "study" / "specs" / "perceived_empathy.yaml")
    return analyse(read_responses([EXCERPT], spec))


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(EXCERPT)


def test_the_wide_export_is_a_between_subjects_design_fitted_by_ols(perceived, raw):
    assert perceived["design"] == "between" and perceived["model"] == "OLS with HC3 robust standard errors"
    assert perceived["n_participants"] == len(raw) == 72 and perceived["excluded"] == []
    assert perceived["factors"]["source"] == {"reference": "ai response", "levels": ["ai response", "human response"]}
    same = raw[ITEMS + ["feelheard", "understoodme", "connection"]].nunique(axis=1) == 1
    assert sorted(f["participant"] for f in perceived["flagged"]) == sorted(raw.loc[same, "id"])


@pytest.mark.parametrize("outcome", ["feelheard", "understoodme", "connection"])
def test_effects_are_the_cell_differences_with_statsmodels_hc3_errors(perceived, raw, outcome):
    import statsmodels.formula.api as smf

    found = perceived["outcomes"][outcome]
    effects = by_term(found["effects"])
    assert list(effects) == TERMS
    mean = raw.groupby(["responseR", "labelR"])[outcome].mean()
    assert effects[TERMS[0]]["estimate"] == pytest.approx(mean["human response", "ai label"] - mean["ai response", "ai label"])
    assert effects[TERMS[1]]["estimate"] == pytest.approx(mean["ai response", "human label"] - mean["ai response", "ai label"])
    reference = smf.ols(f"{outcome} ~ C(responseR, Treatment('ai response')) * C(labelR, Treatment('ai label'))",
                        raw).fit(cov_type="HC3")
    assert [t["p"] for t in found["effects"]] == pytest.approx(list(reference.pvalues.iloc[1:]))
    assert [t["ci_low"] for t in found["effects"]] == pytest.approx(list(reference.conf_int()[0].iloc[1:]))
    for family in ("effects", "simple_effects", "moderation"):
        for t in found[family]:
            assert t["ci_low"] < t["estimate"] < t["ci_high"] and t["p"] <= t["p_holm"] <= 1, t
    assert [t["term"] for t in found["ordinal"]["effects"]] == TERMS and found["ordinal"]["converged"]
    assert found["alpha"]["alpha"] is None and "between-subjects" in found["alpha"]["why"]


def test_demographics_are_recoded_and_each_moderates_each_factor(perceived):
    found = perceived["outcomes"]["feelheard"]
    terms = {t["term"] for t in found["moderation"]}
    assert {"source[human response]:age", "label[human label]:age", "label[human label]:age_group[60+]",
            "label[human label]:education"} <= terms
    notes = found["moderation_fits"]
    assert notes["gender"]["reference"] == "man" and notes["gender"]["left_out"] == {}  # every answer recoded
    assert {"label[human label]:gender[woman]", "source[human response]:gender[woman]"} <= terms
    assert notes["age"] == {"missing": 0, "type": "numeric", "per": 10, "n": 72}
    means = found["interaction_means"]["age_group"]
    assert {m["level"] for m in means} == {"ai label", "human label"} and sum(m["n"] for m in means) == 72


def test_expert_agreement_and_llm_judges_on_real_annotations():
    from scipy.stats import spearmanr

    from tide.evaluate.agreement import krippendorff_alpha

    spec = load_spec(ROOT / "conf" / "study" / "specs" / "empathy_ratings_ed.yaml")
    spec = dataclasses.replace(spec, analysis=dataclasses.replace(spec.analysis, n_boot=100))
    files = [FIXTURES / "empathy_ratings_ed" / f"{rater}_ratings.csv" for rater in RATERS]
    result = analyse(read_responses(files, spec))
    assert result["design"] == "crossed" and result["n_participants"] == 3 and result["effects_formula"] == ""
    ratings = {r: pd.read_csv(f).set_index("conv_id").sort_index() for r, f in zip(RATERS, files)}
    experts = pd.concat([ratings[r]["empathy"] for r in RATERS[:3]], axis=1).T
    found = result["outcomes"]["empathy"]
    alpha = found["alpha"]
    assert alpha["alpha"] == pytest.approx(krippendorff_alpha(experts.to_numpy(float), "ordinal"))
    assert alpha["units"] == 20 and alpha["raters"] == 3 and alpha["ci"][0] < alpha["alpha"] < alpha["ci"][1]
    judges = found["judges"]["judges"]
    assert set(judges) == {"gpt", "claude", "gemini", "crowd"}
    for judge, agreement in judges.items():
        rho = spearmanr(ratings[judge]["empathy"], experts.mean(axis=0)).statistic
        assert agreement["rho"] == pytest.approx(rho) and agreement["n"] == 20
        assert agreement["ci"][0] <= agreement["rho"] <= agreement["ci"][1]
    assert set(found["judges"]["humans"]) == {"expert1", "expert2", "expert3"}


def test_the_command_prints_and_writes_the_real_analysis(tmp_path, capsys):
    out = tmp_path / "perceived.json"
    assert study_main(["analyse", str(EXCERPT), "--spec", str(ROOT / "conf/study/specs/perceived_empathy.yaml"),
                       "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["design"] == "between" and set(result["outcomes"]) == {"feelheard", "understoodme", "connection"}
    assert all(np.isfinite(t["estimate"]) for t in result["outcomes"]["connection"]["effects"])
    assert "label[human label]" in capsys.readouterr().out
