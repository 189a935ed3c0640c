"""The shipped EPITOME mechanism scorers: load offline from plain arrays, order hand-written replies sensibly."""

import numpy as np
import pytest

from tide.evaluate.embedding import TextEmbeddings
from tide.evaluate.mechanisms import SCORE_COLUMNS, SCORER_DIR, MechanismScorer, ScorerFilesError
from tide.evaluate.reference import load_encoder

SEEKER = "I was in a car accident last month and now I panic every time I get in a car."
VALIDATING = ("I'm so sorry, that sounds terrifying. It makes complete sense that you feel scared and "
              "on edge after going through something like that, I understand how exhausting it must be.")
DISMISSIVE = "Just get over it, lots of people drive every day."
OPEN_QUESTION = "What goes through your mind when you get in the car? How have you been coping with it?"
STATEMENT = "Cars are a common way to get around."


@pytest.fixture(scope="module")
def scored():
    replies = [VALIDATING, DISMISSIVE, OPEN_QUESTION, STATEMENT, ""]
    scorer = MechanismScorer()
    features = TextEmbeddings(load_encoder(None), replies, layers=scorer.layers).layer_rows(replies)
    return scorer.score(replies, features)


def test_shipped_scorer_is_plain_arrays_with_its_licence():
    with np.load(SCORER_DIR / "mechanisms.npz", allow_pickle=False) as arrays:  # no pickle needed to load
        assert "vocabulary" in arrays.files and arrays["idf"].shape == arrays["vocabulary"].shape
        assert arrays["embedding/mean"].shape == arrays["embedding/scale"].shape == (4 * 384,)
    readme = (SCORER_DIR / "README.md").read_text()
    assert "University of Washington" in readme and "non-commercial" in readme and "EMNLP" in readme
    assert set(MechanismScorer().thresholds) == {"emotional_reactions", "interpretations", "explorations"}


def test_validating_reply_beats_dismissive_on_er_and_ip(scored):
    for name in ("mechanism_er", "mechanism_ip", "mechanism_er_level", "mechanism_ip_level"):
        assert scored[name][0] > scored[name][1], name


def test_open_question_scores_higher_on_explorations(scored):
    for name in ("mechanism_ex", "mechanism_ex_level"):
        assert scored[name][2] > scored[name][3] and scored[name][2] > scored[name][0], name


def test_columns_ranges_and_empty_reply(scored):
    assert set(scored) == set(SCORE_COLUMNS)
    for name, values in scored.items():
        upper = 2.0 if name.endswith("_level") else 1.0
        assert all(0.0 <= v <= upper for v in values), name
        assert values[-1] == 0.0, name  # an empty reply shows no mechanism
    for short in ("er", "ip", "ex"):  # the expected level is at least P(present) and at most twice it
        p, level = np.array(scored[f"mechanism_{short}"]), np.array(scored[f"mechanism_{short}_level"])
        assert np.all(level >= p - 1e-9) and np.all(level <= 2 * p + 1e-9)


def test_missing_scorer_files_name_the_fix(tmp_path):
    with pytest.raises(ScorerFilesError, match="make scorer EPITOME=DIR"):
        MechanismScorer(tmp_path)
    with pytest.raises(ValueError, match="2 replies but 1 embeddings"):
        MechanismScorer().score(["a", "b"], np.zeros((1, 384)))
    with pytest.raises(ValueError, match="384 columns, the scorer reads 1536"):  # a sentence embedding is not enough
        MechanismScorer().score(["a"], np.zeros((1, 384)))
