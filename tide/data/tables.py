"""Table exports of TIDE: CSV, TSV, JSON Lines and Parquet, one row per dialogue.

    persona_id,conversation_id,scenario,person,chatbot,age,gender,trauma_behaviors,risk
    1,1,trouble sleeping,I can't sleep.,That sounds exhausting.,34,female,"[""nightmares""]",

Columns are detected with the key lists of the JSON files (tide.data.containers): persona id, conversation
id, scenario, client and reply. The persona's attributes (tide.data.personas.PERSONA_FIELDS, and columns
named `persona_<x>` or `persona.<x>`) become its metadata; every other column is a dialogue field (the
record's `extra`). A JSON Lines row may also be any conversation of the JSON container model (chat
messages, nested turns). CSV/TSV cells are text: an empty cell is missing, and outside the text columns a
number reads as a number and a JSON (or Python-literal, as pandas writes lists) list or object as that.
Rows are numbered as a spreadsheet shows them (CSV/TSV: the header is row 1), by line (JSON Lines), or
from 1 (Parquet).
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tide.data.containers import (CLIENT_KEYS, CONVERSATION_ID_KEYS, PERSONA_ID_KEYS, REPLY_KEYS, SCENARIO_KEYS,
                                  TURN_LIST_KEYS, BadConversation, find_key)
from tide.data.personas import METADATA_TYPES, PERSONA_FIELDS

TABLE_FORMATS = {".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSON Lines", ".ndjson": "JSON Lines",
                 ".parquet": "Parquet"}
PERSONA_PREFIXES = ("persona_", "persona.")
# Columns whose cells stay text in CSV/TSV (an education of "12" is not the number 12).
_TEXT_COLUMNS = {*CLIENT_KEYS, *REPLY_KEYS, *SCENARIO_KEYS, *CONVERSATION_ID_KEYS,
                 *(name for name, kind in METADATA_TYPES.items() if kind is str), "occupation"}
_INTEGER = re.compile(r"-?(0|[1-9]\d*)")
_FLOAT = re.compile(r"-?\d+\.\d*([eE][-+]?\d+)?|-?\d+[eE][-+]?\d+")


class BadTable(ValueError):
    """A table that cannot be read at all; `where` names the column, `<header>`, `<encoding>` ..."""

    def __init__(self, where: str, problem: str, kind: str):
        self.where, self.problem, self.kind = where, problem, kind
        super().__init__(problem)


@dataclass
class Table:
    format: str
    columns: list[str]
    # (row label, the row as a dict) or (row label, BadConversation) for a row that could not be parsed.
    rows: list[tuple[str, object]]
    dropped: list[str] = field(default_factory=list)  # e.g. pandas' unnamed index column

    def persona_columns(self) -> dict[str, str]:
        """{column: its name in the persona's metadata} (`persona_age` and `persona.age` become `age`)."""
        id_column = find_key(dict.fromkeys(self.columns), PERSONA_ID_KEYS)
        fields = {name.lower() for name in PERSONA_FIELDS}
        columns = {}
        for column in self.columns:
            name = column.lower()
            if column == id_column or name in fields:
                columns[column] = column
            elif name.startswith(PERSONA_PREFIXES) and name not in PERSONA_ID_KEYS:
                columns[column] = column[len("persona_"):]
        return columns


def read_table(path: Path) -> Table:
    """The rows of one table file; raises BadTable for a file that cannot be read at all."""
    kind = TABLE_FORMATS[path.suffix.lower()]
    if kind == "Parquet":
        return _read_parquet(path)
    text = _decode(path)
    if kind == "JSON Lines":
        return _read_json_lines(text)
    return _read_delimited(text, "\t" if kind == "TSV" else ",", kind)


def check_columns(table: Table) -> None:
    """A CSV/TSV/Parquet table must have a client and a reply column (or a column of turns)."""
    if table.format == "JSON Lines":
        return  # rows may differ; each row is checked as a conversation
    present = dict.fromkeys(table.columns)
    if find_key(present, TURN_LIST_KEYS):
        return
    for role, names in (("client", CLIENT_KEYS), ("reply", REPLY_KEYS)):
        if find_key(present, names) is None:
            raise BadTable(f"column {names[0]!r}", f"missing {role} column (looked for {', '.join(names)}); "
                           f"columns are {table.columns}", "missing_column")


def split_row(row: dict, persona_columns: dict[str, str]) -> tuple[dict, dict]:
    """(persona metadata, the conversation) of one row, with `Table.persona_columns()`; missing values left out."""
    persona, conversation = {}, {}
    for key, value in row.items():
        name = persona_columns.get(key)
        if name is None:
            conversation[key] = value
        elif value is not None:
            persona[name] = value
    return persona, conversation


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadTable("<encoding>", f"not valid UTF-8: byte 0x{raw[error.start]:02x} at offset {error.start}",
                       "bad_encoding") from None


def _read_delimited(text: str, delimiter: str, kind: str) -> Table:
    # strict: a quote left open (a file cut inside a quoted cell) is an error, not a shortened cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as error:
        raise BadTable("row 1", f"malformed {kind}: {error}", "malformed_table") from None
    if not header:
        raise BadTable("<header>", "empty file: no header row", "empty_container")
    dropped = []
    if header[0] in ("", "Unnamed: 0"):  # pandas' index column (to_csv writes it unless index=False)
        dropped = [f"column 1 ({header[0] or 'unnamed'}: the writer's row index)"]
    for index, name in enumerate(header):
        if name in header[:index]:
            raise BadTable(f"column {name!r}", f"duplicate column {name!r}", "duplicate_id")
    columns = header[1:] if dropped else header
    converters = [_converter(name) for name in columns]
    rows = []
    for number, cells in enumerate(_rows_or_errors(reader, kind), start=2):
        label = f"row {number}"
        if isinstance(cells, BadConversation):
            rows.append((label, cells))
        elif len(cells) != len(header):
            rows.append((label, BadConversation(None, f"{len(cells)} fields but the header has {len(header)} "
                                                      f"(truncated or misquoted?)", "malformed_table")))
        else:
            values = cells[1:] if dropped else cells
            rows.append((label, {name: convert(value) for name, convert, value in zip(columns, converters, values)}))
    return Table(kind, columns, rows, dropped)


def _rows_or_errors(reader, kind: str):
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield BadConversation(None, f"malformed {kind}: {error}", "malformed_table")
            return
        if cells:  # a blank line is no row
            yield cells


def _converter(column: str):
    """How the cells of `column` read (see the module docstring): client and reply text as they are (an
    empty one is an error later), other text columns with empty as missing, the rest as values."""
    name = column.lower()
    if name in CLIENT_KEYS or name in REPLY_KEYS:
        return str
    if name in _TEXT_COLUMNS:
        return lambda text: text if text != "" else None
    return _value


def _value(text: str):
    if text == "":
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            try:
                return ast.literal_eval(text)  # pandas writes a list column as "['a', 'b']"
            except (ValueError, SyntaxError):
                return text
    return text


def _read_json_lines(text: str) -> Table:
    rows, columns = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append((f"line {number}", BadConversation(
                None, f"malformed JSON at column {error.colno}: {error.msg}", "malformed_json")))
            continue
        if isinstance(row, dict):
            columns.update(dict.fromkeys(row))
        rows.append((f"line {number}", row))
    return Table("JSON Lines", list(columns), rows)


def _read_parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for a file it cannot read
        raise BadTable("<parquet>", f"not a readable Parquet file: {error}", "malformed_table") from None
    return Table("Parquet", list(table.column_names),
                 [(f"row {number}", row) for number, row in enumerate(table.to_pylist(), start=1)])
