"""EPITOME mechanism scores: emotional reactions (ER), interpretations (IP) and explorations (EX).

Trained on human labels (EPITOME, Sharma et al. 2020; tide/evaluate/epitome.py) by
tide/evaluate/mechanism_training.py and shipped as plain arrays in tide/evaluate/scorers/ (no pickle;
the licence notice and citation are in that folder's README). For each mechanism the scorer gives

    mechanism_<er|ip|ex>        P(level > 0): the mechanism is present
    mechanism_<er|ip|ex>_level  expected level in [0, 2] = P(level >= 1) + P(level >= 2)

Each probability is the mean, in logit space, of two logistic-regression heads that were chosen by grouped
cross-validation (docs/evaluation.md has the comparison):

- an embedding head on the reply's mean-pooled hidden states of all-MiniLM-L6-v2's layers 3-6
  (`ENCODER_LAYERS`, standardised; computed in the same encoder pass that gives the evaluation its
  sentence embedding for cosine similarity and the factor scorer: tide/evaluate/embedding.py), and
- a word head on TF-IDF word uni- and bigrams of the reply;

both with three question/length features (a question mark, the number of them, log word count). The
seeker's post was measured as context (concatenation, product, difference, cosine) and did not help,
so the scorer reads the reply only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tide.core.files import read_npz
from tide.evaluate.epitome import MECHANISMS, SHORT_NAMES

SCORER_DIR = Path(__file__).parent / "scorers"
MODEL_FILE = "mechanisms.npz"
META_FILE = "mechanisms.json"
HEADS = ("embedding", "words")
ENCODER_LAYERS = (3, 4, 5, 6)  # hidden_states indices of all-MiniLM-L6-v2 (0 = the token embeddings)
TARGETS = ("present", "strong")  # level >= 1, level >= 2
WORD_NGRAMS = (1, 2)
SCORE_COLUMNS = tuple(column for m in MECHANISMS for column in
                      (f"mechanism_{SHORT_NAMES[m].lower()}", f"mechanism_{SHORT_NAMES[m].lower()}_level"))


class ScorerFilesError(FileNotFoundError):
    """The shipped (or a retrained) scorer directory lacks its files."""


def question_features(texts: list[str]) -> np.ndarray:
    """(n, 3): has a question mark, question marks (capped at 5) / 5, log(1 + words) / 6."""
    return np.array([[float("?" in t), min(t.count("?"), 5) / 5, np.log1p(len(t.split())) / 6] for t in texts])


def word_vectorizer(vocabulary=None, idf=None, max_features: int | None = None, min_df: int = 2):
    """TF-IDF on word uni/bigrams (sublinear tf): fitted in training, rebuilt from arrays when scoring."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if vocabulary is None:
        return TfidfVectorizer(ngram_range=WORD_NGRAMS, min_df=min_df, sublinear_tf=True, max_features=max_features)
    vectorizer = TfidfVectorizer(ngram_range=WORD_NGRAMS, sublinear_tf=True,
                                 vocabulary={word: i for i, word in enumerate(vocabulary)})
    vectorizer.idf_ = np.asarray(idf, dtype=float)
    return vectorizer


def standardiser(layer_features: np.ndarray) -> dict[str, np.ndarray]:
    """Per-feature mean and scale of the training replies' layer features (the embedding head reads
    standardised features: the layers' scales differ by an order of magnitude)."""
    scale = layer_features.std(axis=0)
    return {"embedding/mean": layer_features.mean(axis=0).astype(np.float32),
            "embedding/scale": np.where(scale > 1e-6, scale, 1.0).astype(np.float32)}


def head_features(head: str, layer_features: np.ndarray, words, questions: np.ndarray, arrays: dict | None = None):
    """The design matrix of one head: dense for the embedding head (standardised with `arrays`'
    embedding/mean and /scale), sparse for the word head."""
    import scipy.sparse as sparse

    if head == "embedding":
        standard = (layer_features - arrays["embedding/mean"]) / arrays["embedding/scale"]
        return np.hstack([standard, questions])
    return sparse.hstack([words, sparse.csr_matrix(questions)]).tocsr()


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def combine_heads(probabilities: list[np.ndarray]) -> np.ndarray:
    """The heads' probabilities averaged in logit space."""
    return 1 / (1 + np.exp(-np.mean([logit(p) for p in probabilities], axis=0)))


