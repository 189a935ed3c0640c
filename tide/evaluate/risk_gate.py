"""Does the writer voice suicide or self-harm at all? The gate in front of the trained risk model.

Trained on Reddit r/SuicideWatch users, the model learnt that almost any first-person distress there
comes from someone at risk; in a chat, "I'm so tired all the time" or "I had a fight with my partner" is
not a voiced intent, plan or means, and the model alone flags it. So a text passes the gate only when
one of its sentences, read for who speaks and whether it is negated, voices suicide or self-harm:

- an exact match of the Suicide Risk Lexicon's suicidal constructs (GATE_CONSTRUCTS) voiced by the
  writer and not negated (tide/evaluate/risk_lexicon.py), leaving out terms that are everyday idioms
  ("dying to", "killing me", "attempt"); or a lethal-means term next to an act of getting, keeping or
  using it ("I bought a rope", "saving up my pills", "how many pills"); or
- its sentence embedding within `similarity` (cosine) of one of the constructs' phrases, when the
  sentence is about the writer (not "my brother", "himself"), not about a suicide the writer was exposed
  to, and not negated (unless the phrase itself is: "don't want to be alive"): this finds paraphrases
  the lexicon lacks ("I'm going to end my life", "unalive myself", "I wrote a goodbye note").

A text that does not pass keeps `floor` x its model probability, under any threshold the detector uses.
Nothing here is trained: the constructs, the idioms, the cues and `similarity` were set by hand and
checked on hand-written short turns (tests/fixtures/safety/short_turns*.csv); the Reddit figures of
the detector include the gate.
"""

from __future__ import annotations

import re

import numpy as np

from tide.evaluate.risk_lexicon import CLAUSE_BREAK, NEGATION, NOT_NEGATING, PERSON, RiskLexicon, normalise

GATE_CONSTRUCTS = ("Passive suicidal ideation", "Active suicidal ideation & suicidal planning", "Direct self-injury",
                   "Other suicidal language")
MEANS_CONSTRUCT = "Lethal means for suicide"
EXPOSURE_CONSTRUCT = "Suicide exposure"
# Lexicon terms that are everyday idioms or name services, not a voiced intent.
IDIOMS = frozenset({"dying", "i'm dying", "killing me", "kill me", "attempt", "drowning", "on the edge", "farewell", "fatal",
                    "severe depression", "crisis center", "crisis hotline", "crisis text line", "safety plan",
                    "safety check", "being saved", "poison", "i'm sinking", "breaking point", "nothing to lose",
                    "my death", "i will be dying", "i'm in a crisis", "body bag", "suicide"})
# Perceived burdensomeness phrased as absence (Burdensomeness construct), and chat words for suicide that
# the lexicon lacks (it has "end my own life", "take my own life"): added to the compared phrases.
BURDEN_TERMS = ("better off without me", "be better without me", "I should just disappear")
CHAT_TERMS = ("unalive myself", "end my life", "take my life", "ending things", "sewerslide")
# Everyday idioms (and trauma's startle words) near enough to a construct phrase in the encoder's space
# ("I'm dying for a night of sleep" ~ "sleep forever", "jumpy" ~ "want to jump"): such a sentence passes
# only on an exact match.
_IDIOM = re.compile(r"\bdying\s+(?:for|to)\b|\b(?:is|are|was|been|it's)\s+killing\s+me\b|\bkill\s+for\b|"
                    r"\bdead\s+tired\b|\bdeath\s+of\s+me\b|\bdrowning\s+in\b|\bjumpy\b|\bjump(?:ed)?\s+(?:at|when)\b")
