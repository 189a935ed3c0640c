"""Client risk: a score for whether a client turn voices current suicidal or self-harm intent, plan or means.

Trained on psychiatrists' labels (Reddit C-SSRS, Gaur et al. 2019, CC BY 4.0: tide/evaluate/cssrs.py) by
tide/evaluate/risk_training.py and shipped as plain arrays in tide/evaluate/scorers/ (risk.npz: float32
coefficients, no pickle; risk.json: the threshold, the lexicon terms, the settings and the grouped-CV
figures; 0.1 MB). Two logistic-regression heads, averaged in logit space (chosen by grouped CV,
docs/evaluation.md):

- a lexicon head on the Suicide Risk Lexicon's constructs, each match counted for who voices it (the
  writer, "you", someone else, or negated: tide/evaluate/risk_lexicon.py), so "I'm not suicidal" and
  "my buddy died by suicide" do not count as the writer's risk;
- an embedding head on the text's mean-pooled hidden states of all-MiniLM-L6-v2's layers 3-6, from the
  suite's shared encoder pass (tide/evaluate/embedding.py; the same features as the EPITOME scorers).

Behind both, an untrained gate (tide/evaluate/risk_gate.py) asks whether the writer voices suicide or
self-harm at all: texts that pass score 0.5 + 0.5p, the rest 0.5p (a monotone score, not a calibrated
probability). `threshold` (in risk.json) was chosen for sensitivity on the grouped-CV scores: the highest
at which 90% of at-risk users have a post at or above it, but never below the gate (0.5), under which
texts that voice no risk would be flagged. Validated on Reddit posts, which are not chat turns and not a
clinical population: this is a research flag, not a clinical instrument (docs/evaluation.md has the
figures and what they do not show).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from tide.core.files import read_npz
from tide.evaluate.risk_lexicon import RiskLexicon

SCORER_DIR = Path(__file__).parent / "scorers"
RISK_MODEL_FILE = "risk.npz"
RISK_META_FILE = "risk.json"
HEADS = ("lexicon", "embedding")
ENCODER_LAYERS = (3, 4, 5, 6)
GATE_SIMILARITY = 0.6  # cosine to a construct phrase that counts as voicing it (tide/evaluate/risk_gate.py)
GATE_SPLIT = 0.5       # texts that pass the gate score in [0.5, 1], the rest in [0, 0.5)


class RiskFilesError(FileNotFoundError):
    """The shipped (or a retrained) detector directory lacks its files."""


def head_logits(arrays: dict, lexicon_features: np.ndarray, layer_features: np.ndarray, heads=HEADS) -> np.ndarray:
    """The heads' logits averaged: each head standardises its features with its own stored mean and scale."""
    inputs = {"lexicon": lexicon_features, "embedding": layer_features}
    logits = []
    for head in heads:
        x = (np.asarray(inputs[head], dtype=float) - arrays[f"{head}/mean"]) / arrays[f"{head}/scale"]
        logits.append(x @ arrays[f"{head}/coef"].astype(float) + float(arrays[f"{head}/intercept"]))
    return np.mean(logits, axis=0)


def probabilities_from(arrays: dict, lexicon: RiskLexicon, texts: list[str], layer_features: np.ndarray,
                       heads=HEADS) -> np.ndarray:
    """P(voices risk) per text from the heads' arrays; an empty text scores 0."""
    layer_features = np.asarray(layer_features, dtype=float)
    if len(texts) != len(layer_features):
        raise ValueError(f"{len(texts)} texts but {len(layer_features)} rows of layer features")
    if not texts:
        return np.zeros(0)
    p = 1 / (1 + np.exp(-head_logits(arrays, lexicon.features(texts), layer_features, heads)))
    return np.where([not (t or "").strip() for t in texts], 0.0, p)


def gated(probabilities: np.ndarray, passes: np.ndarray, split: float = GATE_SPLIT) -> np.ndarray:
    """One score that keeps the model's order within each side of the gate and puts every text that passes
    it above every text that does not: split + (1 - split) x p where the writer voices suicide or
    self-harm, split x p elsewhere."""
    probabilities = np.asarray(probabilities, dtype=float)
    return np.where(passes, split + (1 - split) * probabilities, split * probabilities)


