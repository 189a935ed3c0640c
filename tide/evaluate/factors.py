"""Reference-free three-factor empathy scores: a transparent scorer, and its accuracy on known spans.

The paper's empathy model has three factors (working definitions in ../shared/reference/paper.md):
emotion recognition, distress normalization, supportive reflection. For each factor this scorer keeps

- a small curated set of example sentences that clearly show the factor, and
- a cue lexicon: regular expressions for the phrases that typically carry it.

A reply is split into sentences. For each sentence and factor:

    score = SIMILARITY_WEIGHT * max cosine(sentence, factor examples) + CUE_WEIGHT * [a cue matches]

and the reply's factor score is the best sentence's score (in [0, 1] after clipping). `empathy` is the
mean of the three. Everything that decides a score is in this file: there is no trained classifier.
The examples are written for this scorer; they are not copied from the synthetic generator's templates.

`factor_accuracy` checks the scorer against the synthetic data's recorded `factor_spans`: a factor is
present in a reference reply when it has a span. It reports precision and recall at the threshold and
the threshold-free AUC (chance: 0.5).
"""

from __future__ import annotations

import json
import re

import numpy as np

from tide.data.synthetic import FACTORS

EXAMPLES = {
    "emotion_recognition": (
        "It sounds like you are feeling really scared and alone right now.",
        "I can hear how exhausted and frustrated you are.",
        "You seem to be carrying a lot of guilt about this.",
        "That must feel overwhelming and frightening.",
        "It sounds like this has left you feeling numb and disconnected.",
        "I can tell how anxious this makes you.",
        "You sound heartbroken and worn out.",
        "It seems you're feeling ashamed, and that hurts.",
    ),
    "distress_normalization": (
        "Many people who have been through trauma react in exactly this way.",
        "What you're going through is a very common response to a traumatic experience.",
        "Your reaction makes sense given what happened; it doesn't mean something is wrong with you.",
        "Lots of survivors experience this too, so you are not alone.",
        "It's completely understandable to feel this way after something so overwhelming.",
        "These reactions are a normal response to an abnormal event.",
        "It's natural for the body to stay on alert after danger.",
        "This happens to a lot of people after trauma and it is not a sign of weakness.",
    ),
    "supportive_reflection": (
        "You've been holding so much, and you are still trying to take care of yourself.",
        "It might help to take a few slow breaths and notice what is around you.",
        "A therapist who understands trauma could help you work through this at your own pace.",
        "Reaching out like this shows real strength, and you don't have to do it alone.",
        "You could try writing down what comes up, so it feels a little more manageable.",
        "Would it help to talk to someone you trust about how you're doing?",
        "Be gentle with yourself; small steps still count.",
        "You deserve support while you heal, and asking for it is a good step.",
    ),
}

