"""Human ratings: CSV validation, mixed models recover planted effects and only those, agreement, Spearman."""

import numpy as np
import pandas as pd
import pytest

from tide.evaluate.ratings import (RatingsFormatError, analyse_ratings, krippendorff_alpha, metric_correlations,
                                   read_ratings, spearman_ci, synthetic_items, synthetic_ratings)

ITEMS = synthetic_items(40)


def terms(fits) -> dict:
    return {(fit["analysis"], term["term"]): term for fit in fits for term in fit["terms"]}


@pytest.fixture(scope="module")
def planted():
    return terms(analyse_ratings(synthetic_ratings(ITEMS, n_raters=30, items_per_rater=20, seed=0)))


def test_recovers_planted_effects(planted):
    condition = planted[("condition", "condition=finetuned")]
    assert condition["coef"] > 0 and condition["p_holm"] < 0.001 and condition["ci_low"] > 0.2
    older = planted[("condition x age_group", "condition=finetuned:age_group=60+")]
    assert older["coef"] > 0 and older["p_holm"] < 0.01 and older["effect_size"] > 0.3
    # Planted as zero: gender, education, the middle age group's interaction.
    assert planted[("condition x age_group", "condition=finetuned:age_group=40-59")]["p_holm"] > 0.05
    for (analysis, term), result in planted.items():
        if analysis in ("condition x gender", "condition x education") and term != "condition=finetuned":
            assert result["p_holm"] > 0.05, (analysis, term, result)


def test_finds_nothing_when_nothing_is_planted():
    null = synthetic_ratings(ITEMS, n_raters=30, items_per_rater=20, seed=1,
                             effects={"finetuned": 0.0, "older_x_finetuned": 0.0})
    found = {key: t for key, t in terms(analyse_ratings(null)).items() if t["p_holm"] < 0.05}
    assert not found


def test_round_trip_and_validation_errors(tmp_path):
    ratings = synthetic_ratings(ITEMS, n_raters=4, items_per_rater=5, seed=2)
    good = tmp_path / "ratings.csv"
    ratings.to_csv(good, index=False)
    read = read_ratings(good)
    pd.testing.assert_frame_equal(read, ratings[read.columns], check_dtype=False)
    assert read["empathy"].dtype.kind == "i"

    missing = tmp_path / "missing.csv"
    ratings.drop(columns=["empathy"]).to_csv(missing, index=False)
    with pytest.raises(RatingsFormatError, match=r"missing\.csv: missing required column\(s\) \['empathy'\]"):
        read_ratings(missing)

    broken = ratings.astype(object).copy()
    broken.loc[0, "empathy"] = "7"
    broken.loc[1, "distress_normalization"] = "high"
    broken.loc[2, "rater_id"] = ""
    broken.loc[4, "gender"] = "other" if broken.loc[4, "gender"] != "other" else "man"
    broken = pd.concat([broken, broken.iloc[[3]]])
    bad = tmp_path / "bad.csv"
    broken.to_csv(bad, index=False)
    with pytest.raises(RatingsFormatError) as error:
        read_ratings(bad)
    message = str(error.value)
    assert "bad.csv: " in message
    assert "line 2, column 'empathy': '7' is not an integer rating 1..5" in message
    assert "line 3, column 'distress_normalization': 'high'" in message
    assert "line 4, column 'rater_id': empty" in message
    assert f"line {len(broken) + 1}: duplicate rating of item" in message and "first on line 5" in message
    assert "line 6, column 'gender': rater" in message

    with pytest.raises(RatingsFormatError, match="ratings file not found"):
        read_ratings(tmp_path / "nowhere.csv")


def test_reads_whole_number_floats_as_pandas_and_survey_tools_write_them(tmp_path):
    ratings = synthetic_ratings(ITEMS, n_raters=3, items_per_rater=4, seed=3)
    exported = ratings.astype({"empathy": float, "emotion_recognition": float})
    exported.loc[1, "distress_normalization"] = np.nan  # pandas now writes that whole column as 4.0
    path = tmp_path / "survey.csv"
    exported.to_csv(path, index=False)
    assert ",3.0," in path.read_text() or ",4.0," in path.read_text()
    read = read_ratings(path)
    assert read["empathy"].tolist() == ratings["empathy"].tolist() and read["empathy"].dtype.kind == "i"
    assert read["emotion_recognition"].tolist() == ratings["emotion_recognition"].tolist()
    assert read["distress_normalization"].isna().tolist() == [i == 1 for i in range(len(ratings))]
    assert read["distress_normalization"].dropna().tolist() == ratings["distress_normalization"].drop(1).tolist()

    exported.loc[2, "empathy"] = 3.5
    exported.to_csv(path, index=False)
    with pytest.raises(RatingsFormatError, match=r"line 4, column 'empathy': '3.5' is not an integer rating 1..5"):
        read_ratings(path)


def test_krippendorff_alpha_separates_agreement_from_noise():
    consistent = synthetic_ratings(ITEMS, n_raters=10, items_per_rater=40, seed=3)
    rng = np.random.default_rng(0)
    noise = consistent.assign(empathy=rng.integers(1, 6, len(consistent)))
    assert krippendorff_alpha(consistent) > 0.2
    assert abs(krippendorff_alpha(noise)) < 0.05


def test_metric_correlation_recovers_a_planted_link():
    rng = np.random.default_rng(4)
    items = ITEMS.assign(quality=rng.normal(size=len(ITEMS)))
    metrics = items.rename(columns={"item_id": "dialogue_id", "quality": "cosine"})
    metrics["noise"] = rng.normal(size=len(metrics))
    linked = synthetic_ratings(items, n_raters=20, items_per_rater=40, seed=4, effects={"quality": 0.8})
    result = metric_correlations(linked, metrics, ["cosine", "noise"])
    assert result["cosine"]["rho"] > 0.5 and result["cosine"]["ci_low"] > 0.3 and result["cosine"]["n"] == 80
    assert result["noise"]["ci_low"] < 0 < result["noise"]["ci_high"]
    with pytest.raises(RatingsFormatError, match="no rated reply matches"):
        metric_correlations(linked, metrics.assign(model="other"), ["cosine"])


def test_spearman_ci_contains_rho():
    x = np.arange(30.0)
    result = spearman_ci(x, x + np.random.default_rng(0).normal(0, 10, 30))
    assert result["ci_low"] < result["rho"] < result["ci_high"] <= 1


def test_spearman_of_a_constant_metric_is_undefined():
    result = spearman_ci(np.ones(10), np.arange(10.0))
    assert np.isnan(result["rho"]) and np.isnan(result["ci_low"]) and result["n"] == 10


def test_command_line_writes_ratings_of_a_runs_replies(tmp_path):
    from tide.evaluate.ratings import main

    ITEMS.rename(columns={"item_id": "dialogue_id"}).to_parquet(tmp_path / "metrics.parquet")
    main([str(tmp_path / "metrics.parquet"), str(tmp_path / "out" / "ratings.csv"), "--raters", "5"])
    ratings = read_ratings(tmp_path / "out" / "ratings.csv")
    assert ratings["rater_id"].nunique() == 5 and set(ratings["item_id"]) <= set(ITEMS["item_id"])
