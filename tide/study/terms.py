"""Design matrices whose columns are named as the report names terms.

A factor level is `name[level]` (a dummy against the factor's reference level), a numeric demographic
is its own name (centred, in the spec's `per` units), an interaction joins its parts with `:`
(`source[human response]:label[human label]`, `label[human label]:age`). The fitted coefficient of a
column is then the term's effect, and the JSON, the report and the docs all spell it the same way.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd


class StudyAnalysisError(ValueError):
    """Ratings that cannot be analysed as the spec asks; one line naming the option or the column."""


@dataclass(frozen=True)
class Factor:
    name: str
    levels: tuple[str, ...]  # the reference level first

    @property
    def reference(self) -> str:
        return self.levels[0]

    def column(self, level: str) -> str:
        return f"{self.name}[{level}]"

    def columns(self) -> list[str]:
        return [self.column(level) for level in self.levels[1:]]


def factor_from(values: pd.Series, name: str, reference: str | None, where: str) -> Factor:
    """The factor's levels as found, reference first (the one asked for, else the first in sort order)."""
    levels = sorted(values.dropna().astype(str).unique())
    if reference is not None and reference not in levels:
        raise StudyAnalysisError(f"{where}: reference level {reference!r} is not among the levels found "
                                 f"({', '.join(levels)})")
    first = reference if reference is not None else levels[0]
    return Factor(name, (first, *[level for level in levels if level != first]))


def dummies(values: pd.Series, factor: Factor) -> pd.DataFrame:
    """One 0/1 column per non-reference level."""
    values = values.astype(str).to_numpy()
    return pd.DataFrame({factor.column(level): (values == level).astype(float) for level in factor.levels[1:]})


def centred(values: pd.Series, name: str, per: float = 1.0) -> pd.DataFrame:
    """A numeric column centred at its mean, in units of `per` (effects of the other terms are at the mean)."""
    values = values.to_numpy(dtype=float)
    return pd.DataFrame({name: (values - np.nanmean(values)) / per})


def product(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Every column of `left` times every column of `right`, named `a:b`."""
    return pd.DataFrame({f"{a}:{b}": left[a].to_numpy() * right[b].to_numpy()
                         for a, b in itertools.product(left.columns, right.columns)})


def parse_effects(text: str) -> list[list[str]]:
    """"source * label + age" -> [["source", "label"], ["age"]]: `*` crosses factors, `+` adds them."""
    return [[name.strip() for name in group.split("*")] for group in text.split("+")]


def effects_design(table: pd.DataFrame, groups: list[list[Factor]]) -> pd.DataFrame:
    """Main effects of every factor and, within a crossed group, every interaction of two or more."""
    parts = []
    for group in groups:
        blocks = {factor.name: dummies(table[factor.name], factor) for factor in group}
        for size in range(1, len(group) + 1):
            for combination in itertools.combinations(group, size):
                block = blocks[combination[0].name]
                for factor in combination[1:]:
                    block = product(block, blocks[factor.name])
                parts.append(block)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(len(table)))


def complete_cells(table: pd.DataFrame, factors: list[Factor]) -> bool:
    """Whether every combination of the factors' levels was rated (crossing them is estimable)."""
    seen = set(map(tuple, table[[f.name for f in factors]].astype(str).drop_duplicates().to_numpy()))
    return all(cell in seen for cell in itertools.product(*(f.levels for f in factors)))


def full_rank(design: pd.DataFrame) -> bool:
    matrix = np.column_stack([np.ones(len(design)), design.to_numpy(dtype=float)])
    return int(np.linalg.matrix_rank(matrix)) == matrix.shape[1]