CUES = {
    "emotion_recognition": (
        r"\b(?:it\s+)?sounds?\s+like\s+you(?:'re|\s+are|\s+feel)",
        r"\bi\s+can\s+(?:hear|tell|see|imagine|sense)\s+(?:how|that)\b",
        r"\byou\s+(?:sound|seem)\b",
        r"\byou(?:'re|\s+are|'ve\s+been|\s+have\s+been)\s+feeling\b",
        r"\byou\s+feel\b",
        r"\bpart\s+of\s+you\s+feels?\b",
        r"\bleft\s+you\s+feeling\b",
        r"\b(?:picking\s+up|hear(?:ing)?)\s+how\s+(?!much)\w+",
        r"\bfeeling\s+\w+\s+seems\b",
        r"\bfeel(?:ing)?\s+(?:so\s+)?(?:scared|afraid|anxious|alone|lonely|numb|ashamed|guilty|exhausted|"
        r"overwhelmed|sad|angry|hopeless|on\s+edge|trapped|stuck)\b",
        r"\bthat\s+(?:sounds|must\s+be|must\s+feel)\s+(?:so\s+|really\s+)?(?:hard|painful|frightening|"
        r"overwhelming|exhausting|unbearable)\b",
    ),
    "distress_normalization": (
        r"\b(?:very\s+|really\s+|so\s+|far\s+more\s+)?common\b",
        r"\b(?:many|lots\s+of|a\s+lot\s+of)\s+(?:people|survivors)\b",
        r"\bunderstandable\b",
        r"\bnot\s+alone\b",
        r"\bnormal\s+(?:reaction|response)\b",
        r"\byour\s+reactions?\s+(?:makes?|is|are)\s+(?:sense|understandable|normal)\b",
        r"\breact\s+(?:this|that)\s+way\b",
        r"\b(?:people|survivors|the\s+(?:body|mind|brain))\s+(?:very\s+)?(?:often|tends?\s+to|frequently)\b",
        r"\bnot\s+a\s+(?:sign|flaw)\b",
        r"\b(?:natural|human)\s+(?:way|response|reaction)\b",
        r"\b(?:doesn't|does\s+not|don't)\s+mean\s+you(?:'re|\s+are)?\s+(?:weak|broken|failing)\b",
    ),
    "supportive_reflection": (
        r"\b(?:it\s+)?(?:might|may|could)\s+help\b",
        r"\byou\s+(?:might|could)\s+try\b",
        r"\b(?:therapist|counsell?or|doctor|professional|support\s+group)\b",
        r"\b(?:breath(?:e|ing)?|grounding|ground\s+under)\b",
        r"\byou\s+(?:deserve|don't\s+have\s+to)\b",
        r"\b(?:strength|courage)\b",
        r"\b(?:gentle|kind)\s+(?:with|to)\s+yourself\b",
        r"\bsmall\s+steps?\b",
        r"\bsomeone\s+you\s+trust\b",
        r"\byou(?:'re|\s+are)\s+still\b",
        r"\bit'?s\s+okay\s+to\b",
        r"\b(?:try|you\s+could)\s+\w+ing\b",
        r"\byou\s+could\s+(?:keep|write|plan|ask|tell|mark)\b",
        r"\bcan\s+start\s+(?:very\s+)?small\b",
    ),
}
SIMILARITY_WEIGHT = 0.6
CUE_WEIGHT = 0.4
THRESHOLD = 0.55  # chosen on a synthetic set with another seed than the tests use; see docs/evaluation.md

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CUES = {factor: [re.compile(p, re.IGNORECASE) for p in patterns] for factor, patterns in CUES.items()}


def split_sentences(text: str) -> list[str]:
    """Sentences and clauses by end punctuation (no NLTK data needed); short replies need no more."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def cue_hits(sentence: str, factor: str) -> bool:
    return any(pattern.search(sentence) for pattern in _CUES[factor])


class FactorScorer:
    """Scores replies for the three factors; the encoder is a SentenceTransformer (reference.load_encoder)."""

    def __init__(self, encoder, threshold: float = THRESHOLD, batch_size: int = 64):
        self.encoder, self.threshold, self.batch_size = encoder, threshold, batch_size
        self._examples = {factor: self._embed(list(EXAMPLES[factor])) for factor in FACTORS}

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)

    def score(self, replies: list[str]) -> dict[str, list[float]]:
        """{factor: score per reply, ..., "empathy": mean of the three}; an empty reply scores 0."""
        sentences, owner = [], []
        for i, reply in enumerate(replies):
            for sentence in split_sentences(reply or ""):
                sentences.append(sentence)
                owner.append(i)
        out = {factor: [0.0] * len(replies) for factor in FACTORS}
        if sentences:
            # Each distinct sentence once: replies to one dialogue share many sentences.
            distinct = list(dict.fromkeys(sentences))
            position = {s: i for i, s in enumerate(distinct)}
            embedded = self._embed(distinct)[[position[s] for s in sentences]]
            for factor in FACTORS:
                similarity = (embedded @ self._examples[factor].T).max(axis=1)
                cues = np.array([cue_hits(s, factor) for s in sentences], dtype=float)
                sentence_scores = np.clip(SIMILARITY_WEIGHT * similarity + CUE_WEIGHT * cues, 0.0, 1.0)
                for i, value in zip(owner, sentence_scores.tolist()):
                    out[factor][i] = max(out[factor][i], value)
        out["empathy"] = [float(np.mean([out[f][i] for f in FACTORS])) for i in range(len(replies))]
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
