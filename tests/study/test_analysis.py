"""The analysis on synthetic studies with planted effects (what they are: the truth is known, the people are
not real; tests/study/test_real_data.py runs on real ratings): it finds what was planted and only that."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from launch.study import main as study_main
from tests.report.records import record_stage
from tests.study.synthetic_study import write_study
from tide.evaluate.agreement import alpha_with_ci, correlation_with_ci, krippendorff_alpha
from tide.evaluate.effects import holm
from tide.study.agreement import load_metrics
from tide.study.analysis import analyse, detect_design
from tide.study.responses import read_responses
from tide.study.spec import load_spec, spec_from_mapping
from tide.study.terms import StudyAnalysisError


def by_term(terms: list[dict]) -> dict:
    return {t["term"]: t for t in terms}


def analysed(root, **options):
    paths = write_study(root, **options)
    return analyse(read_responses([paths["responses"]], load_spec(paths["spec"]))), paths


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return analysed(tmp_path_factory.mktemp("planted"), n_raters=30, items_per_rater=12)[0]


def test_crossed_design_mixed_model_and_the_planted_fine_tuning_gain(planted):
    assert planted["design"] == "crossed" and planted["model"].startswith("linear mixed model")
    assert planted["factors"] == {"system": {"reference": "reference",
                                             "levels": ["reference", "tiny/finetuned", "tiny/zero_shot"]}}
    found = planted["outcomes"]["empathy"]
    effects = by_term(found["effects"])
    assert effects.keys() == {"system[tiny/finetuned]", "system[tiny/zero_shot]"}
    assert effects["system[tiny/zero_shot]"]["p_holm"] > 0.05  # the reference is rated like a zero-shot reply
    gain = by_term(found["simple_effects"])["condition[finetuned] | model=tiny"]
    assert 0.3 < gain["estimate"] < 0.9 and gain["ci_low"] > 0.2 and gain["p_holm"] < 0.001  # planted +0.5
    for family in ("effects", "simple_effects", "moderation", "scenarios"):
        for t in found[family]:
            assert t["ci_low"] <= t["estimate"] <= t["ci_high"] and t["p"] <= t["p_holm"] <= 1, t


def test_the_planted_moderation_by_age_and_no_other(planted):
    found = planted["outcomes"]["empathy"]
    moderation = by_term(found["moderation"])
    older = moderation["condition[finetuned]:age_group[60+] | model=tiny"]
    assert older["estimate"] > 0.25 and older["p_holm"] < 0.05 and older["demographic"] == "age_group"
    assert found["moderation_fits"]["age_group"]["reference"] == "<40"
    for term, result in moderation.items():  # gender, education, the middle age group: planted as zero
        if term != "condition[finetuned]:age_group[60+] | model=tiny":
            assert result["p_holm"] > 0.05, (term, result)
    scenarios = by_term(found["scenarios"])
    assert {t["scenario"] for t in scenarios.values()} == {"grief", "panic", "sleep"}
    assert all(t["estimate"] > 0 for t in scenarios.values())  # the gain was planted in every scenario


def test_exclusions_are_listed_and_the_ratings_agree_somewhat(planted):
    assert {e["participant"] for e in planted["excluded"]} == {"r000", "r001"}
    assert planted["n_participants"] == 28 and planted["participants_before_exclusions"] == 30
    alpha = planted["outcomes"]["empathy"]["alpha"]
    assert 0 < alpha["ci"][0] < alpha["alpha"] < alpha["ci"][1] < 1 and alpha["raters"] == 28


def test_nothing_is_found_where_nothing_was_planted(tmp_path):
    null, _ = analysed(tmp_path, n_raters=24, items_per_rater=10, seed=3,
                       effects={"finetuned": 0.0, "older_x_finetuned": 0.0}, planted_problems=False)
    found = null["outcomes"]["empathy"]
    significant = [t["term"] for family in ("simple_effects", "moderation", "scenarios") for t in found[family]
                   if t["p_holm"] < 0.05]
    assert not significant


def between_study(seed: int = 0, n: int = 160) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"participant": [f"p{i}" for i in range(n)], "kind": "rating", "expected": "",
                          "source": rng.choice(["ai", "human"], n), "label": rng.choice(["ai label", "human label"], n),
                          "age": rng.integers(20, 80, n).astype(float)})
    table["item"] = table["participant"]
    table["heard"] = (4 + 0.8 * (table["label"] == "human label") - 0.5 * (table["source"] == "human")
                      + rng.normal(0, 1, n)).clip(1, 7)
    spec = {"format": "wide", "participant": "participant", "outcomes": {"heard": {"column": "h", "min": 1, "max": 7}},
            "factors": {"source": {"column": "s", "reference": "ai"}, "label": {"column": "l", "reference": "ai label"}},
            "demographics": {"age": {"column": "a", "type": "numeric", "per": 10}},
            "analysis": {"effects": "source * label", "focal": "label", "n_boot": 50}}
    return table, spec


def test_between_subjects_ols_estimates_are_the_cell_mean_differences():
    from tide.study.responses import Responses

    table, spec = between_study()
    result = analyse(Responses(table, spec_from_mapping(spec), ()))
    assert result["design"] == "between" and result["model"] == "OLS with HC3 robust standard errors"
    found = result["outcomes"]["heard"]
    mean = table.groupby(["source", "label"])["heard"].mean()
    effects = by_term(found["effects"])
    assert effects["source[human]"]["estimate"] == pytest.approx(mean["human", "ai label"] - mean["ai", "ai label"])
    assert effects["label[human label]"]["estimate"] == pytest.approx(mean["ai", "human label"] - mean["ai", "ai label"])
    simple = by_term(found["simple_effects"])["label[human label] | source=human"]
    assert simple["estimate"] == pytest.approx(mean["human", "human label"] - mean["human", "ai label"])
    assert by_term(found["moderation"]).keys() == {"source[human]:age", "label[human label]:age"}
    assert [t["term"] for t in found["ordinal"]["effects"]] == [t["term"] for t in found["effects"]]
    assert found["ordinal"]["outcome"] == "rounded to whole scale points" and found["alpha"]["alpha"] is None
    assert {(m["cell"]["source"], m["cell"]["label"]): m["mean"] for m in found["means"]} == \
        pytest.approx(mean.to_dict())


def test_reference_levels_and_designs_that_cannot_be_fitted():
    from tide.study.responses import Responses

    table, spec = between_study(seed=1)
    flipped = spec | {"factors": {"source": {"column": "s", "reference": "human"},
                                  "label": {"column": "l", "reference": "ai label"}}}
    found = analyse(Responses(table, spec_from_mapping(flipped), ()))["outcomes"]["heard"]
    assert "source[ai]" in by_term(found["effects"])
    wrong = spec | {"factors": {"source": {"column": "s", "reference": "robot"}, "label": spec["factors"]["label"]}}
    with pytest.raises(StudyAnalysisError, match=r"factors.source.reference: reference level 'robot' is not among "
                                                 r"the levels found \(ai, human\)"):
        analyse(Responses(table, spec_from_mapping(wrong), ()))
    confounded = table.assign(label=np.where(table["source"] == "ai", "ai label", "human label"))
    with pytest.raises(ValueError, match="heard: the design is not estimable"):
        analyse(Responses(confounded, spec_from_mapping(spec), ()))
    assert detect_design(table) == "between" and detect_design(pd.concat([table, table.iloc[:1]])) == "crossed"


def test_alpha_matches_the_textbook_interval_formula_and_its_ci_is_over_units():
    matrix = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5],
                       [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5]], dtype=float)
    pairs = [(a, b) for u in matrix.T for i, a in enumerate(u) for j, b in enumerate(u)
             if i != j and not (np.isnan(a) or np.isnan(b))]
    weights = [1 / (np.isfinite(u).sum() - 1) for u in matrix.T for i, a in enumerate(u) for j, b in enumerate(u)
               if i != j and not (np.isnan(a) or np.isnan(b))]
    values = matrix[np.isfinite(matrix)]
    observed = sum(w * (a - b) ** 2 for (a, b), w in zip(pairs, weights)) / len(values)
    expected = sum((a - b) ** 2 for a in values for b in values) / (len(values) * (len(values) - 1))
    assert krippendorff_alpha(matrix, "interval") == pytest.approx(1 - observed / expected)
    found = alpha_with_ci(matrix, "interval", n_boot=200, seed=0)
    assert found["units"] == 10 and found["raters"] == 3 and found["ratings"] == 28
    assert found["ci"][0] < found["alpha"] < found["ci"][1]
    assert math.isnan(krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]])))  # nothing pairable


def test_a_correlation_s_interval_respects_clustering():
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    once = correlation_with_ci(x, y, np.arange(30), n_boot=400)
    # The same 30 dialogues, each reply counted five times: the point is the same, the interval is not narrower.
    five = correlation_with_ci(np.repeat(x, 5), np.repeat(y, 5), np.repeat(np.arange(30), 5), n_boot=400)
    assert five["rho"] == pytest.approx(once["rho"]) and five["clusters"] == 30 and five["n"] == 150
    assert five["ci"][1] - five["ci"][0] > 0.8 * (once["ci"][1] - once["ci"][0])
    naive = correlation_with_ci(np.repeat(x, 5), np.repeat(y, 5), np.arange(150), n_boot=400)
    assert naive["ci"][1] - naive["ci"][0] < 0.6 * (five["ci"][1] - five["ci"][0])


def test_holm_within_a_family():
    adjusted = holm([{"p": 0.01}, {"p": 0.04}, {"p": 0.03}, {"p": float("nan")}])
    assert [round(t["p_holm"], 6) for t in adjusted[:3]] == [0.03, 0.06, 0.06] and math.isnan(adjusted[3]["p_holm"])


def test_metric_and_judge_agreement_pooled_over_runs(tmp_path):
    paths = write_study(tmp_path / "study", n_raters=16, items_per_rater=12, models=("alpha", "beta"),
                        effects={"quality": 0.8}, planted_problems=False)
    items = paths["items"][paths["items"]["model"] != "reference"]
    for model, rows in items.groupby("model"):  # one run per model, as the evaluate stage leaves it
        run = tmp_path / "runs" / model
        (run / "eval").mkdir(parents=True)
        noise = np.random.default_rng(1).normal(size=len(rows))
        rows.rename(columns={"item_id": "dialogue_id"}).assign(cosine=rows["quality"], judge_overall=noise).to_parquet(
            run / "eval" / "metrics.parquet")
        (run / "eval" / "summary.json").write_text("{}")
        record_stage(run, "evaluate", {"summary": run / "eval" / "summary.json", "metrics": run / "eval" / "metrics.parquet"})
    metrics = load_metrics([tmp_path / "runs"])
    assert set(metrics["run"]) == {"alpha", "beta"} and {"cosine", "judge_overall"} <= set(metrics)
    result = analyse(read_responses([paths["responses"]], load_spec(paths["spec"])), metrics)
    found = result["outcomes"]["empathy"]["metrics"]
    assert found["cosine"]["kind"] == "metric" and found["cosine"]["runs"] == 2
    assert found["cosine"]["ci"][0] > 0.2 and found["cosine"]["clusters"] < found["cosine"]["n"]
    assert found["judge_overall"]["kind"] == "judge" and found["judge_overall"]["ci"][0] < 0 < found["judge_overall"]["ci"][1]


def test_the_command_writes_the_json_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    paths = write_study(tmp_path, n_raters=10, items_per_rater=6)
    out = tmp_path / "analysis.json"
    assert study_main(["analyse", str(paths["responses"]), "--spec", str(paths["spec"]), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["design"] == "crossed" and result["n_participants"] == 8
    assert [e["participant"] for e in result["excluded"]] == ["r000", "r001"]
    assert set(result["outcomes"]["empathy"]["effects"][0]) >= {"term", "estimate", "ci_low", "ci_high", "p", "p_holm"}
    printed = capsys.readouterr().out
    assert printed.startswith("design: crossed") and "condition[finetuned] | model=tiny" in printed
    assert study_main(["import", str(paths["responses"]), "--spec", str(paths["spec"]),
                       "--out", str(tmp_path / "checked.csv")]) == 0
    checked = pd.read_csv(tmp_path / "checked.csv")
    assert set(checked.loc[checked["excluded"], "participant"]) == {"r000", "r001"} and "system" in checked
    bad = tmp_path / "bad.csv"
    pd.read_csv(paths["responses"]).assign(empathy=9).head(2).to_csv(bad, index=False)
    capsys.readouterr()
    assert study_main(["analyse", str(bad), "--spec", str(paths["spec"])]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m launch.study analyse: 2 problem(s):\n") and "Traceback" not in error
    assert f"{bad}: row 2, column 'empathy': '9' is outside the scale 1..5" in error


@pytest.mark.parametrize("effects", [None, "system"])
def test_the_spec_the_build_writes_system_and_a_nested_condition(tmp_path, effects):
    """The build's spec names both `system` (against the reference replies) and `condition` (against zero-shot);
    condition is nested in system, so it is not fitted twice: its effects are each model's contrast."""
    import yaml

    paths = write_study(tmp_path, n_raters=12, items_per_rater=8, models=("alpha", "beta"))
    spec = yaml.safe_load(paths["spec"].read_text())
    spec["factors"] = {"system": {"column": "system", "reference": "reference"},
                       "condition": {"column": "condition", "reference": "zero_shot"}}
    spec["analysis"] = {**spec["analysis"], **({"effects": effects} if effects else {})}
    paths["spec"].write_text(yaml.safe_dump(spec))
    result = analyse(read_responses([paths["responses"]], load_spec(paths["spec"])))
    assert result["effects_formula"] == "system" and result["focal"] == "condition"
    found = result["outcomes"]["empathy"]
    assert {t["term"] for t in found["simple_effects"]} == {"condition[finetuned] | model=alpha",
                                                            "condition[finetuned] | model=beta"}
    assert {t["gain"] for t in found["scenarios"]} == {"condition[finetuned] | model=alpha",
                                                       "condition[finetuned] | model=beta"}
