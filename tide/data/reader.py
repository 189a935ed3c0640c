"""Read TIDE as distributed: per-persona metadata files and conversation files.

Accepted layouts (found anywhere under the root, so a Hub snapshot with a data/ folder works too):

    root/N_metadata.json + root/N_conversations.json           flat
    root/metadata/N_metadata.json + root/conversations/N_...    nested (also the sister dataset's
                                                                 names such as 1_P5_conversations.json)

The key names inside the files are not documented, so the client turn and the reply are detected
from a list of known names and the reader reports which ones it found.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tide.data.records import make_record

CLIENT_KEYS = ("person", "client", "user", "user_input")
REPLY_KEYS = ("chatbot", "assistant", "response", "reference_response")
SCENARIO_KEYS = ("scenario", "emotional_scenario", "situation")
CONVERSATION_ID_KEYS = ("conversation_id", "conv_id", "dialogue_id", "id")
# Where a file keeps its list of conversations, or a conversation its list of turns.
CONVERSATION_LIST_KEYS = ("conversations", "dialogues", "data")
TURN_LIST_KEYS = ("turns", "conversation", "messages", "dialogue", "dialog")
ROLE_KEYS = ("role", "speaker", "from")
TEXT_KEYS = ("content", "text", "value", "message", "utterance")

METADATA_SUFFIXES = ("_metadata", "_meta")
CONVERSATION_SUFFIXES = ("_conversations", "_conversation", "_dialogues")
# Typed metadata fields: a value of another type is an error (other fields are carried as they are).
METADATA_TYPES = {
    "age": (int, float),
    "gender": str,
    "education": str,
    "ethnicity": str,
    "trauma_type": str,
    "trauma_behaviors": list,
}


class TideFormatError(ValueError):
    """A problem in a TIDE file; the message names the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str, kind: str):
        self.path, self.field, self.problem, self.kind = str(path), field, problem, kind
        super().__init__(f"{path}: {field}: {problem}")


@dataclass
class Issue:
    kind: str
    file: str
    field: str
    problem: str


@dataclass
class ReadResult:
    records: list[dict]
    issues: list[Issue]
    report: dict = field(default_factory=dict)

    def issues_report(self) -> dict:
        return {
            "skipped": len(self.issues),
            "by_kind": dict(Counter(issue.kind for issue in self.issues)),
            "issues": [asdict(issue) for issue in self.issues],
        }


class _Collector:
    """Raises on the first problem (strict) or records it and lets the caller skip (lenient)."""

    def __init__(self, lenient: bool):
        self.lenient = lenient
        self.issues: list[Issue] = []

    def problem(self, path, field: str, problem: str, kind: str) -> None:
        error = TideFormatError(path, field, problem, kind)
        if not self.lenient:
            raise error
        self.issues.append(Issue(kind, str(path), field, problem))


def read_tide(root: str | Path, lenient: bool = False) -> ReadResult:
    """Read every persona under `root` into canonical records (see tide.data.records)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"TIDE directory not found: {root}")
    collector = _Collector(lenient)
    metadata_files, conversation_files = _find_persona_files(root, collector)
    if not metadata_files and not conversation_files:
        raise TideFormatError(root, "files", "no *_metadata.json or conversation files found", "no_data")

    for key in sorted(metadata_files.keys() - conversation_files.keys(), key=_natural):
        collector.problem(metadata_files[key], "conversations",
                          f"persona {key!r} has metadata but no conversation file", "orphan_metadata")
    for key in sorted(conversation_files.keys() - metadata_files.keys(), key=_natural):
        collector.problem(conversation_files[key], "metadata",
                          f"persona {key!r} has conversations but no metadata file", "orphan_conversations")

    records: list[dict] = []
    found = {"client_key": Counter(), "reply_key": Counter(), "shape": Counter()}
    for persona_id in sorted(metadata_files.keys() & conversation_files.keys(), key=_natural):
        metadata = _read_metadata(metadata_files[persona_id], collector)
        conversations = _read_json(conversation_files[persona_id], collector)
        if metadata is None or conversations is None:
            continue
        records += _persona_records(persona_id, metadata, conversations, conversation_files[persona_id],
                                    root, collector, found)

    nested = any(path.parent.name == "metadata" for path in metadata_files.values())
    report = {
        "root": str(root),
        "layout": "nested" if nested else "flat",
        "personas": len({r["persona_id"] for r in records}),
        "dialogues": len(records),
        "client_key": dict(found["client_key"]),
        "reply_key": dict(found["reply_key"]),
        "conversation_shape": dict(found["shape"]),
        "skipped": len(collector.issues),
    }
    return ReadResult(records, collector.issues, report)


def _natural(key: str):
    """Sort persona keys as people do: 2 before 10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _find_persona_files(root: Path, collector: _Collector) -> tuple[dict[str, Path], dict[str, Path]]:
    metadata, conversations = {}, {}
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # .cache/ and friends in a Hub snapshot
        key, kind = _classify(path)
        if kind is None:
            continue
        table = metadata if kind == "metadata" else conversations
        if key in table:
            collector.problem(path, "persona_id", f"duplicate persona {key!r} (also in {table[key]})",
                              "duplicate_id")
            continue
        table[key] = path
    return metadata, conversations


def _classify(path: Path) -> tuple[str, str | None]:
    stem = path.stem
    for suffix in METADATA_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)], "metadata"
    for suffix in CONVERSATION_SUFFIXES:
        if stem.endswith(suffix):
            return stem[: -len(suffix)], "conversations"
    if path.parent.name == "metadata":
        return stem, "metadata"
    if path.parent.name == "conversations":
        return stem, "conversations"
    return stem, None


