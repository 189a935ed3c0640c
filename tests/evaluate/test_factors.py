"""The three-factor scorer: transparent parts, general (not template-fitted) cues, self-consistency on the
synthetic data's recorded spans. Agreement with human labels: tests/launch/test_validate_scorer.py and
docs/evaluation.md (EPITOME)."""

import pytest

from tide.data.reader import read_tide
from tide.evaluate.factors import CUES, FactorScorer, auc, cue_hits, factor_accuracy, present_factors
from tide.evaluate.reference import load_encoder


@pytest.fixture(scope="module")
def scorer():
    return FactorScorer(load_encoder(None))


def test_self_consistency_on_synthetic_spans_is_well_above_chance(scorer, synthetic_dir):
    # Seed 1 (conftest): the threshold was chosen on another seed (docs/evaluation.md). The cues are general
    # empathy language, no longer fitted to the generator's templates, so this is a self-consistency check.
    records = read_tide(synthetic_dir).records
    report = factor_accuracy(scorer, [r["reference"] for r in records], [r["extra"] for r in records])
    assert report["replies"] == 200
    for factor in ("emotion_recognition", "distress_normalization", "supportive_reflection"):
        result = report[factor]
        assert result["auc"] > 0.7, (factor, result)  # measured 0.74-0.89 (docs/evaluation.md)
        assert result["precision"] > result["positive_rate"], (factor, result)


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


def test_shared_embeddings_give_the_same_scores(scorer):
    replies = ["I'm so sorry, that sounds really painful.", "You are not alone in this.", ""]
    embeddings = load_encoder(None).encode(replies, normalize_embeddings=True, convert_to_numpy=True)
    own, shared = scorer.score(replies), scorer.score(replies, embeddings)
    for name in own:
        assert own[name] == pytest.approx(shared[name], abs=1e-5), name


def test_no_cue_exists_only_for_the_synthetic_templates():
    # Phrases that only tide/data/synthetic.py's templates use; general empathy language still matches.
    template_only = ["noticing the ground under you", "you can start very small", "You could keep a list",
                     "you could mark the days", "I'm picking up how tired this has left you",
                     "feeling restless seems to be at the centre of it", "part of you feels restless"]
    for text in template_only:
        assert not any(cue_hits(text, factor) for factor in CUES), text
    assert cue_hits("I can hear how much this hurts", "emotion_recognition")  # no (?!much) exception
    assert cue_hits("Talking to a therapist might help", "supportive_reflection")
    assert cue_hits("It makes sense that you feel this way", "distress_normalization")


def test_parts():
    assert cue_hits("You're not alone in this.", "distress_normalization")
    assert not cue_hits("You're not alone in this.", "emotion_recognition")
    assert present_factors('{"factor_spans": [{"factor": "emotion_recognition", "start": 0, "end": 5}]}') == \
        {"emotion_recognition"}
    assert auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auc([0.5, 0.5], [True, False]) == 0.5
