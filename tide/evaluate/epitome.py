"""EPITOME reader: human empathy labels (Sharma, Miner, Atkins & Althoff, EMNLP 2020) from any directory.

A directory holds one CSV per communication mechanism, in EPITOME's own format (the public repository
behavioral-data/Empathy-Mental-Health, folder dataset/):

    emotional-reactions-reddit.csv   interpretations-reddit.csv   explorations-reddit.csv
    columns: sp_id, rp_id, seeker_post, response_post, level, rationales

`level` is 0 (none), 1 (weak) or 2 (strong); `rationales` lists the response spans that carry the
mechanism, `|`-separated, and may be empty. A missing file or column, a level that is not 0/1/2, or an
empty id or text is an `EpitomeFormatError` whose one-line message names the file, the row (the CSV
line number, header = line 1) and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from tide.core.files import FileFormatError

MECHANISMS = ("emotional_reactions", "interpretations", "explorations")
FILES = {"emotional_reactions": "emotional-reactions-reddit.csv",
         "interpretations": "interpretations-reddit.csv",
         "explorations": "explorations-reddit.csv"}
SHORT_NAMES = {"emotional_reactions": "ER", "interpretations": "IP", "explorations": "EX"}
COLUMNS = ("sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales")
REQUIRED_TEXT = ("sp_id", "rp_id", "seeker_post", "response_post")
LEVELS = {"0": 0, "1": 1, "2": 2}


class EpitomeFormatError(FileFormatError):
    """A problem in an EPITOME file; the message names the file, the row and the column."""


@dataclass
class MechanismLabels:
    """One mechanism's labelled pairs, as parallel lists (row order of the file)."""

    mechanism: str
    path: str
    sp_id: list[str]
    rp_id: list[str]
    seeker_post: list[str]
    response_post: list[str]
    level: list[int]
    rationales: list[str]

    def __len__(self) -> int:
        return len(self.level)


def read_mechanism(path: str | Path, mechanism: str) -> MechanismLabels:
    """One EPITOME CSV, every row checked."""
    path = Path(path)
    if not path.is_file():
        raise EpitomeFormatError(path, None, "file", f"not found (expected EPITOME's {FILES[mechanism]})")
    columns = {c: [] for c in COLUMNS}
    row_number = 1
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise EpitomeFormatError(path, 1, missing[0], f"missing from the header (need {', '.join(COLUMNS)})")
            for row_number, row in enumerate(reader, start=2):
                _check_row(path, row_number, row)
                for column in COLUMNS:
                    columns[column].append(row[column].strip() if column != "rationales" else (row[column] or ""))
    except UnicodeDecodeError as error:
        raise EpitomeFormatError(path, None, "file", f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise EpitomeFormatError(path, row_number + 1, "row", f"not valid CSV ({error})") from None
    if not columns["rp_id"]:
        raise EpitomeFormatError(path, None, "rows", "no labelled pairs")
    columns["level"] = [LEVELS[value] for value in columns["level"]]
    return MechanismLabels(mechanism, str(path), **columns)


def _check_row(path: Path, row_number: int, row: dict) -> None:
    if None in row:  # DictReader puts surplus fields under the key None
        raise EpitomeFormatError(path, row_number, "rationales", f"{len(row[None])} field(s) more than the header")
    for column in REQUIRED_TEXT:
        if row[column] is None or not row[column].strip():
            raise EpitomeFormatError(path, row_number, column, "empty")
    level = (row["level"] or "").strip()
    if level not in LEVELS:
        raise EpitomeFormatError(path, row_number, "level", f"{level!r} is not 0, 1 or 2")


def read_epitome(directory: str | Path, mechanisms=MECHANISMS) -> dict[str, MechanismLabels]:
    """{mechanism: labels} for EPITOME's three files in `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EpitomeFormatError(directory, None, "directory", "not found")
    unknown = [m for m in mechanisms if m not in FILES]
    if unknown:
        raise ValueError(f"unknown mechanism(s) {unknown}; known: {list(MECHANISMS)}")
    return {mechanism: read_mechanism(directory / FILES[mechanism], mechanism) for mechanism in mechanisms}
