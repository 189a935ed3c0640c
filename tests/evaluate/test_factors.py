"""The three-factor scorer: transparent parts, and accuracy on the synthetic data's recorded spans."""

import pytest

from tide.data.reader import read_tide
from tide.evaluate.factors import FactorScorer, auc, cue_hits, factor_accuracy, present_factors, split_sentences
from tide.evaluate.reference import load_encoder


@pytest.fixture(scope="module")
def scorer():
    return FactorScorer(load_encoder(None))


def test_accuracy_on_synthetic_spans_is_well_above_chance(scorer, synthetic_dir):
    # Seed 1 (conftest): the threshold was chosen on another seed (docs/evaluation.md).
    records = read_tide(synthetic_dir).records
    report = factor_accuracy(scorer, [r["reference"] for r in records], [r["extra"] for r in records])
    assert report["replies"] == 200
    for factor in ("emotion_recognition", "distress_normalization", "supportive_reflection"):
        result = report[factor]
        assert result["auc"] > 0.85, (factor, result)
        assert result["recall"] > 0.8 and result["precision"] > result["positive_rate"], (factor, result)


def test_scores_follow_the_factor_a_sentence_shows(scorer):
    replies = ["It sounds like you feel scared and alone.",
               "Many people react this way after trauma; it is a very common response.",
               "It might help to take a few slow breaths, and a therapist could support you.",
               "", "The bus leaves at nine."]
    scores = scorer.score(replies)
    assert max(("emotion_recognition", "distress_normalization", "supportive_reflection"),
               key=lambda f: scores[f][0]) == "emotion_recognition"
    assert scores["distress_normalization"][1] > scores["distress_normalization"][0]
    assert scores["supportive_reflection"][2] > scores["supportive_reflection"][1]
    assert scores["empathy"][3] == 0.0
    assert all(scores[f][4] < scorer.threshold for f in ("emotion_recognition", "distress_normalization",
                                                         "supportive_reflection"))


def test_parts():
    assert split_sentences("One. Two? Three; four: five!") == ["One.", "Two?", "Three;", "four:", "five!"]
    assert cue_hits("You're not alone in this.", "distress_normalization")
    assert not cue_hits("You're not alone in this.", "emotion_recognition")
    assert present_factors('{"factor_spans": [{"factor": "emotion_recognition", "start": 0, "end": 5}]}') == \
        {"emotion_recognition"}
    assert auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auc([0.5, 0.5], [True, False]) == 0.5
