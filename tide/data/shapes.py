"""Write one set of personas and dialogues in every shape the reader reads (the round-trip test, the bench).

Input: persona metadata objects (with `persona_id`) and, per persona, its conversations as the synthetic
generator writes them ({"conversation_id", "scenario", "person", "chatbot", ...other fields}). Every shape
holds the same content, so each reads back to the same canonical records (source_file aside).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

# The fields of a conversation that each shape places in its own way; the rest are carried as they are.
_ID, _CLIENT, _REPLY = "conversation_id", "person", "chatbot"


def _dump(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _rest(conversation: dict, *names: str) -> dict:
    return {k: v for k, v in conversation.items() if k not in names}


def _chat(conversation: dict) -> dict:
    messages = [{"role": "user", "content": conversation[_CLIENT]},
                {"role": "assistant", "content": conversation[_REPLY]}]
    return {**_rest(conversation, _CLIENT, _REPLY), "messages": messages}


def _speaker_turns(conversation: dict) -> dict:
    turns = [{"speaker": "person", "text": conversation[_CLIENT]}, {"speaker": "chatbot", "text": conversation[_REPLY]}]
    return {"id": conversation[_ID], **_rest(conversation, _ID, _CLIENT, _REPLY), "turns": turns}


def _nested_keys(conversation: dict) -> dict:
    return {**_rest(conversation, _CLIENT, _REPLY),
            "dialogue": {_CLIENT: conversation[_CLIENT], _REPLY: conversation[_REPLY]}}


# How a persona's conversation file holds its conversations, per JSON shape.
JSON_SHAPES = {
    "nested": lambda pid, convs: convs,
    "flat": lambda pid, convs: convs,
    "mapping": lambda pid, convs: {str(c[_ID]): _rest(c, _ID) for c in convs},
    "wrapped_mapping": lambda pid, convs: {"persona_id": pid, "conversations": {str(c[_ID]): _rest(c, _ID)
                                                                              for c in convs}},
    "wrapped_list": lambda pid, convs: {"persona_id": pid, "data": convs},
    "chat_messages": lambda pid, convs: [_chat(c) for c in convs],
    "speaker_turns": lambda pid, convs: {"dialogues": [_speaker_turns(c) for c in convs]},
    "nested_keys": lambda pid, convs: [_nested_keys(c) for c in convs],
}
TABLE_SHAPES = ("csv", "tsv", "jsonl", "parquet")
SHAPES = (*JSON_SHAPES, *TABLE_SHAPES, "metadata_json_and_csv")


def write_shape(out_dir: Path, shape: str, personas: list[dict], conversations: dict) -> Path:
    """Write `personas` and their `conversations` ({persona_id: [conversation]}) to out_dir in `shape`."""
    out_dir = Path(out_dir)
    if shape in JSON_SHAPES:
        flat = shape == "flat"
        for persona in personas:
            pid = persona["persona_id"]
            _dump(out_dir / ("" if flat else "metadata") / f"{pid}_metadata.json", persona)
            # The sister dataset's names: 1_P1_conversations.json pairs with 1_metadata.json.
            name = f"{pid}_conversations.json" if shape in ("nested", "flat") else f"{pid}_P{pid}_conversations.json"
            _dump(out_dir / ("" if flat else "conversations") / name, JSON_SHAPES[shape](pid, conversations[pid]))
    elif shape == "metadata_json_and_csv":
        for persona in personas:
            _dump(out_dir / "metadata" / f"{persona['persona_id']}_metadata.json", persona)
        rows = [{"persona_id": p["persona_id"], **c} for p in personas for c in conversations[p["persona_id"]]]
        _write_delimited(out_dir / "conversations.csv", rows, ",")
    elif shape in TABLE_SHAPES:
        rows = [{**p, **c} for p in personas for c in conversations[p["persona_id"]]]
        writers = {"csv": lambda: _write_delimited(out_dir / "tide.csv", rows, ","),
                   "tsv": lambda: _write_delimited(out_dir / "tide.tsv", rows, "\t"),
                   "jsonl": lambda: _write_json_lines(out_dir / "tide.jsonl", rows),
                   "parquet": lambda: _write_parquet(out_dir / "tide.parquet", rows)}
        out_dir.mkdir(parents=True, exist_ok=True)
        writers[shape]()
    else:
        raise ValueError(f"shape {shape!r}: expected one of {SHAPES}")
    return out_dir


def _write_delimited(path: Path, rows: list[dict], delimiter: str) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value):
        if value is None:
            return ""
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(columns)
        writer.writerows([cell(row.get(column)) for column in columns] for row in rows)


def _write_json_lines(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
