"""Persona ids and persona metadata, wherever they come from (file name, metadata file, wrapper, table row).

The leading number of a file name pairs a persona's files: `1_P5_conversations.json` goes with
`1_metadata.json` or `1_P5_metadata.json`. An id inside a file (`persona_id`) wins over the name; an id
whose leading number differs from the file name's is an error that names both.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from tide.data.containers import PERSONA_ID_KEYS, find_key

# Typed metadata fields: a value of another type is an error (other fields are carried as they are).
METADATA_TYPES = {
    "age": (int, float),
    "gender": str,
    "education": str,
    "ethnicity": str,
    "trauma_type": str,
    "trauma_behaviors": list,
}
# Table columns that hold persona attributes (besides the persona id and `persona_`/`persona.` columns).
PERSONA_FIELDS = (*METADATA_TYPES, "occupation")
_TYPE_NAMES = {int: "a number", float: "a number", str: "a string", list: "a list"}


class PersonaIdConflict(ValueError):
    pass


def natural_key(key: str):
    """Sort persona keys as people do: 2 before 10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", str(key))]


@functools.lru_cache(maxsize=65536)  # asked for every table row
def leading_number(text: str) -> str | None:
    """`1_P5_conversations` -> "1", `01_metadata` -> "1", `P7` -> None (no leading number)."""
    match = re.match(r"(\d+)", str(text).strip())
    return str(int(match.group(1))) if match else None


def file_key(path: Path, suffix: str) -> str:
    """What pairs a persona's files: the leading number of the name, else the name without its suffix."""
    stem = path.stem[: -len(suffix)] if suffix and path.stem.endswith(suffix) else path.stem
    return leading_number(stem) or stem


def id_text(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()


def persona_id_in(mapping: dict) -> tuple[str | None, object]:
    """(key, value) of the persona id a metadata object, wrapper or row carries, or (None, None)."""
    key = find_key(mapping, PERSONA_ID_KEYS) if isinstance(mapping, dict) else None
    value = mapping[key] if key else None
    if value is None or isinstance(value, (dict, list, bool)) or id_text(value) == "":
        return None, None
    return key, value


def resolve_persona_id(name_key: str | None, name_file: str, claims: list[tuple[str, object]]) -> str:
    """The persona id: the one inside the files (all must agree), else the file name's; raises PersonaIdConflict.

    `claims` are (where, value) of ids found inside files; `name_key` is what the file name says.
    """
    ids = [(where, id_text(value)) for where, value in claims]
    for where, persona_id in ids[1:]:
        if persona_id != ids[0][1]:
            raise PersonaIdConflict(f"persona id {ids[0][1]!r} in {ids[0][0]} but {persona_id!r} in {where}")
    if not ids:
        return name_key
    where, persona_id = ids[0]
    number, named = leading_number(persona_id), leading_number(name_key or "")
    if number is not None and named is not None and number != named:
        raise PersonaIdConflict(f"persona id {persona_id!r} in {where} disagrees with the file name {name_file} "
                                f"(persona {named})")
    return persona_id


def metadata_problem(metadata: dict) -> tuple[str, str] | None:
    """(field, problem) of the first typed field with a value of the wrong type, or None."""
    for name, expected in METADATA_TYPES.items():
        value = metadata.get(name)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            type_name = _TYPE_NAMES[expected[0] if isinstance(expected, tuple) else expected]
            return name, f"expected {type_name}, got {type(value).__name__} {value!r}"
    return None


def merge_metadata(into: dict, sources: dict, more: dict, where: str) -> tuple[str, str] | None:
    """Add `more` (from `where`) to `into`; (field, problem) when a value disagrees with an earlier source."""
    for key, value in more.items():
        if key in into and into[key] != value and not (
                str(key).lower() in PERSONA_ID_KEYS and id_text(into[key]) == id_text(value)):
            return key, f"{value!r} here but {into[key]!r} in {sources[key]}"
        if key not in into:
            into[key], sources[key] = value, where
    return None

