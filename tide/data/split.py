"""Persona-level train/val/test split: no persona's dialogues appear in two splits.

Personas are stratified on their attributes (trauma type, age group...) so that each split sees
the same mix. Strata too small to reach every split are pooled; the assignment then walks the
personas stratum by stratum and gives each one to the split furthest below its target share,
which keeps both the overall fractions and the per-stratum mix close to the targets.
"""

from __future__ import annotations

import hashlib
import math
import random
import warnings
from collections import defaultdict

from tide.config import SplitConfig

AGE_GROUPS = ((18, 29, "18-29"), (30, 44, "30-44"), (45, 59, "45-59"), (60, 200, "60+"))


def age_group(age) -> str | None:
    if age is None:
        return None
    for low, high, label in AGE_GROUPS:
        if low <= age <= high:
            return label
    return None


def persona_attribute(persona: dict, name: str):
    """An attribute used for stratifying; `age_group` is derived from `age`."""
    if name == "age_group":
        return age_group(persona.get("age"))
    value = persona.get(name)
    return None if isinstance(value, (list, dict)) else value


SPLITS = ("train", "val", "test")


def assign_splits(personas: dict[str, dict], split: SplitConfig) -> dict[str, str]:
    """Map each persona id to a split name (data.split: fractions, seed, stratify_on). Same input and seed,
    same assignment. The fractions' bounds and their sum are SplitConfig's own checks."""
    fractions = {name: float(getattr(split, name)) for name in SPLITS}
    seed, stratify_on = split.seed, split.stratify_on
    usable = [name for name in stratify_on
              if any(persona_attribute(p, name) is not None for p in personas.values())]
    if missing := [name for name in stratify_on if name not in usable]:
        warnings.warn(f"data.split.stratify_on: no persona carries {missing}; not stratifying on them")

    strata: dict[tuple, list[str]] = defaultdict(list)
    for persona_id in sorted(personas):
        strata[tuple(str(persona_attribute(personas[persona_id], n)) for n in usable)].append(persona_id)
    # A stratum smaller than one persona per smallest split cannot be spread; pool those.
    smallest = min(f for f in fractions.values() if f > 0)
    min_size = math.ceil(1 / smallest)
    pooled: dict[tuple, list[str]] = defaultdict(list)
    for key, members in strata.items():
        pooled[key if len(members) >= min_size else ("<pooled>",)].extend(members)

    ordered = []
    for key in sorted(pooled):
        members = sorted(pooled[key])
        random.Random(_stable_seed(seed, key)).shuffle(members)
        ordered += members

    counts = {name: 0 for name in fractions}
    assignment = {}
    for position, persona_id in enumerate(ordered, start=1):
        name = max(fractions, key=lambda n: (fractions[n] * position - counts[n], fractions[n]))
        counts[name] += 1
        assignment[persona_id] = name
    return assignment


def _stable_seed(seed: int, key: tuple) -> int:
    """A seed for one stratum that does not depend on Python's per-process hash salt."""
    digest = hashlib.sha256(repr((seed, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big")
