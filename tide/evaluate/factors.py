"""Reference-free three-factor empathy scores: a transparent scorer, and its self-consistency on known spans.

The paper's empathy model has three factors (working definitions in ../shared/reference/paper.md):
emotion recognition, distress normalization, supportive reflection. For each factor this scorer keeps

- a small set of example sentences in general peer-support language that clearly show the factor, and
- a cue lexicon: regular expressions for phrases that commonly carry it in supportive replies
  (reflective listening, validation, normalising, encouragement, pointing to help).

Both were written from general empathy language, not from tide/data/synthetic.py's templates: no cue or
example exists only because a template uses it (a test checks the known template-only phrases are gone).
For each reply and factor:

    score = SIMILARITY_WEIGHT * max cosine(reply embedding, factor examples) + CUE_WEIGHT * [a cue matches]

clipped to [0, 1]; `empathy` is the mean of the three. The reply embedding is the one the evaluation
computes once per reply (tide/evaluate/embedding.py) and shares with cosine similarity and the mechanism
scorers. Everything that decides a score is in this file: there is no trained classifier.

How far these scores agree with people is measured on EPITOME's human labels (`python -m
launch.validate_scorer`, docs/evaluation.md). `factor_accuracy` checks the scorer against the synthetic
data's recorded `factor_spans`: the synthetic replies are written in the same general language, so this
is a self-consistency check, not a validation.
"""

from __future__ import annotations

import json
import re

import numpy as np

from tide.core.domain import FACTORS

EXAMPLES = {
    "emotion_recognition": (
        "It sounds like you're feeling really hurt and lonely.",
        "I understand how scared you must be right now.",
        "You must feel so frustrated and let down.",
        "That sounds incredibly painful and exhausting.",
        "I can see why you feel hopeless after all of this.",
        "It seems like you're angry and sad at the same time.",
        "I'm so sorry you're hurting like this.",
        "You sound overwhelmed and worn out.",
    ),
    "distress_normalization": (
        "A lot of people feel exactly the same way; you're not alone.",
        "What you're feeling is completely normal after what you went through.",
        "It makes total sense that you would react like this.",
        "There's nothing wrong with you for feeling this way.",
        "Anyone in your situation would struggle with this.",
        "Your feelings are valid and understandable.",
        "It's okay to feel like this; it doesn't make you weak.",
        "I've been through something similar and felt the same.",
    ),
    "supportive_reflection": (
        "You've shown a lot of strength by reaching out.",
        "Talking to a counselor or therapist might really help.",
        "Please be kind to yourself while you get through this.",
        "Maybe try taking things one step at a time.",
        "You deserve support, and it's okay to ask for it.",
        "I'm here for you if you want to talk more.",
        "Have you thought about telling someone close to you how you feel?",
        "Taking care of yourself right now is what matters most.",
    ),
}

_FEELINGS = (r"(?:scared|afraid|frightened|anxious|worried|alone|lonely|isolated|numb|empty|ashamed|guilty|"
             r"exhausted|tired|drained|overwhelmed|sad|down|depressed|angry|frustrated|hurt|betrayed|"
             r"hopeless|helpless|worthless|lost|stuck|trapped|confused|upset|heartbroken|on\s+edge)")
CUES = {
    "emotion_recognition": (
        r"\b(?:it\s+)?sounds?\s+like\s+you\b",
        r"\bi\s+can\s+(?:only\s+)?(?:hear|tell|see|imagine|sense)\s+(?:how|that|why|what)\b",
        r"\bi\s+(?:can\s+)?understand\s+(?:how|why|what|that)\b",
        r"\byou\s+(?:sound|seem)\b",
        r"\byou\s+(?:must|might)\s+(?:feel|be\s+feeling)\b",
        r"\byou(?:'re|\s+are|'ve\s+been|\s+have\s+been)\s+(?:feeling|going\s+through)\b",
        r"\b(?:how|what)\s+you(?:'re|\s+are)?\s+feel(?:ing)?\b",
        r"\bfeel(?:s|ing)?\s+(?:so\s+|really\s+|very\s+)?" + _FEELINGS + r"\b",
        r"\b(?:that|this|it)\s+(?:sounds|must\s+be|must\s+feel|seems)\s+(?:so\s+|really\s+|very\s+|incredibly\s+)?"
        r"(?:hard|difficult|painful|tough|scary|frightening|overwhelming|exhausting|awful|terrible|lonely)\b",
        r"\b(?:i'?m|i\s+am)\s+(?:so\s+|really\s+|very\s+)?sorry\s+(?:you|that|to\s+hear)\b",
    ),
    "distress_normalization": (
        r"\b(?:very\s+|really\s+|so\s+|quite\s+)?(?:common|normal|natural)\b",
        r"\b(?:many|lots\s+of|a\s+lot\s+of|so\s+many|plenty\s+of|most|other)\s+(?:people|survivors|others)\b",
        r"\b(?:understandable|valid)\b",
        r"\bmakes?\s+(?:total\s+|complete\s+|perfect\s+|a\s+lot\s+of\s+)?sense\b",
        r"\bnot\s+(?:alone|the\s+only\s+one)\b",
        r"\b(?:anyone|everyone|most\s+people)\s+(?:would|could|in\s+your)\b",
        r"\bnothing\s+(?:wrong\s+with\s+you|to\s+be\s+ashamed)\b",
        r"\bnot\s+your\s+fault\b",
        r"\b(?:doesn't|does\s+not|don't)\s+(?:mean|make)\s+you\b",
        r"\byou(?:'re|\s+are)\s+not\s+(?:crazy|weak|broken|overreacting|a\s+failure)\b",
        r"\bit'?s\s+(?:ok|okay|alright|fine)\s+to\s+(?:feel|be|not)\b",
        r"\bi'?ve\s+(?:been\s+through|felt|had)\b",
    ),
    "supportive_reflection": (
        r"\b(?:might|may|could|can|would)\s+(?:really\s+)?help\b",
        r"\b(?:you\s+(?:could|might|can)|maybe|perhaps)\s+(?:try|consider|think\s+about)\b",
        r"\bhave\s+you\s+(?:tried|considered|thought\s+about)\b",
        r"\b(?:therapist|therapy|counsell?or|counsell?ing|doctor|psychiatrist|psychologist|professional|"
        r"support\s+group|hotline|helpline)\b",
        r"\b(?:breath(?:e|ing)?|grounding|mindfulness|meditation|journal(?:ing)?)\b",
        r"\byou\s+(?:deserve|don't\s+have\s+to|do\s+not\s+have\s+to)\b",
        r"\b(?:strength|strong|courage|brave|proud\s+of\s+you)\b",
        r"\b(?:gentle|kind|patient|easy)\s+(?:with|to|on)\s+yourself\b",
        r"\b(?:one|small|little)\s+steps?\b",
        r"\bsomeone\s+you\s+trust\b",
        r"\breach(?:ing)?\s+out\b",
        r"\b(?:here\s+for\s+you|take\s+care\s+of\s+yourself|self[-\s]care)\b",
    ),
}
SIMILARITY_WEIGHT = 0.6
CUE_WEIGHT = 0.4
THRESHOLD = 0.55  # chosen on a synthetic set with another seed than the tests use; see docs/evaluation.md

