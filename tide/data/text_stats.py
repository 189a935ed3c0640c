"""Corpus variety statistics (distinct-n), shared by the synthetic-data tests and the evaluation code.

distinct-n = unique n-grams / total n-grams over a whole corpus (Li et al., 2016). Tokens are lowercase
whitespace-separated words; n-grams never cross the boundary between two texts.
"""

from __future__ import annotations

from typing import Iterable


def _ngrams(text: str, n: int):
    tokens = text.lower().split()
    return zip(*(tokens[i:] for i in range(n)))


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Unique n-grams / total n-grams over the corpus; 0.0 when the corpus has no n-gram at all."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        for gram in _ngrams(text, n):
            seen.add(gram)
            total += 1
    return len(seen) / total if total else 0.0


def corpus_variety(texts: Iterable[str]) -> dict:
    """{"texts", "unique_texts", "distinct_1", "distinct_2"} for a corpus (any iterable, read once)."""
    texts = list(texts)
    return {
        "texts": len(texts),
        "unique_texts": len(set(texts)),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
    }