def sentence_vectors(encoder, batch_size: int = 64):
    """texts -> normalised sentence embeddings of the suite's encoder (what the gate compares)."""
    from tqdm.auto import tqdm

    def vectors(texts: list[str]) -> np.ndarray:
        texts, parts = list(texts), []
        for start in tqdm(range(0, len(texts), 1024), desc="encoding sentences", unit="chunk",
                          disable=len(texts) < 4096, mininterval=1.0):  # a bar for C-SSRS, not for a batch of turns
            parts.append(encoder.encode(texts[start:start + 1024], batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False))
        return np.concatenate(parts) if parts else np.zeros((0, encoder.get_embedding_dimension()), dtype=np.float32)

    return vectors


def risk_fingerprint(directory: str | Path | None = None) -> str:
    """sha256 of the detector's arrays and metadata (a retrained detector reruns the evaluation)."""
    from tide.core.files import files_digest

    directory = Path(directory or SCORER_DIR)
    return files_digest([directory / RISK_MODEL_FILE, directory / RISK_META_FILE])


class RiskDetector:
    """The shipped detector (or one retrained into `directory`), loaded from plain arrays."""

    def __init__(self, directory: str | Path = SCORER_DIR):
        directory = Path(directory)
        model, meta = directory / RISK_MODEL_FILE, directory / RISK_META_FILE
        if not model.is_file() or not meta.is_file():
            raise RiskFilesError(f"{directory}: no trained risk detector ({RISK_MODEL_FILE} + {RISK_META_FILE}); "
                                 "run `make risk-detector CSSRS=DIR`")
        self.directory = directory
        self.meta = json.loads(meta.read_text())
        self.arrays = read_npz(model)
        self.lexicon = RiskLexicon(self.meta["lexicon"]["terms"])
        self.threshold = float(self.meta["threshold"])
        self.layers = tuple(self.meta["layers"])  # what TextEmbeddings(layers=...) must pool for it
        self._gates: dict[int, object] = {}

    def model_probabilities(self, texts: list[str], layer_features: np.ndarray) -> np.ndarray:
        """The trained heads alone, before the gate."""
        return probabilities_from(self.arrays, self.lexicon, texts, layer_features)

    def gate(self, encoder):
        from tide.evaluate.risk_gate import RiskGate

        if id(encoder) not in self._gates:  # the phrases are encoded once per encoder
            gate = self.meta["gate"]
            self._gates[id(encoder)] = RiskGate(self.lexicon, gate["phrases"], sentence_vectors(encoder),
                                                gate["similarity"])
        return self._gates[id(encoder)]

    def scores(self, texts: list[str], layer_features: np.ndarray | None = None, encoder=None) -> np.ndarray:
        """P(the text voices current suicidal or self-harm intent, plan or means): the model's probability,
        kept where the gate passes. `layer_features` (TextEmbeddings.layer_rows) saves an encoder pass."""
        from tide.evaluate.reference import load_encoder

        encoder = encoder or load_encoder(None)
        if layer_features is None:
            layer_features = encode_layers(texts, self.layers, encoder)
        model = self.model_probabilities(texts, layer_features)
        return gated(model, self.gate(encoder).passes(texts), float(self.meta["gate"]["split"]))

    def validated(self) -> dict:
        """The grouped-CV sensitivity and specificity at the shipped threshold (user level), for reports."""
        user = self.meta["cv"]["user_level"]
        return {"sensitivity": user["sensitivity"], "specificity": user["specificity"],
                "threshold": self.threshold, "source": "grouped CV on Reddit C-SSRS (dev split), user level"}


@functools.lru_cache(maxsize=2)
def default_detector(directory: str | None = None) -> RiskDetector:
    return RiskDetector(directory or SCORER_DIR)


def encode_layers(texts: list[str], layers: tuple[int, ...], encoder=None, batch_size: int = 32,
                  progress: bool = False) -> np.ndarray:
    """(n, len(layers) x 384) mean-pooled MiniLM layer features, in chunks (with a progress bar when asked)."""
    from tqdm.auto import tqdm

    from tide.evaluate.embedding import TextEmbeddings
    from tide.evaluate.reference import load_encoder

    encoder = encoder or load_encoder(None)
    distinct = list(dict.fromkeys(texts))
    rows = {}
    chunk = batch_size * 8
    for start in tqdm(range(0, len(distinct), chunk), desc="encoding texts", unit="chunk", disable=not progress,
                      mininterval=1.0):
        part = distinct[start:start + chunk]
        rows.update(zip(part, TextEmbeddings(encoder, part, batch_size, layers=layers).layer_rows(part)))
    width = len(layers) * encoder.get_embedding_dimension()
    return np.stack([rows[t] for t in texts]) if texts else np.zeros((0, width))
