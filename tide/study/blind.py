"""Blinding: opaque ids for items and participants, and the check that nothing a rater sees names a system.

Item ids are drawn from the study's seeded generator, so a rebuild with the same settings gives the same
ids (the key can be rebuilt from the runs anyway: it is kept from raters, not from the researcher).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pandas as pd

from tide.config.schema import StudyConfig
from tide.study.sources import REFERENCE, StudyError


def item_ids(n: int, rng: random.Random) -> list[str]:
    """n distinct opaque ids (`i` + 8 hex digits) in draw order: nothing in them encodes what they hide."""
    ids: list[str] = []
    seen = set()
    while len(ids) < n:
        candidate = f"i{rng.getrandbits(32):08x}"
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def participant_ids(n: int) -> list[str]:
    """P01, P02, ... (zero-padded so files sort in order)."""
    width = max(2, len(str(n)))
    return [f"P{index:0{width}d}" for index in range(1, n + 1)]


def blinding_terms(systems: pd.DataFrame) -> list[str]:
    """Every name that would unblind a rater: systems, models, conditions (also spelt with spaces or hyphens)."""
    names = set(systems["system"]) | set(systems["model"]) | set(systems["condition"]) | {REFERENCE}
    terms = set()
    for name in map(str, names):
        terms |= {name, name.replace("_", " "), name.replace("_", "-")}
    return sorted(term for term in terms if term.strip())


def _pattern(terms: Iterable[str]) -> re.Pattern:
    # Whole words only: `tiny` names a model, `tinybox` does not; case does not matter to a reader.
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])", re.IGNORECASE)


def names_a_system(texts: pd.Series, terms: list[str]) -> pd.Series:
    """True where a text names a system (such a reply or client turn would unblind whoever reads it)."""
    pattern = _pattern(terms)
    return texts.astype(str).map(lambda text: pattern.search(text) is not None)


def check_blind(files: dict[str, str], terms: list[str]) -> None:
    """Refuse to write a rater-facing file that names a system: raises naming the file and the word."""
    pattern = _pattern(terms)
    for name, text in files.items():
        found = pattern.search(text)
        if found:
            raise StudyError(f"{name}: names {found.group(0)!r}, which would unblind raters (check study.consent, "
                             "study.instructions and the scale texts)")


def study_texts(study: StudyConfig) -> dict[str, str]:
    """The study options a rater reads, by option name (so a leak is reported against the option to fix)."""
    texts = {"study.consent": study.consent, "study.instructions": study.instructions,
             "study.attention.instructed_text": study.attention.instructed_text}
    for index, scale in enumerate(study.scales):
        texts.update({f"study.scales[{index}].{field}": getattr(scale, field) for field in ("question", "low", "high")})
    for index, question in enumerate(study.demographics):
        texts[f"study.demographics[{index}].question"] = " ".join([question.question, *question.choices])
    texts.update({f"study.attention.gold_replies[{i}]": reply for i, reply in enumerate(study.attention.gold_replies)})
    return texts
