"""The Suicide Risk Lexicon as features: who voices which risk construct, and whether it is negated.

The lexicon is construct-tracker's clinician-validated Suicide Risk Lexicon v1.0 (Low, Rankin, Bentley,
Nock & Ghosh; PyPI `construct-tracker`, Apache-2.0): 49 risk factors for suicidal thoughts and behaviour
plus kinship, each a list of words and phrases that clinicians rated. `package_lexicon()` reads it from
the installed package (training only); the detector ships the terms it was trained with in its own
metadata (tide/evaluate/scorers/risk.json), so scoring needs neither the package nor a network.

A match counts for the person who voices it. Each match of a construct term is read in its clause (the
text since the last sentence or clause break):

- negated: a negation among the three words before it ("I'm not suicidal", "I would never kill myself"),
  except phrases that do not negate what follows ("can't stop thinking about", "not sure");
- second person: the term or the clause before it is about "you" ("don't kill yourself": a supporter);
- other person: about someone else ("my buddy died by suicide", "she said she wanted to die");
- self: about the writer or about nobody in particular ("kms", "want to die").

`features(texts)` gives, per text, log(1 + self matches) of every construct, and for the suicide
constructs (SUICIDE_CONSTRUCTS) also the negated, second-person and other-person counts, plus the shares of
first- and second-person pronouns and the log word count.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

LEXICON_PACKAGE = "construct_tracker"
LEXICON_FILE = "data/lexicons/suicide_risk_lexicon_v1-0/suicide_risk_lexicon_validated_24-08-02T21-27-35.json"
LEXICON_NAME = "Suicide Risk Lexicon v1.0 (construct-tracker 1.0.16, Apache-2.0; Low et al. 2024)"
SUICIDE_CONSTRUCTS = ("Passive suicidal ideation", "Active suicidal ideation & suicidal planning",
                      "Lethal means for suicide", "Direct self-injury", "Suicide exposure",
                      "Other suicidal language")
PERSONS = ("self", "negated", "second", "other")

# Contractions that lose their apostrophe in the C-SSRS text and in quick chat ("dont", "im"): restored
# only where the bare form is not itself a word ("its", "ill", "were", "well", "id" stay).
_CONTRACTIONS = {
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "wont": "won't", "isnt": "isn't",
    "arent": "aren't", "wasnt": "wasn't", "werent": "weren't", "havent": "haven't", "hasnt": "hasn't",
    "hadnt": "hadn't", "wouldnt": "wouldn't", "couldnt": "couldn't", "shouldnt": "shouldn't", "im": "i'm",
    "ive": "i've", "youre": "you're", "youve": "you've", "youll": "you'll", "theyre": "they're",
    "theyve": "they've", "thats": "that's", "whats": "what's", "theres": "there's", "shes": "she's",
    "wouldve": "would've", "couldve": "could've", "shouldve": "should've", "aint": "ain't", "idk": "i don't know",
}
# Chat spellings, read as their words when matching (the trained encoder sees the text as written).
_CHAT = {"wanna": "want to", "gonna": "going to", "gotta": "got to", "imma": "i'm going to", "rn": "right now"}
_CHAT_WORD = re.compile(r"\b(" + "|".join(_CHAT) + r")\b", re.IGNORECASE)
_CONTRACTION = re.compile(r"\b(" + "|".join(_CONTRACTIONS) + r")\b", re.IGNORECASE)
_MISSING_SPACE = re.compile(r"([a-z][.!?])([A-Z])")  # "it.Its" in the C-SSRS text
_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})

CLAUSE_BREAK = re.compile(r"[.!?;:\n]|,\s|\b(?:but|because|though|although|however|so)\b")
NEGATION = re.compile(r"\b(?:not|never|no|nobody|without|don't|doesn't|didn't|won't|wouldn't|isn't|aren't|"
                       r"wasn't|weren't|cannot|can't|couldn't|shouldn't|haven't|hasn't|i'm not)\b")
# Negation words that do not negate what follows them.
NOT_NEGATING = re.compile(r"\b(?:can't stop|cannot stop|couldn't stop|can't help|not sure|not just|never stop|"
                           r"no longer|not only|don't know|doesn't stop|won't stop|no matter)\b")
_FIRST = r"i|i'm|i've|i'd|i'll|me|my|myself|mine|im|ive"
_SECOND = r"you|you're|you've|you'll|your|yourself|yourselves|u|ur"
_THIRD = (r"he|she|they|him|her|his|hers|their|them|himself|herself|themselves|he's|she's|they're|friend|buddy|"
          r"brother|sister|mom|mum|dad|mother|father|son|daughter|wife|husband|boyfriend|girlfriend|partner|"
          r"cousin|uncle|aunt|grandma|grandpa|grandmother|grandfather|someone|somebody|people|person|classmate|"
          r"coworker|roommate|neighbor|neighbour|friends|kid|teen|celebrity|guy|girl|man|woman")
PERSON = re.compile(rf"\b(?:(?P<first>{_FIRST})|(?P<second>{_SECOND})|(?P<third>{_THIRD}))\b")
_WORD = re.compile(r"[a-z']+")


def normalise(text: str, chat: bool = False) -> str:
    """One spelling for training posts and scored turns: HTML entities decoded, curly quotes straight,
    lost apostrophes restored ("dont" -> "don't"), a space after a sentence end glued to the next one;
    chat=True also spells out chat words ("wanna" -> "want to") for matching."""
    text = html.unescape(str(text or "")).translate(_CURLY)
    text = _MISSING_SPACE.sub(r"\1 \2", text)
    text = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(1).lower()], text)
    return _CHAT_WORD.sub(lambda m: _CHAT[m.group(1).lower()], text) if chat else text


def package_lexicon() -> dict[str, list[str]]:
    """{construct: terms} from the installed construct-tracker (the rated original terms; the package
    also lists lemmatised copies, which are left out: "cut" alone would stand for "cutting")."""
    import json
    from importlib import resources

    try:
        source = resources.files(LEXICON_PACKAGE).joinpath(LEXICON_FILE)
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise FileNotFoundError(f"the Suicide Risk Lexicon is not installed ({error}); run `make install` "
                                "(construct-tracker, pinned in requirements/stack.txt, installed --no-deps)") from None
    lexicon = {}
    for construct, entry in raw.items():
        tokens = entry["tokens"]
        lexicon[construct] = sorted(set(tokens[: len(tokens) // 2]))  # originals, then their lemmas
    return lexicon


@dataclass(frozen=True)
class Match:
    construct: str
    term: str
    start: int
    person: str  # one of PERSONS


def _term_pattern(terms: list[str]) -> re.Pattern:
    spelled = sorted({normalise(t).lower() for t in terms if t.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(t) for t in spelled) + r")(?![\w'])")


def _person_of(term: str, prefix: str) -> str:
    """Who the term is about: its own pronoun first ("kill myself", "killed himself"), else the last
    person word of the clause before it, else nobody in particular (counted as the writer)."""
    for source in (term, prefix):
        found = list(PERSON.finditer(source))
        if found:
            last = found[-1] if source is prefix else found[0]
            return "self" if last.group("first") else "second" if last.group("second") else "other"
    return "self"


def read_match(text: str, construct: str, match: re.Match) -> Match:
    """One match in its clause: negated, second person, other person or self."""
    start = match.start()
    breaks = [m.end() for m in CLAUSE_BREAK.finditer(text, 0, start)]
    prefix = text[breaks[-1] if breaks else 0:start]
    window = " ".join(_WORD.findall(prefix)[-3:])
    if NEGATION.search(window) and not NOT_NEGATING.search(" ".join(_WORD.findall(prefix)[-4:]) + " "
                                                              + match.group(0)):
        return Match(construct, match.group(0), start, "negated")
    return Match(construct, match.group(0), start, _person_of(match.group(0), prefix))


class RiskLexicon:
    """Compiled construct terms; `matches` explains a text, `features` is the detector's lexicon input."""

    def __init__(self, lexicon: dict[str, list[str]]):
        self.constructs = tuple(lexicon)
        self.patterns = {c: _term_pattern(terms) for c, terms in lexicon.items()}
        self.suicide = tuple(c for c in SUICIDE_CONSTRUCTS if c in self.patterns)

    def matches(self, text: str) -> list[Match]:
        low = normalise(text, chat=True).lower()
        return [read_match(low, c, m) for c, p in self.patterns.items() for m in p.finditer(low)]

    def feature_names(self) -> list[str]:
        names = [f"{c}/self" for c in self.constructs]
        names += [f"{c}/{person}" for c in self.suicide for person in PERSONS[1:]]
        return names + ["first_person_share", "second_person_share", "log_words"]

    def features(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            counts = {}
            for m in self.matches(text):
                counts[(m.construct, m.person)] = counts.get((m.construct, m.person), 0) + 1
            words = _WORD.findall(normalise(text).lower())
            persons = [p for p in PERSON.finditer(" ".join(words))]
            n = max(len(words), 1)
            row = [counts.get((c, "self"), 0) for c in self.constructs]
            row += [counts.get((c, person), 0) for c in self.suicide for person in PERSONS[1:]]
            row = list(np.log1p(row))
            row += [sum(bool(p.group("first")) for p in persons) / n, sum(bool(p.group("second")) for p in persons) / n,
                    np.log1p(len(words)) / 6]
            rows.append(row)
        return np.asarray(rows, dtype=float).reshape(len(texts), len(self.feature_names()))
