"""One set of dialogues in every shape the reader reads: the same records back, and each shape's broken files named."""

import json
import re

import pytest

from tide.data.artifact import fingerprint
from tide.data.reader import TideFormatError, read_tide
from tide.data.records import content_of
from tide.data.shapes import JSON_SHAPES, SHAPES, TABLE_SHAPES, write_shape
from tide.data.synthetic import generate_conversations, generate_personas

TABLE_FILES = {"csv": "tide.csv", "tsv": "tide.tsv", "jsonl": "tide.jsonl", "parquet": "tide.parquet",
               "metadata_json_and_csv": "conversations.csv"}
MAPPINGS = ("mapping", "wrapped_mapping")


def dataset(personas=2, per_persona=2, seed=0):
    people = generate_personas(personas, seed)
    # A high self-harm rate so that `risk` takes both values; factor_spans are lists of objects.
    return people, {p["persona_id"]: generate_conversations(p, per_persona, seed, 0.5) for p in people}


def test_every_shape_reads_back_to_the_same_records_and_fingerprint(tmp_path):
    people, conversations = dataset(personas=4, per_persona=5)
    results = {shape: read_tide(write_shape(tmp_path / shape, shape, people, conversations)) for shape in SHAPES}
    expected = [content_of(r) for r in results["nested"].records]
    assert len(expected) == 20 and {r["persona_id"] for r in expected} == {"1", "2", "3", "4"}
    assert {json.loads(r["extra"])["risk"] for r in expected} == {None, "self_harm"}
    for shape, result in results.items():
        assert [content_of(r) for r in result.records] == expected, shape
        assert fingerprint(result.records) == fingerprint(results["nested"].records), shape
        assert result.issues == [] and (result.report["seen"], result.report["skipped"]) == (20, 0), shape
    # Each shape really is another shape: the reader says what it found.
    shapes = {shape: {f["shape"].split(",")[0] for f in r.report["files"] if f["kind"] != "metadata"}
              for shape, r in results.items()}
    assert shapes["wrapped_mapping"] == {"'conversations' mapping (wrapper fields: persona_id)"}
    assert shapes["speaker_turns"] == {"'dialogues' list"} and shapes["parquet"] == {"Parquet table"}
    turns = {shape: set(r.report["conversation_shape"]) for shape, r in results.items()}
    assert turns["chat_messages"] == {"messages list (role/content)"}
    assert turns["speaker_turns"] == {"turns list (speaker/text)"} and turns["nested_keys"] == {"dialogue object"}
    assert results["chat_messages"].report["client_key"] == {"user": 20}


def conversation_file(shape: str) -> str:
    return TABLE_FILES.get(shape) or ("2_conversations.json" if shape in ("nested", "flat") else
                                      "2_P2_conversations.json")


def second_dialogue_of_persona_2(shape: str, key: str | None) -> str:
    """Where the reader says persona 2's second dialogue (or its `key`) is, in each shape."""
    if shape in TABLE_FILES:
        row = {"jsonl": "line 4", "parquet": "row 4"}.get(shape, "row 5")  # CSV/TSV: the header is row 1
        return f"{row}, column '{key}'" if key else row
    base = {"mapping": "2", "wrapped_mapping": "conversations.2", "wrapped_list": "data[1]",
            "speaker_turns": "dialogues[1]"}.get(shape, "conversations[1]")
    if key == "chatbot":
        key = {"chat_messages": "messages[1].content", "speaker_turns": "turns[1].text",
               "nested_keys": "dialogue.chatbot"}.get(shape, key)
    if key == "conversation_id" and shape == "speaker_turns":
        key = "id"
    return f"{base}.{key}" if key else base


def _empty_text(people, conversations, shape):
    conversations[2][1]["chatbot"] = "  "
    return conversation_file(shape), second_dialogue_of_persona_2(shape, "chatbot"), "empty reply text"


def _wrong_type(people, conversations, shape):
    if shape == "parquet":  # a Parquet column has one type: the whole column is text
        for person in people:
            person["age"] = str(person["age"])
        return "tide.parquet", "row 1, column 'age'", "expected a number, got str '"
    people[1]["age"] = "forty"
    if shape in TABLE_SHAPES:
        return conversation_file(shape), f"{'line 3' if shape == 'jsonl' else 'row 4'}, column 'age'", \
            "expected a number, got str 'forty'"
    return "2_metadata.json", "age", "expected a number, got str 'forty'"