def expected_level(present: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """P(level >= 1) + P(level >= 2), with P(>= 2) capped by P(>= 1) so the levels stay ordered."""
    return present + np.minimum(strong, present)


def predict_probabilities(arrays: dict, vectorizer, replies: list[str], layer_features: np.ndarray,
                          mechanisms=MECHANISMS, heads=HEADS) -> dict[str, dict[str, np.ndarray]]:
    """{mechanism: {"present": P(level >= 1), "strong": P(level >= 2)}} from the heads' arrays
    (`<mechanism>/<target>/<head>/coef` and `/intercept`) for replies and their layer features
    (TextEmbeddings.layer_rows); `heads` picks a subset of the heads (cross-validation compares them)."""
    layer_features = np.asarray(layer_features, dtype=float)
    if len(replies) != len(layer_features):
        raise ValueError(f"{len(replies)} replies but {len(layer_features)} embeddings")
    width = len(arrays["embedding/mean"])
    if layer_features.shape[1] != width:
        raise ValueError(f"layer features have {layer_features.shape[1]} columns, the scorer reads {width} "
                         "(the mean-pooled hidden states of its encoder layers: TextEmbeddings(layers=...))")
    questions = question_features(replies)
    features = {"embedding": head_features("embedding", layer_features, None, questions, arrays),
                "words": head_features("words", None, vectorizer.transform(replies), questions)}
    out = {}
    for mechanism in mechanisms:
        out[mechanism] = {}
        for target in TARGETS:
            per_head = []
            for head in heads:
                key = f"{mechanism}/{target}/{head}"
                z = features[head] @ arrays[f"{key}/coef"].astype(float) + float(arrays[f"{key}/intercept"])
                per_head.append(1 / (1 + np.exp(-np.asarray(z).ravel())))
            out[mechanism][target] = combine_heads(per_head)
    return out


def scorer_fingerprint(directory: str | Path | None = None) -> str:
    """sha256 of the scorer's arrays and metadata: a retrained or updated scorer changes the evaluation
    stage's fingerprint, so its old scores are never reused."""
    from tide.core.files import files_digest

    directory = Path(directory or SCORER_DIR)
    return files_digest([directory / MODEL_FILE, directory / META_FILE])


class MechanismScorer:
    """The shipped scorer (or one retrained into `directory`), loaded from plain arrays."""

    def __init__(self, directory: str | Path = SCORER_DIR):
        directory = Path(directory)
        model, meta = directory / MODEL_FILE, directory / META_FILE
        if not model.is_file() or not meta.is_file():
            raise ScorerFilesError(f"{directory}: no trained mechanism scorer ({MODEL_FILE} + {META_FILE}); "
                                   "run `make scorer EPITOME=DIR`")
        self.meta = json.loads(meta.read_text())
        self.arrays = read_npz(model)
        self.vectorizer = word_vectorizer(self.arrays["vocabulary"].tolist(), self.arrays["idf"])
        self.thresholds = self.meta["thresholds"]
        self.encoder = self.meta["encoder"]
        self.layers = tuple(self.meta["layers"])  # what TextEmbeddings(layers=...) must pool for it

    def probabilities(self, replies: list[str], layer_features: np.ndarray,
                      mechanisms=MECHANISMS) -> dict[str, dict[str, np.ndarray]]:
        return predict_probabilities(self.arrays, self.vectorizer, replies, layer_features, mechanisms)

    def score(self, replies: list[str], layer_features: np.ndarray) -> dict[str, list[float]]:
        """The metric columns (SCORE_COLUMNS) for replies and their layer features (TextEmbeddings.layer_rows)."""
        if not replies:
            return {column: [] for column in SCORE_COLUMNS}
        empty = np.array([not reply.strip() for reply in replies])
        columns = {}
        for mechanism, p in self.probabilities(replies, layer_features).items():
            name = f"mechanism_{SHORT_NAMES[mechanism].lower()}"
            # An empty reply shows no mechanism (as it shows no factor: tide/evaluate/factors.py).
            columns[name] = np.where(empty, 0.0, p["present"]).tolist()
            columns[f"{name}_level"] = np.where(empty, 0.0, expected_level(p["present"], p["strong"])).tolist()
        return columns
