"""Training the mechanism scorers on a small EPITOME-format fixture: grouped CV, figures, a loadable scorer."""

import json

import numpy as np
import pytest

from tests.evaluate.conftest import write_epitome_dir
from tide.evaluate.epitome import read_epitome
from tide.evaluate.mechanism_training import TrainingConfig, embed_labels, fit_target, train_scorer
from tide.evaluate.mechanisms import MechanismScorer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("epitome")
    write_epitome_dir(root / "data")
    cv = train_scorer(root / "data", root / "scorer", TrainingConfig(folds=3, bootstrap_samples=30),
                      embeddings_cache=root / "cache.npz")
    return root, cv


def test_writes_the_scorer_and_its_cv_figures(trained):
    root, cv = trained
    assert {p.name for p in (root / "scorer").iterdir()} == {"mechanisms.npz", "mechanisms.json",
                                                            "cv_metrics.json", "reliability.png"}
    assert json.loads((root / "scorer" / "cv_metrics.json").read_text())["pairs"]["explorations"] == 30
    assert "grouped by sp_id" in cv["validation"]
    for report in cv["mechanisms"].values():
        assert set(report["heads"]) == {"embedding", "words", "combined"}
        combined = report["heads"]["combined"]
        assert combined["n"] == 30 and combined["auc_ci"][0] <= combined["auc"] <= combined["auc_ci"][1]
        assert sum(row["count"] for row in report["reliability"]) == 30
    meta = json.loads((root / "scorer" / "mechanisms.json").read_text())
    assert len(meta["training_rp_ids"]) == 30 and set(meta["thresholds"]) == set(cv["mechanisms"])


def test_the_written_scorer_loads_and_ranks_its_fixture(trained):
    root, _ = trained
    labels = read_epitome(root / "data")
    scorer = MechanismScorer(root / "scorer")
    explorations = labels["explorations"]
    embeddings = embed_labels(labels, None, 64)["explorations"]
    scores = np.array(scorer.score(explorations.response_post, embeddings)["mechanism_ex"])
    levels = np.array(explorations.level)
    assert scores[levels > 0].min() > scores[levels == 0].max()  # the questions, on its own training data


def test_embeddings_cache_is_reused_only_for_the_same_texts(trained, tmp_path):
    root, _ = trained
    labels = read_epitome(root / "data")
    cached = np.load(root / "cache.npz")
    assert len(cached["texts"]) == 5  # five distinct responses, encoded once for three mechanisms
    assert cached["layers"].tolist() == [3, 4, 5, 6] and cached["embeddings"].shape == (5, 4 * 384)
    texts = cached["texts"]
    for name, stored in {"other texts": dict(texts=np.array(["something else"]), layers=np.array([3, 4, 5, 6])),
                         "other layers": dict(texts=texts, layers=np.array([6]))}.items():
        fake = tmp_path / "other.npz"
        np.savez(fake, embeddings=np.zeros((len(stored["texts"]), 4 * 384)), **stored)
        fresh = embed_labels(labels, None, 64, cache=fake)["interpretations"]
        assert fresh.shape == (30, 4 * 384) and np.abs(fresh).sum(axis=1).min() > 0, name  # recomputed, not zeros
    reused = embed_labels(labels, None, 64, cache=root / "cache.npz")["interpretations"]
    assert np.array_equal(reused, embed_labels(labels, None, 64)["interpretations"])


def test_one_class_target_is_a_constant_model():
    coef, intercept = fit_target(np.ones((4, 3)), np.zeros(4, dtype=int), 1.0)
    assert not coef.any() and intercept < -5
