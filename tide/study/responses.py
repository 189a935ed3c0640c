"""Read responses (long files, wide survey exports) into one long table, checked and joined to the key.

    responses = read_responses(["forms/r01.csv", "forms/r02.csv"], load_spec("study/spec.yaml"))

Every problem found in every file is gathered, one line each naming the file, the row (as a spreadsheet
numbers it: the header is row 1) and the column, and raised together as StudyFormatError:

    answers.csv: row 7, column 'empathy': '6' is outside the scale 1..5
    answers.csv: row 9, column 'item_id': 'i999' is not in the key (key.csv)

The table has one row per participant x item: participant, item (the participant's own id where there is
no item column: between-subjects), kind (rating, attention, gold), expected, the key's columns once
joined (system, model, condition, scenario, dialogue_id), every factor, demographic and outcome under its
spec NAME (outcomes and numeric demographics as floats, a blank answer NaN), duration, source_file,
source_row, and `answer:<column>` for the straight-lining rule's extra columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tide.core.files import file_problem
from tide.study.demographics import demographic_columns
from tide.study.spec import FROM_FILE, KEY_COLUMNS, KINDS, StudySpec, parse_expected


class StudyFormatError(ValueError):
    """Responses (or a key) that cannot be used; one line per problem, each naming file, row and column."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclass
class Responses:
    table: pd.DataFrame
    spec: StudySpec
    files: tuple[str, ...]

    def ratings(self) -> pd.DataFrame:
        """The rating items (not the attention or gold checks)."""
        return self.table[self.table["kind"] == "rating"]


def read_responses(paths, spec: StudySpec) -> Responses:
    """The responses in `paths` as one checked long table (see the module docstring)."""
    problems: list[str] = []
    key = read_key(spec.key_path(), spec, problems) if spec.key is not None else None
    key_columns = set(key.columns) if key is not None else set()
    frames = [frame for path in map(Path, paths)
              if (frame := _file_rows(path, spec, key_columns, problems)) is not None]
    if not frames:
        problems.append("no responses read" if not paths else "no file could be read")
        raise StudyFormatError(problems)
    raw = pd.concat(frames, ignore_index=True)
    table = _convert(raw, spec, key, problems)
    if problems:
        raise StudyFormatError(problems)
    if table.empty:
        raise StudyFormatError([f"{', '.join(map(str, paths))}: no responses (header only)"])
    return Responses(table, spec, tuple(map(str, paths)))