_CUES = {factor: [re.compile(p, re.IGNORECASE) for p in patterns] for factor, patterns in CUES.items()}


def cue_hits(text: str, factor: str) -> bool:
    return any(pattern.search(text) for pattern in _CUES[factor])


class FactorScorer:
    """Scores replies for the three factors; the encoder is a SentenceTransformer (reference.load_encoder)."""

    def __init__(self, encoder, threshold: float = THRESHOLD, batch_size: int = 64):
        self.encoder, self.threshold, self.batch_size = encoder, threshold, batch_size
        self._examples = {factor: self._embed(list(EXAMPLES[factor])) for factor in FACTORS}

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)

    def score(self, replies: list[str], embeddings: np.ndarray | None = None) -> dict[str, list[float]]:
        """{factor: score per reply, ..., "empathy": mean of the three}; an empty reply scores 0.

        embeddings: the replies' normalised sentence embeddings when the caller has them (the evaluation
        computes one per reply and shares it); None encodes the replies here."""
        replies = [reply or "" for reply in replies]
        if not replies:
            return {name: [] for name in (*FACTORS, "empathy")}
        embeddings = self._embed(replies) if embeddings is None else np.asarray(embeddings, dtype=np.float32)
        empty = np.array([not reply.strip() for reply in replies])
        out = {}
        for factor in FACTORS:
            similarity = (embeddings @ self._examples[factor].T).max(axis=1)
            cues = np.array([cue_hits(reply, factor) for reply in replies], dtype=float)
            scores = np.clip(SIMILARITY_WEIGHT * similarity + CUE_WEIGHT * cues, 0.0, 1.0)
            out[factor] = np.where(empty, 0.0, scores).tolist()
        out["empathy"] = np.mean([out[f] for f in FACTORS], axis=0).tolist()
        return out


def present_factors(extra: str | dict) -> set[str]:
    """The factors with a recorded span in a record's `extra` (synthetic data)."""
    extra = json.loads(extra) if isinstance(extra, str) else extra
    return {span["factor"] for span in extra.get("factor_spans", [])}


def has_factor_spans(extras) -> bool:
    return any("factor_spans" in (json.loads(e) if isinstance(e, str) else e) for e in extras)


def auc(scores, labels) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties counted half."""
    from scipy.stats import mannwhitneyu

    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    positives, negatives = scores[labels], scores[~labels]
    if not len(positives) or not len(negatives):
        return float("nan")
    return float(mannwhitneyu(positives, negatives).statistic / (len(positives) * len(negatives)))


def factor_accuracy(scorer: FactorScorer, replies: list[str], extras: list) -> dict:
    """Per factor: precision, recall, F1 at the threshold, AUC, and the base rates they compare with."""
    scores = scorer.score(replies)
    present = [present_factors(extra) for extra in extras]
    report = {"threshold": scorer.threshold, "replies": len(replies)}
    for factor in FACTORS:
        labels = np.array([factor in p for p in present])
        predicted = np.array(scores[factor]) >= scorer.threshold
        true_positives = int((predicted & labels).sum())
        precision = true_positives / predicted.sum() if predicted.sum() else float("nan")
        recall = true_positives / labels.sum() if labels.sum() else float("nan")
        report[factor] = {
            "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "accuracy": float((predicted == labels).mean()), "auc": auc(scores[factor], labels),
            "positive_rate": float(labels.mean()),  # the precision of a scorer that says "present" always
        }
    return report
