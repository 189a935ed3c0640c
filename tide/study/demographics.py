"""Demographic answers as the analysis uses them: numbers, groups of a number, or recoded categories.

A survey's free-text answers vary (`Male`, `male`, `M`, `Make`): a categorical demographic's `recode`
maps each trimmed, lower-cased answer to a level and `other` names the level of the rest. A numeric one
with `groups` (cut points) becomes labelled groups ("<40", "40-59", "60+"). A participant's answer must be
the same on every row of a long file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tide.core.files import file_problem
from tide.study.spec import DemographicSpec


def group_labels(cuts) -> list[str]:
    """[40, 60] -> ["<40", "40-59", "60+"] for whole-number cuts, else ["<40.5", "[40.5, 60)", "60+"]."""
    whole = all(float(c).is_integer() for c in cuts)
    inner = [f"{a:g}-{b - 1:g}" if whole else f"[{a:g}, {b:g})" for a, b in zip(cuts, cuts[1:])]
    return [f"<{cuts[0]:g}", *inner, f"{cuts[-1]:g}+"]


def grouped(values: pd.Series, cuts) -> pd.Series:
    """Numbers in labelled groups (NaN stays missing)."""
    labels = group_labels(cuts)
    index = np.searchsorted(np.asarray(cuts, dtype=float), values.to_numpy(dtype=float), side="right")
    return pd.Series([labels[i] if not np.isnan(v) else np.nan for i, v in zip(index, values)], index=values.index,
                     dtype=object)


def recoded(text: pd.Series, demographic: DemographicSpec) -> pd.Series:
    """Categorical answers, trimmed; with `recode`, lower-cased and mapped (the rest: `other`, or as given)."""
    values = text.where(text != "")
    if demographic.recode is None:
        return values.where(values.isna(), values.astype(str))
    mapping = {str(k).strip().lower(): str(v) for k, v in demographic.recode.items()}
    levels = set(mapping.values())

    def one(answer):
        if not isinstance(answer, str):
            return np.nan
        key = answer.strip().lower()
        if key in mapping:
            return mapping[key]
        if answer in levels:
            return answer
        return demographic.other if demographic.other is not None else answer
    return values.map(one).astype(object)


def demographic_columns(raw: pd.DataFrame, table: pd.DataFrame, demographics: dict[str, DemographicSpec],
                        problems: list[str]) -> dict[str, pd.Series]:
    """NAME -> the typed demographic per row; unreadable numbers and answers that change within a participant
    are problems."""
    out = {}
    for name, demographic in demographics.items():
        text = raw[f"raw:{demographic.column}"]
        _consistent(raw, text, demographic.column, problems)
        if demographic.type == "numeric":
            values = pd.to_numeric(text.replace("", np.nan), errors="coerce").astype(float)
            bad = (text != "") & values.isna()
            problems += [file_problem(f, r, demographic.column, f"{cell!r} is not a number")
                         for f, r, cell in zip(raw.loc[bad, "source_file"], raw.loc[bad, "source_row"], text[bad])]
            out[name] = grouped(values, demographic.groups) if demographic.groups else values
        else:
            out[name] = recoded(text, demographic)
    return out


def _consistent(raw: pd.DataFrame, text: pd.Series, column: str, problems: list[str]) -> None:
    first = {}
    for file, row, participant, answer in zip(raw["source_file"], raw["source_row"], raw["participant"], text):
        seen = first.setdefault(participant, (answer, file, row))
        if seen[0] != answer:
            problems.append(file_problem(file, row, column, f"participant {participant!r} answers {answer!r} here but "
                                                        f"{seen[0]!r} on {seen[1]} row {seen[2]}"))