def _duplicate_id(people, conversations, shape):
    conversations[2][1]["conversation_id"] = 1
    return conversation_file(shape), second_dialogue_of_persona_2(shape, "conversation_id"), \
        "duplicate conversation id '1'"


def _missing_reply(people, conversations, shape):
    for person in conversations.values():
        for conversation in person:
            conversation["answer"] = conversation.pop("chatbot")
    if shape in ("csv", "tsv", "parquet", "metadata_json_and_csv"):
        return conversation_file(shape), "column 'chatbot'", "missing reply column (looked for chatbot, assistant"
    first = "line 1" if shape == "jsonl" else {"mapping": "1", "wrapped_mapping": "conversations.1",
                                                 "wrapped_list": "data[0]"}.get(shape, "conversations[0]")
    return conversation_file(shape).replace("2_", "1_"), first, "missing reply turn"


def _empty_container(people, conversations, shape):
    if shape == "metadata_json_and_csv":
        conversations[2].clear()
        return "2_metadata.json", "conversations", "persona '2' has metadata but no dialogues"
    if shape in TABLE_SHAPES:
        return conversation_file(shape), "<rows>", "no dialogues (no rows below the header)"  # cut below
    conversations[2].clear()
    return conversation_file(shape), "<root>", "no conversations (empty "


DEFECTS = {"empty_text": _empty_text, "wrong_type": _wrong_type, "duplicate_id": _duplicate_id,
           "missing_reply": _missing_reply, "empty_container": _empty_container, "truncated": None}
NOT_APPLICABLE = {("duplicate_id", shape) for shape in MAPPINGS}  # a mapping's keys: test_reader's duplicate keys
NOT_APPLICABLE |= {("missing_reply", s) for s in ("chat_messages", "speaker_turns", "nested_keys")}  # test_containers
CASES = [(defect, shape) for defect in DEFECTS for shape in SHAPES if (defect, shape) not in NOT_APPLICABLE]


def _cut(path, defect: str) -> None:
    """Files the writer cannot produce: a table with its header only, any file cut in the middle."""
    data = path.read_bytes()
    if defect == "empty_container" and path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(path).slice(0, 0), path)
    elif defect == "empty_container":
        path.write_bytes(data.splitlines(keepends=True)[0] if path.suffix != ".jsonl" else b"")
    else:
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("defect,shape", CASES)
def test_a_broken_file_is_named_with_its_field_or_row_and_column(tmp_path, defect, shape):
    people, conversations = dataset()
    if defect == "truncated":
        name = conversation_file(shape)
        field, problem = {".json": ("<json>", "malformed JSON at line"), ".parquet": ("<parquet>", "not a readable"),
                          ".jsonl": (r"line \d+", "malformed JSON at column"),
                          # cut inside a quoted cell, or between cells of the last row
                          ".csv": (r"row \d+", "malformed CSV|fields but the header has"),
                          ".tsv": (r"row \d+", "malformed TSV|fields but the header has")}[name[name.rindex("."):]]
    else:
        name, field, problem = DEFECTS[defect](people, conversations, shape)
        field, problem = re.escape(field), re.escape(problem)
    root = write_shape(tmp_path / "tide", shape, people, conversations)
    if defect == "truncated" or (defect == "empty_container" and shape in TABLE_SHAPES):
        _cut(next(root.rglob(name)), defect)
    with pytest.raises(TideFormatError) as error:
        read_tide(root)
    message = str(error.value)
    assert re.search(rf"/{re.escape(name)}: {field}: .*({problem})", message), message
    assert "\n" not in message

    lenient = read_tide(root, lenient=True)  # the same problem, counted; every dialogue seen is accounted for
    assert any(re.search(problem, issue.problem) for issue in lenient.issues)
    report = lenient.report
    assert report["seen"] == report["kept"] + report["skipped"] and report["kept"] == len(lenient.records) < 4