_ADDED = re.compile(r"\b(?:" + "|".join(re.escape(t.lower()) for t in BURDEN_TERMS + CHAT_TERMS) + r")\b")
_MEANS_CUE = re.compile(
    r"\b(?:bought|buy|buying|purchased|ordered|got|getting|saving|saved|stockpil\w*|collect\w*|hoard\w*|looked\s+up|"
    r"look\s+up|how\s+many|enough|took\s+all|take\s+all|took\s+(?:a|the)\s+whole|swallow\w*|standing\s+on|tied|"
    r"loaded|hid|hide|hiding|using\s+it|use\s+it|thinking\s+about|keep\s+thinking|practis\w*|practic\w*)\b")
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|myself)\b")
_OTHER_SELF = re.compile(r"\b(?:himself|herself|themselves|his\s+own|her\s+own|their\s+own)\b")
_THIRD_AFTER_MY = re.compile(r"\bmy\s+(?:best\s+)?(?:friend|buddy|brother|sister|mom|mum|dad|mother|father|son|daughter|"
                             r"wife|husband|boyfriend|girlfriend|partner|cousin|uncle|aunt|grandma|grandpa|grandmother|"
                             r"grandfather|classmate|coworker|roommate|neighbou?r|kid|teen)\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(normalise(text, chat=True)) if len(s.strip()) > 1]


def gate_phrases(lexicon: dict[str, list[str]]) -> list[str]:
    """The phrases a sentence is compared with: the suicidal constructs' terms less the idioms, and the
    lethal-means terms of more than one word (an act: "jump off a bridge", not "bridge")."""
    phrases = [t for c in GATE_CONSTRUCTS for t in lexicon.get(c, []) if t.lower() not in IDIOMS]
    phrases += [t for t in lexicon.get(MEANS_CONSTRUCT, []) if " " in t]
    phrases += [t for t in lexicon.get("Burdensomeness", []) if t in BURDEN_TERMS]
    return sorted(set(phrases) | set(CHAT_TERMS))


def _about_someone_else(sentence: str) -> bool:
    low = sentence.lower()
    if _OTHER_SELF.search(low) or _THIRD_AFTER_MY.search(low):
        return True
    first = PERSON.search(low)
    return bool(first and (first.group("third") or first.group("second")))


def _negated(sentence: str, phrase: str) -> bool:
    """A negation in the sentence's first clause ("I'm not suicidal, I just can't sleep"; not "I'm giving
    my things away so nobody has to deal with them"), unless the phrase itself holds one."""
    if NEGATION.search(phrase.lower()):
        return False
    first = CLAUSE_BREAK.split(sentence.lower(), maxsplit=1)[0]
    return bool(NEGATION.search(first)) and not NOT_NEGATING.search(first)


def lexicon_voices(lexicon: RiskLexicon, sentence: str) -> bool:
    """An exact, writer-voiced, not negated match of a gate construct (idioms left out), or a lethal
    means next to an act of getting, keeping or using it."""
    matches = [m for m in lexicon.matches(sentence) if m.term not in IDIOMS]
    if any(m.construct in GATE_CONSTRUCTS and m.person == "self" for m in matches):
        return True
    added = _ADDED.search(sentence.lower())
    if added and not _negated(sentence, added.group(0)) and not _about_someone_else(sentence):
        return True
    # Whose gun it is matters less than that the writer has it ("I have my dad's gun and I keep thinking
    # about using it"): a means with an act of getting, keeping or using it, in a sentence about the writer.
    low = normalise(sentence, chat=True).lower()
    near = [low[max(0, m.start - 50):m.start + len(m.term) + 50] for m in matches
            if m.construct == MEANS_CONSTRUCT and m.person != "negated"]  # the act within a few words of the means
    return any(_MEANS_CUE.search(window) for window in near) and bool(_FIRST_PERSON.search(low))


class RiskGate:
    """Per text: does some sentence voice suicide or self-harm by the writer? `vectors(list[str])` gives
    normalised sentence embeddings (the suite's encoder, or a cache in training)."""

    def __init__(self, lexicon: RiskLexicon, phrases: list[str], vectors, similarity: float):
        self.lexicon, self.phrases, self.vectors, self.similarity = lexicon, phrases, vectors, similarity
        self.phrase_vectors = np.asarray(vectors(phrases), dtype=np.float32)

    def _similar(self, sentences: list[str]) -> list[tuple[float, str]]:
        if not sentences:
            return []
        cosines = np.asarray(self.vectors(sentences), dtype=np.float32) @ self.phrase_vectors.T
        best = cosines.argmax(axis=1)
        return [(float(cosines[i, j]), self.phrases[j]) for i, j in enumerate(best)]

    def passes(self, texts: list[str]) -> np.ndarray:
        per_text = [split_sentences(t) for t in texts]
        flat = [s for sentences in per_text for s in sentences]
        similar = iter(self._similar(flat))
        out = []
        for sentences in per_text:
            voiced = False
            for sentence in sentences:
                cosine, phrase = next(similar)
                semantic = (cosine >= self.similarity and not _IDIOM.search(sentence.lower())
                            and not _about_someone_else(sentence)
                            and not _negated(sentence, phrase) and not self._exposure_only(sentence))
                voiced = voiced or semantic or lexicon_voices(self.lexicon, sentence)
            out.append(voiced)
        return np.array(out, dtype=bool)

    def _exposure_only(self, sentence: str) -> bool:
        matches = self.lexicon.matches(sentence)
        voiced = {m.construct for m in matches if m.term not in IDIOMS}
        exposed = any(m.construct == EXPOSURE_CONSTRUCT and m.term != "suicide" for m in matches)
        return exposed and not voiced & set(GATE_CONSTRUCTS)