def read_csv_cells(path: Path, problems: list[str]) -> pd.DataFrame | None:
    """A CSV as trimmed text cells with source_file and source_row; None (and a problem) when unreadable."""
    if not path.is_file():
        problems.append(f"{path}: file not found")
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        problems.append(f"{path}: not a readable CSV ({str(error).strip()})")
        return None
    frame.columns = [str(column).strip() for column in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    return frame.assign(source_file=str(path), source_row=np.arange(2, len(frame) + 2))


def _missing_columns(frame: pd.DataFrame, needed, path: Path, problems: list[str]) -> bool:
    missing = [column for column in dict.fromkeys(needed) if column not in frame.columns]
    header = [c for c in frame.columns if c not in ("source_file", "source_row")]
    shown = ", ".join(header[:15]) + (f", ... ({len(header)} columns)" if len(header) > 15 else "")
    problems += [file_problem(path, 1, column, f"missing from the header ({shown})") for column in missing]
    return bool(missing)


def _needed(spec: StudySpec, key_columns: set[str]) -> list[str]:
    """The columns a responses file must have (factor columns the key provides excepted)."""
    needed = [] if spec.participant == FROM_FILE else [spec.participant]
    needed += [spec.item] if spec.item else []
    needed += [o.column for o in spec.outcomes.values()] if spec.questions is None else []
    needed += [f.column for f in spec.factors.values() if f.column not in key_columns]
    needed += [d.column for d in spec.demographics.values()]
    needed += [spec.duration] if spec.duration else []
    return needed + list(spec.quality.straightliners.columns)


def _participants(frame: pd.DataFrame, spec: StudySpec, path: Path) -> pd.Series:
    if spec.participant != FROM_FILE:
        return frame[spec.participant]
    name = path.stem
    if spec.participant_pattern:
        match = re.search(spec.participant_pattern, name)
        name = (match.group(1) if match.groups() else match.group(0)) if match else name
    return pd.Series(name, index=frame.index)


def _file_rows(path: Path, spec: StudySpec, key_columns: set[str], problems: list[str]) -> pd.DataFrame | None:
    """One file's rows in the common raw shape: participant, item, outcome NAMEs, raw:<column>, sources."""
    frame = read_csv_cells(path, problems)
    if frame is None or _missing_columns(frame, _needed(spec, key_columns), path, problems):
        return None
    participant = _participants(frame, spec, path)
    others = [c for c in _needed(spec, key_columns) if c not in (spec.participant, spec.item)]
    base = pd.DataFrame({"source_file": frame["source_file"], "source_row": frame["source_row"],
                         "participant": participant,
                         "item": frame[spec.item] if spec.item else participant,
                         **{f"raw:{column}": frame[column] for column in others}})
    if spec.questions is None:
        return base.assign(**{name: frame[o.column] for name, o in spec.outcomes.items()})
    return _melt_questions(frame, base, spec, path, problems)


def _melt_questions(frame, base, spec: StudySpec, path: Path, problems: list[str]) -> pd.DataFrame | None:
    """A wide export with one column per item and outcome: one row per participant x item answered."""
    by_column = {o.column: name for name, o in spec.outcomes.items()}
    pattern = re.compile(re.escape(spec.questions).replace(r"\{item\}", "(?P<item>.+?)").replace(
        r"\{outcome\}", "(?P<outcome>" + "|".join(map(re.escape, by_column)) + ")") + "$")
    found: dict[str, dict[str, str]] = {}
    for column in frame.columns:
        if match := pattern.match(column):
            found.setdefault(match["item"], {})[by_column[match["outcome"]]] = column
    if not found:
        problems.append(file_problem(path, 1, spec.questions, "no question column matches this template"))
        return None
    parts = []
    for item, columns in found.items():
        answers = {name: frame[columns[name]] if name in columns else "" for name in spec.outcomes}
        where = {f"column:{name}": columns.get(name, spec.questions) for name in spec.outcomes}
        part = base.assign(item=item, **answers, **where)  # column:NAME: the question a problem names
        parts.append(part[(part[list(spec.outcomes)] != "").any(axis=1)])  # blank: the item was not shown
    return pd.concat(parts, ignore_index=True)


def read_key(path: Path, spec: StudySpec, problems: list[str]) -> pd.DataFrame | None:
    """The unblinding key, checked: item_id and kind required, kinds known, expected answers readable."""
    key = read_csv_cells(path, problems)
    if key is None or _missing_columns(key, ("item_id", "kind"), path, problems):
        return None
    for row, item, kind, expected in zip(key["source_row"], key["item_id"], key["kind"],
                                         key.get("expected", pd.Series("", index=key.index))):
        if kind not in KINDS:
            problems.append(file_problem(path, row, "kind", f"{kind!r} is not one of {', '.join(KINDS)}"))
        elif kind != "rating":
            try:
                parse_expected(expected, spec.outcomes)
            except ValueError as error:
                problems.append(file_problem(path, row, "expected", str(error)))
    twice = key["item_id"].duplicated(keep="first")
    problems += [file_problem(path, row, "item_id", f"{item!r} appears twice in the key")
                 for row, item in zip(key.loc[twice, "source_row"], key.loc[twice, "item_id"])]
    columns = [c for c in KEY_COLUMNS if c in key.columns] + [c for c in key.columns if c not in KEY_COLUMNS]
    return key[columns].drop(columns=["source_file", "source_row"]).drop_duplicates("item_id")


def _convert(raw: pd.DataFrame, spec: StudySpec, key: pd.DataFrame | None, problems: list[str]) -> pd.DataFrame:
    """The raw rows checked and typed, the key joined, factors, demographics and outcomes by NAME."""
    table = raw[["source_file", "source_row", "participant", "item"]].copy()
    _require(raw, "participant", spec.participant, problems)
    if spec.item:
        _require(raw, "item", spec.item, problems)
    _duplicates(raw, problems, spec)
    table = _join_key(table, raw, spec, key, problems)
    for name, outcome in spec.outcomes.items():
        column = outcome.column if spec.questions is None else raw[f"column:{name}"]
        table[name] = _numbers(raw, name, column, problems, (outcome.min, outcome.max), outcome.integer)
    if spec.duration:
        table["duration"] = _numbers(raw, f"raw:{spec.duration}", spec.duration, problems, (0, np.inf))
    for column in spec.quality.straightliners.columns:
        table[f"answer:{column}"] = pd.to_numeric(raw[f"raw:{column}"].replace("", np.nan), errors="coerce")
    _factors(table, raw, spec, problems)
    for name, values in demographic_columns(raw, table, spec.demographics, problems).items():
        table[name] = values
    return table


def _require(raw: pd.DataFrame, field: str, column: str, problems: list[str]) -> None:
    empty = raw[field] == ""
    problems += [file_problem(f, r, column, "empty") for f, r in zip(raw.loc[empty, "source_file"], raw.loc[empty, "source_row"])]


def _duplicates(raw: pd.DataFrame, problems: list[str], spec: StudySpec) -> None:
    """A participant answering the same item twice (between-subjects: appearing twice) is a problem."""
    first = raw.drop_duplicates(["participant", "item"]).set_index(["participant", "item"])
    twice = raw[raw.duplicated(["participant", "item"]) & (raw["participant"] != "")]
    between = not (spec.item or spec.questions)
    column = spec.participant if between else spec.item or spec.questions
    for file, row, participant, item in twice[["source_file", "source_row", "participant", "item"]].itertuples(
            index=False):
        origin = first.loc[(participant, item)]
        what = f"participant {participant!r} answers" + ("" if between else f" item {item!r}")
        problems.append(file_problem(file, row, column, f"{what} twice (first: {origin['source_file']} row "
                                                    f"{origin['source_row']})"))


def _numbers(raw: pd.DataFrame, field: str, column, problems: list[str], bounds, integer: bool = False):
    """A column of answers as floats (blank: NaN), with a problem for each that is not a number in bounds;
    `column` names the source column (a Series of names where each row came from another question)."""
    text = raw[field]
    columns = column if isinstance(column, pd.Series) else pd.Series(column, index=raw.index)
    values = pd.to_numeric(text.replace("", np.nan), errors="coerce").astype(float)
    low, high = bounds
    bad = (text != "") & ~(values.between(low, high)) | (integer & (values % 1 != 0) & values.notna())
    scale = f"{low:g}..{high:g}"
    for file, row, name, cell, value in zip(raw.loc[bad, "source_file"], raw.loc[bad, "source_row"], columns[bad],
                                            text[bad], values[bad]):
        what = ("is not a number" if np.isnan(value) else f"is not a whole number on the scale {scale}"
                if integer and value % 1 and low <= value <= high else f"is outside the scale {scale}")
        problems.append(file_problem(file, row, name, f"{cell!r} {what}"))
    return values.where(~bad)


def _join_key(table, raw, spec: StudySpec, key, problems: list[str]) -> pd.DataFrame:
    """kind, expected and the key's columns per row; an item the key lacks is a problem."""
    if key is None:
        return table.assign(kind="rating", expected="")
    unknown = ~raw["item"].isin(key["item_id"]) & (raw["item"] != "")
    column = spec.item or spec.questions
    problems += [file_problem(f, r, column, f"{item!r} is not in the key ({spec.key})")
                 for f, r, item in zip(raw.loc[unknown, "source_file"], raw.loc[unknown, "source_row"],
                                       raw.loc[unknown, "item"])]
    joined = table.merge(key.rename(columns={"item_id": "item"}), on="item", how="left", validate="many_to_one")
    joined.index = table.index
    return joined.assign(expected=joined.get("expected", pd.Series("", index=table.index)).fillna(""))


def _factors(table: pd.DataFrame, raw: pd.DataFrame, spec: StudySpec, problems: list[str]) -> None:
    """Each factor's level per rating row, from the file or from the key; blank or unknown levels are problems."""
    rating = table["kind"] == "rating"
    for name, factor in spec.factors.items():
        values = raw[f"raw:{factor.column}"] if f"raw:{factor.column}" in raw else table[factor.column].fillna("")
        values = values.astype(str)
        allowed = set(factor.levels) if factor.levels else None
        bad = rating & ((values == "") | (~values.isin(allowed) if allowed else False))
        for file, row, value in zip(table.loc[bad, "source_file"], table.loc[bad, "source_row"], values[bad]):
            what = "empty" if value == "" else f"{value!r} is not one of {', '.join(factor.levels)}"
            problems.append(file_problem(file, row, factor.column, what))
        table[name] = values.where(rating)