def _read_json(path: Path, collector: _Collector):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        collector.problem(path, "<encoding>",
                          f"not valid UTF-8: byte 0x{raw[error.start]:02x} at offset {error.start}", "bad_encoding")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        collector.problem(path, "<json>", f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}",
                          "malformed_json")
        return None


def _read_metadata(path: Path, collector: _Collector) -> dict | None:
    metadata = _read_json(path, collector)
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        collector.problem(path, "<root>", f"expected a JSON object, got {type(metadata).__name__}", "wrong_type")
        return None
    for name, expected in METADATA_TYPES.items():
        value = metadata.get(name)
        if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
            collector.problem(path, name, f"expected {_type_name(expected)}, got {type(value).__name__} {value!r}",
                              "wrong_type")
            return None
    return metadata


def _type_name(expected) -> str:
    names = {int: "a number", float: "a number", str: "a string", list: "a list"}
    return names[expected[0] if isinstance(expected, tuple) else expected]


def _conversation_list(data, path: Path, collector: _Collector) -> list[tuple[str | None, object]] | None:
    """(id from the container, conversation) pairs, whatever container the file uses."""
    if isinstance(data, list):
        return [(None, item) for item in data]
    if isinstance(data, dict):
        for key in CONVERSATION_LIST_KEYS:
            if isinstance(data.get(key), list):
                return [(None, item) for item in data[key]]
        if _find_key(data, CLIENT_KEYS) or _find_key(data, TURN_LIST_KEYS):
            return [(None, data)]  # a file holding one conversation
        if data and all(isinstance(value, dict) for value in data.values()):
            return list(data.items())  # {"1": {...}, "2": {...}}
    collector.problem(path, "<root>", f"expected a list of conversations, got {type(data).__name__}", "wrong_type")
    return None


def _persona_records(persona_id, metadata, data, path, root, collector, found) -> list[dict]:
    conversations = _conversation_list(data, path, collector)
    if conversations is None:
        return []
    records, first_seen = [], {}
    for index, (container_id, conversation) in enumerate(conversations):
        where = f"conversations[{index}]"
        if not isinstance(conversation, dict):
            collector.problem(path, where, f"expected an object, got {type(conversation).__name__}", "wrong_type")
            continue
        id_key = _find_key(conversation, CONVERSATION_ID_KEYS)
        conversation_id = str(conversation[id_key] if id_key else container_id or index + 1)
        if conversation_id in first_seen:
            collector.problem(path, f"{where}.{id_key or 'id'}",
                              f"duplicate conversation id {conversation_id!r} (first at {first_seen[conversation_id]})",
                              "duplicate_id")
            continue
        turns = _extract_turns(conversation, path, where, collector)
        if turns is None:
            continue
        (client_key, client), (reply_key, reply), shape = turns
        first_seen[conversation_id] = where
        found["client_key"][client_key] += 1
        found["reply_key"][reply_key] += 1
        found["shape"][shape] += 1
        scenario_key = _find_key(conversation, SCENARIO_KEYS)
        used = {id_key, scenario_key, client_key, reply_key, _find_key(conversation, TURN_LIST_KEYS)}
        extra = {k: v for k, v in conversation.items() if k not in used}
        records.append(make_record(
            persona_id=persona_id, conversation_id=conversation_id,
            scenario=conversation.get(scenario_key) if scenario_key else None,
            client=client, reference=reply, persona=metadata, extra=extra,
            source_file=str(path.relative_to(root)),
        ))
    return records


def _find_key(mapping: dict, names: tuple[str, ...]) -> str | None:
    lowered = {str(key).lower(): key for key in mapping}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _extract_turns(conversation: dict, path, where, collector):
    """((client_key, text), (reply_key, text), shape), or None after reporting the problem."""
    client_key, reply_key = _find_key(conversation, CLIENT_KEYS), _find_key(conversation, REPLY_KEYS)
    turns_key = _find_key(conversation, TURN_LIST_KEYS)
    if client_key is None and reply_key is None and turns_key and isinstance(conversation[turns_key], list):
        pairs, shape = _turns_from_list(conversation[turns_key]), f"{turns_key} list"
        where = f"{where}.{turns_key}"
    else:
        pairs = {}
        if client_key:
            pairs["client"] = (client_key, conversation[client_key])
        if reply_key:
            pairs["reply"] = (reply_key, conversation[reply_key])
        shape = "keys"
    texts = []
    for role, names in (("client", CLIENT_KEYS), ("reply", REPLY_KEYS)):
        if role not in pairs:
            collector.problem(path, where, f"missing {role} turn (looked for keys {', '.join(names)})", "missing_text")
            return None
        key, value = pairs[role]
        if not isinstance(value, str):
            collector.problem(path, f"{where}.{key}", f"expected a string, got {type(value).__name__}", "wrong_type")
            return None
        if not value.strip():
            collector.problem(path, f"{where}.{key}", f"empty {role} text", "empty_text")
            return None
        texts.append((key, value.strip()))
    return texts[0], texts[1], shape


def _turns_from_list(turns: list) -> dict:
    """The first client turn and the first reply after it, from [{"role": .., "content": ..}] or [{"person": ..}]."""
    pairs = {}
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        role_key, text_key = _find_key(turn, ROLE_KEYS), _find_key(turn, TEXT_KEYS)
        if role_key and text_key:
            role_name, value = str(turn[role_key]).lower(), turn[text_key]
        elif len(turn) == 1:
            role_name, value = str(next(iter(turn))).lower(), next(iter(turn.values()))
        else:
            continue
        role = "client" if role_name in CLIENT_KEYS else "reply" if role_name in REPLY_KEYS else None
        if role == "client" and "client" not in pairs:
            pairs["client"] = (role_name, value)
        elif role == "reply" and "client" in pairs and "reply" not in pairs:
            pairs["reply"] = (role_name, value)
    return pairs

