"""Read TIDE in every shape it may arrive in, into canonical records (tide.data.records), losing nothing silently.

Found anywhere under the root (hidden folders such as a Hub snapshot's .cache/ are skipped):

    N_metadata.json + N_conversations.json                 flat, or under metadata/ and conversations/
    1_P5_conversations.json + 1_metadata.json              paired by the leading number of the name
    *.csv  *.tsv  *.jsonl  *.parquet                       table exports, one row per dialogue (tide.data.tables)

A conversation file may hold its conversations in any shape of the container model (tide.data.containers):
a list or an id -> conversation mapping, at the root or under one wrapper key, with turns as keys, as chat
messages or as speaker/text lists. Persona ids come from the files (tide.data.personas).

Every dialogue the reader sees is kept or skipped with a problem that names the file and the field (or
row and column): seen = kept + skipped, per file and in total. A persona with metadata but no dialogues and
a conversation file with no conversations are problems too. Strict (default): the first problem raises
TideFormatError. Lenient: problems are recorded (ReadResult.issues) and what they name is skipped.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tide.data.containers import (PERSONA_ID_KEYS, BadContainer, BadConversation, Dialogue, find_container,
                                  find_key, parse_conversation)
from tide.data.personas import (PersonaIdConflict, file_key, leading_number, merge_metadata, metadata_problem,
                                natural_key, persona_id_in, resolve_persona_id)
from tide.data.problems import Issue, Problems, TideFormatError
from tide.data.records import make_record
from tide.data.tables import TABLE_FORMATS, BadTable, Table, check_columns, read_table, split_row

__all__ = ["ReadResult", "Issue", "TideFormatError", "file_shapes", "read_tide", "source_files"]

METADATA_SUFFIXES = ("_metadata", "_meta")
CONVERSATION_SUFFIXES = ("_conversations", "_conversation", "_dialogues")
SOURCE_SUFFIXES = (".json", *TABLE_FORMATS)


@dataclass
class ReadResult:
    records: list[dict]
    issues: list[Issue]
    report: dict = field(default_factory=dict)

    def issues_report(self) -> dict:
        """data_issues.json: `skipped` counts the problems (each skipped what it names); `dialogues` the accounting."""
        return {
            "skipped": len(self.issues),
            "by_kind": dict(Counter(issue.kind for issue in self.issues)),
            "issues": [asdict(issue) for issue in self.issues],
            "dialogues": {key: self.report.get(key) for key in ("seen", "kept", "skipped")},
            "dialogues_per_persona": self.report.get("dialogues_per_persona"),
        }


def source_files(root: Path) -> list[Path]:
    """Every file under `root` the reader may read (for the data stage's change signature too)."""
    root = Path(root)
    return [path for path in sorted(root.rglob("*")) if path.suffix.lower() in SOURCE_SUFFIXES and path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(root).parts)]


