"""The shape writers really write each shape (so the reader's round trip proves something)."""

import json

import pytest

from tide.data.shapes import SHAPES, write_shape

PERSONAS = [{"persona_id": 1, "age": 30}, {"persona_id": 2, "age": 40}]
CONVERSATIONS = {pid: [{"conversation_id": i, "scenario": "s", "person": f"hi {i}", "chatbot": f"hello {i}", "risk": None}
                       for i in (1, 2)] for pid in (1, 2)}


def files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("shape", SHAPES)
def test_writes_each_shape(tmp_path, shape):
    root = write_shape(tmp_path / shape, shape, PERSONAS, CONVERSATIONS)
    written = files(root)
    if shape in ("csv", "tsv", "jsonl", "parquet"):
        assert written == [f"tide.{shape}"]
        return
    if shape == "metadata_json_and_csv":
        assert written == ["conversations.csv", "metadata/1_metadata.json", "metadata/2_metadata.json"]
        return
    name = "2_conversations.json" if shape in ("nested", "flat") else "2_P2_conversations.json"
    assert (name if shape == "flat" else f"conversations/{name}") in written
    data = json.loads(next(root.rglob(name)).read_text())
    expected_type = {"mapping": dict, "wrapped_mapping": dict, "wrapped_list": dict, "speaker_turns": dict}
    assert isinstance(data, expected_type.get(shape, list))
    first = data[0] if isinstance(data, list) else data
    text = json.dumps(first)
    markers = {"chat_messages": '"role": "assistant"', "speaker_turns": '"speaker": "chatbot"',
               "nested_keys": '"dialogue": {', "wrapped_mapping": '"conversations": {"1": {',
               "wrapped_list": '"data": [', "mapping": '"1": {"scenario"'}
    assert markers.get(shape, '"person": "hi 1"') in text


def test_unknown_shape():
    with pytest.raises(ValueError, match="shape 'xml': expected one of"):
        write_shape("/nonexistent", "xml", PERSONAS, CONVERSATIONS)