def read_tide(root: str | Path, lenient: bool = False) -> ReadResult:
    """Read every persona under `root` into canonical records (see tide.data.records)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"TIDE directory not found: {root}")
    reading = _Reading(root, Problems(lenient))
    metadata_files, conversation_files, tables, ignored = reading.discover()
    if not metadata_files and not conversation_files and not tables:
        raise TideFormatError(root, "files", "no *_metadata.json, conversation files or tables "
                              f"({' '.join(sorted(set(TABLE_FORMATS)))}) found", "no_data")
    with _without_cycle_collection():
        for key in sorted(metadata_files.keys() | conversation_files.keys(), key=natural_key):
            reading.json_persona(key, metadata_files.get(key), conversation_files.get(key))
        tables_reader = _TableReader(reading)
        for path in tables:
            tables_reader.read(path)
        records = reading.records()
    layout = ("nested" if any(p.parent.name == "metadata" for p in metadata_files.values()) else "flat") \
        if metadata_files or conversation_files else "table"
    if tables and layout != "table":
        layout += " + tables"
    return ReadResult(records, reading.problems.issues, reading.report(records, layout, ignored))


@contextlib.contextmanager
def _without_cycle_collection():
    """Reading allocates many long-lived dicts and lists and no reference cycles, so the cyclic garbage
    collector would only rescan them again and again (up to a third of a table's read time, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Persona:
    persona_id: str
    first_file: str
    metadata: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # metadata key -> where its value came from
    metadata_file: Path | None = None
    dialogue_sources: int = 0  # conversation files and table rows
    dialogues: list[tuple[Dialogue, str, str]] = field(default_factory=list)  # (dialogue, id, file)
    ids: dict = field(default_factory=dict)  # conversation id -> where it was first seen
    seen: int = 0


class _Reading:
    """The state of one read (problems, personas, the per-file accounting) and its JSON persona files;
    table exports are read into it by _TableReader."""

    def __init__(self, root: Path, problems: Problems):
        self.root, self.problems = root, problems
        self.personas: dict[str, _Persona] = {}
        self.files: dict[str, dict] = {}
        self._rel: dict[Path, str] = {}
        self.unusable: set[str] = set()  # personas whose metadata file could not be read

    def discover(self):
        metadata, conversations, tables, ignored = {}, {}, [], []
        for path in source_files(self.root):
            if path.suffix.lower() in TABLE_FORMATS:
                tables.append(path)
                continue
            kind, suffix = _classify(path)
            if kind is None:
                ignored.append(self.rel(path))
                continue
            found = metadata if kind == "metadata" else conversations
            key = file_key(path, suffix)
            if key in found:
                self.problems.report(path, "persona_id", f"duplicate persona {key!r} (also in {found[key]})",
                                     "duplicate_id")
                continue
            found[key] = path
        return metadata, conversations, tables, ignored

    def rel(self, path: Path) -> str:
        if path not in self._rel:  # relative_to is slow, and every dialogue asks
            self._rel[path] = str(path.relative_to(self.root))
        return self._rel[path]

    def file(self, path: Path, kind: str, shape: str) -> dict:
        return self.files.setdefault(self.rel(path), {"file": self.rel(path), "kind": kind, "shape": shape,
                                                      "seen": 0, "kept": 0, "skipped": 0, "turns": Counter()})

    def skip(self, path: Path, field_name: str, problem: str, kind: str, dialogues: int = 1) -> None:
        self.problems.report(path, field_name, problem, kind)
        self.files[self.rel(path)]["skipped"] += dialogues

    def json_persona(self, key: str, meta_path: Path | None, conv_path: Path | None) -> None:
        metadata = _read_metadata(meta_path, self.problems) if meta_path else None
        if meta_path:
            self.file(meta_path, "metadata", "unreadable" if metadata is None else "persona object")
        container = self._container(conv_path) if conv_path else None
        if conv_path and container is None:
            return  # unreadable: its problem is reported, and no dialogue in it was seen
        entries = container.entries if container else []
        if conv_path:
            self.files[self.rel(conv_path)]["seen"] += len(entries)
        if meta_path and metadata is None:
            self.unusable.add(key)  # its problem is reported; table rows of this persona are skipped too
            if conv_path and entries:
                self.files[self.rel(conv_path)]["skipped"] += len(entries)
            return
        if not meta_path:
            self.skip(conv_path, "metadata", f"persona {key!r} has conversations but no metadata file",
                      "orphan_conversations", len(entries))
            return
        persona = self._json_persona_record(key, meta_path, conv_path, metadata, container, len(entries))
        if persona is None or conv_path is None:
            return
        persona.dialogue_sources += 1
        if not entries:
            self.problems.report(conv_path, "<root>", f"no conversations (empty {container.shape})",
                                 "empty_container")
        for container_id, where, conversation in entries:
            self.dialogue(persona, conv_path, lambda key, where=where: _json_field(where, key), container_id,
                          conversation, counted=True)

    def _container(self, path: Path):
        data = _read_json(path, self.problems)
        if data is None:
            self.file(path, "conversations", "unreadable")
            return None
        try:
            container = find_container(data)
        except BadContainer as bad:
            self.file(path, "conversations", "unrecognised")
            self.problems.report(path, "<root>", bad.problem, bad.kind)
            return None
        wrapper = f" (wrapper fields: {', '.join(map(str, container.wrapper))})" if container.wrapper else ""
        self.file(path, "conversations", f"{container.shape}{wrapper}")
        return container

    def _json_persona_record(self, key, meta_path, conv_path, metadata, container, entries) -> _Persona | None:
        """The persona of a metadata (+ conversation) file pair, with its metadata merged; None if skipped."""
        wrapper = container.wrapper if container else {}
        claims = []
        for path, source in ((meta_path, metadata), (conv_path, wrapper)):
            if path is not None and persona_id_in(source)[0] is not None:
                claims.append((path.name, persona_id_in(source)[1]))
        fail_path, fail_dialogues = conv_path or meta_path, entries if conv_path else 0
        try:
            persona_id = resolve_persona_id(key, meta_path.name, claims)
        except PersonaIdConflict as conflict:
            self.unusable.add(key)
            self.skip(fail_path, "persona_id", str(conflict), "id_mismatch", fail_dialogues)
            return None
        if persona_id in self.personas:
            self.skip(fail_path, "persona_id", f"duplicate persona {persona_id!r} (also in "
                      f"{self.personas[persona_id].first_file})", "duplicate_id", fail_dialogues)
            return None
        persona = _Persona(persona_id, self.rel(meta_path), metadata_file=meta_path)
        merge_metadata(persona.metadata, persona.sources, metadata, self.rel(meta_path))
        conflict = merge_metadata(persona.metadata, persona.sources, wrapper, self.rel(conv_path)) if wrapper else None
        if conflict:
            self.unusable.add(persona_id)
            self.skip(conv_path, conflict[0], f"persona {persona_id!r}: {conflict[1]}", "conflicting_metadata",
                      fail_dialogues)
            return None
        self.personas[persona_id] = persona
        return persona

    def dialogue(self, persona: _Persona, path: Path, where, container_id, conversation, counted=False) -> None:
        """Parse one conversation of `persona` from `path`; `where(key)` names a field of it."""
        entry = self.files[self.rel(path)]
        if not counted:
            entry["seen"] += 1
        persona.seen += 1
        try:
            dialogue = parse_conversation(conversation)
        except BadConversation as bad:
            self.skip(path, where(bad.key), bad.problem, bad.kind)
            return
        conversation_id = dialogue.conversation_id or container_id or str(persona.seen)
        first = persona.ids.get(conversation_id)
        if first is not None:
            shown = first[1] if first[0] == self.rel(path) else f"{first[0]}: {first[1]}"
            self.skip(path, where(dialogue.id_key or "id"),
                      f"duplicate conversation id {conversation_id!r} (first at {shown})", "duplicate_id")
            return
        persona.ids[conversation_id] = (self.rel(path), where(None))
        persona.dialogues.append((dialogue, conversation_id, self.rel(path)))
        entry["turns"][dialogue.shape] += 1

    def records(self) -> list[dict]:
        records = []
        for persona_id in sorted(self.personas, key=natural_key):
            persona = self.personas[persona_id]
            if persona.metadata_file and not persona.dialogue_sources:
                self.problems.report(persona.metadata_file, "conversations", f"persona {persona_id!r} has "
                                     "metadata but no dialogues (no conversation file or table rows)",
                                     "orphan_metadata")
            for dialogue, conversation_id, source_file in persona.dialogues:
                records.append(make_record(
                    persona_id=persona_id, conversation_id=conversation_id, scenario=dialogue.scenario,
                    client=dialogue.client, reference=dialogue.reply, persona=persona.metadata,
                    extra=dialogue.extra, source_file=source_file))
                self.files[source_file]["kept"] += 1
        return records

    def report(self, records: list[dict], layout: str, ignored: list[str]) -> dict:
        files = [{**entry, "turns": dict(entry["turns"])} for entry in self.files.values()]
        seen, skipped = sum(f["seen"] for f in files), sum(f["skipped"] for f in files)
        for entry in files:  # the invariant the accounting promises; a failure here is a reader bug
            if entry["seen"] != entry["kept"] + entry["skipped"]:
                raise RuntimeError(f"reader accounting is off for {entry['file']}: {entry}")
        dialogues = {p.persona_id: len(p.dialogues) for p in self.personas.values()}
        return {
            "root": str(self.root), "layout": layout,
            "personas": sum(n > 0 for n in dialogues.values()), "dialogues": len(records),
            "seen": seen, "kept": len(records), "skipped": skipped, "problems": len(self.problems.issues),
            "client_key": dict(Counter(d.client_key for p in self.personas.values() for d, _, _ in p.dialogues)),
            "reply_key": dict(Counter(d.reply_key for p in self.personas.values() for d, _, _ in p.dialogues)),
            "conversation_shape": dict(sum((Counter(f["turns"]) for f in files), Counter())),
            "files": files, "ignored": ignored,
            "dialogues_per_persona": per_persona_counts(dialogues),
        }


class _TableReader:
    """Table exports (one row per dialogue) read into the personas and the accounting of one read."""

    def __init__(self, reading: _Reading):
        self.reading = reading

    def read(self, path: Path) -> None:
        reading = self.reading
        try:
            table = read_table(path)
            check_columns(table)
        except BadTable as bad:
            reading.file(path, "table", "unreadable")
            reading.problems.report(path, bad.where, bad.problem, bad.kind)
            return
        entry = reading.file(path, "table", _table_shape(table))
        if not table.rows:
            reading.problems.report(path, "<rows>", "no dialogues (no rows below the header)", "empty_container")
            return
        id_column = find_key(dict.fromkeys(table.columns), PERSONA_ID_KEYS)
        named = leading_number(path.stem)
        if id_column is None and named is None:
            entry["seen"] += len(table.rows)
            reading.skip(path, f"column {PERSONA_ID_KEYS[0]!r}", f"missing persona id column (looked for "
                         f"{', '.join(PERSONA_ID_KEYS)}) and the file name has no leading number", "missing_column",
                         len(table.rows))
            return
        persona_columns = table.persona_columns()
        for label, row in table.rows:
            self._row(path, label, row, persona_columns, named)

    def _row(self, path: Path, label: str, row, persona_columns: dict[str, str], named: str | None) -> None:
        def where(key, label=label):
            return f"{label}, column {key!r}" if key else label

        reading = self.reading
        reading.files[reading.rel(path)]["seen"] += 1
        if isinstance(row, BadConversation):
            reading.skip(path, where(row.key), row.problem, row.kind)
            return
        persona_fields, conversation = split_row(row, persona_columns) if isinstance(row, dict) else ({}, row)
        try:
            persona_id = self._row_persona_id(path, label, persona_fields, named)
        except BadConversation as bad:
            reading.skip(path, where(bad.key), bad.problem, bad.kind)
            return
        if persona_id in reading.unusable and persona_id not in reading.personas:
            reading.files[reading.rel(path)]["skipped"] += 1  # counted; the metadata file's problem says why
            return
        persona = reading.personas.setdefault(persona_id, _Persona(persona_id, reading.rel(path)))
        conflict = merge_metadata(persona.metadata, persona.sources, persona_fields, f"{reading.rel(path)} {label}")
        if conflict:
            reading.skip(path, where(conflict[0]), f"persona {persona_id!r}: {conflict[1]}", "conflicting_metadata")
            return
        persona.dialogue_sources += 1
        reading.dialogue(persona, path, where, None, conversation, counted=True)

    @staticmethod
    def _row_persona_id(path: Path, label: str, persona_fields: dict, named: str | None) -> str:
        """The persona id of a table row (its id column, else the file name's number); raises BadConversation."""
        id_key, value = persona_id_in(persona_fields)
        try:
            persona_id = resolve_persona_id(named, path.name, [(label, value)] if id_key else [])
        except PersonaIdConflict as conflict:
            raise BadConversation(id_key, str(conflict), "id_mismatch") from None
        if persona_id is None:
            raise BadConversation(find_key(persona_fields, PERSONA_ID_KEYS) or PERSONA_ID_KEYS[0],
                                  "empty persona id", "missing_text")
        bad = metadata_problem(persona_fields)
        if bad:
            raise BadConversation(bad[0], bad[1], "wrong_type")
        return persona_id


def file_shapes(report: dict) -> list[tuple[int, str, str, str]]:
    """(files, kind, shape, an example file) per distinct shape in a read report, most common first."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in report["files"]:
        turns = f"; turns: {', '.join(sorted(entry['turns']))}" if entry["turns"] else ""
        groups.setdefault((entry["kind"], entry["shape"] + turns), []).append(entry["file"])
    return sorted(((len(files), kind, shape, files[0]) for (kind, shape), files in groups.items()),
                  key=lambda group: (-group[0], group[1], group[2]))


def per_persona_counts(dialogues: dict[str, int]) -> dict:
    """The majority number of dialogues per persona and the personas that differ from it (real TIDE: 20 each)."""
    counts = Counter(dialogues.values())
    if not counts:
        return {"majority": None, "personas_at_majority": 0, "differing": {}}
    majority = max(counts, key=lambda n: (counts[n], n))
    differing = {p: n for p, n in sorted(dialogues.items(), key=lambda item: natural_key(item[0])) if n != majority}
    return {"majority": majority, "personas_at_majority": counts[majority], "differing": differing}


def _json_field(where: str, key: str | None) -> str:
    if not key:
        return where
    return f"{where}{key}" if key.startswith("[") else f"{where}.{key}"


def _table_shape(table: Table) -> str:
    persona = list(table.persona_columns())
    fields = [c for c in table.columns if c not in persona]
    dropped = f"; dropped {', '.join(table.dropped)}" if table.dropped else ""
    return (f"{table.format} table, {len(table.rows)} row(s); persona columns {persona}; "
            f"dialogue columns {fields}{dropped}")


def _classify(path: Path) -> tuple[str | None, str]:
    stem = path.stem
    for suffix in METADATA_SUFFIXES:
        if stem.endswith(suffix):
            return "metadata", suffix
    for suffix in CONVERSATION_SUFFIXES:
        if stem.endswith(suffix):
            return "conversations", suffix
    if path.parent.name in ("metadata", "conversations"):
        return path.parent.name, ""
    return None, ""


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs):
    """json.loads keeps the last of two equal keys; a conversation mapping would lose one silently."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return mapping


def _read_json(path: Path, problems: Problems):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.report(path, "<encoding>", f"not valid UTF-8: byte 0x{raw[error.start]:02x} at offset "
                        f"{error.start}", "bad_encoding")
        return None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        problems.report(path, "<json>", f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}",
                        "malformed_json")
    except _DuplicateKey as duplicate:
        problems.report(path, "<json>", f"duplicate key {duplicate.args[0]!r} (JSON would keep only the last)",
                        "duplicate_id")
    return None


def _read_metadata(path: Path, problems: Problems) -> dict | None:
    metadata = _read_json(path, problems)
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        problems.report(path, "<root>", f"expected a JSON object, got {type(metadata).__name__}", "wrong_type")
        return None
    problem = metadata_problem(metadata)
    if problem:
        problems.report(path, *problem, "wrong_type")
        return None
    return metadata
