import json

import pytest

from tide.data.reader import TideFormatError, read_tide
from tide.data.records import COLUMNS, extra_of, persona_of

META = {"persona_id": 1, "age": 34, "gender": "female", "education": "bachelor", "ethnicity": "Asian",
        "trauma_type": "car accident", "trauma_behaviors": ["nightmares"]}


def meta(persona_id) -> dict:
    """META for another persona: an id inside the file must agree with the file name's number."""
    return {**META, "persona_id": int(persona_id)}


def conversations(n=3, client_key="person", reply_key="chatbot"):
    return [{"conversation_id": i, "scenario": "trouble sleeping", client_key: f"I can't sleep {i}.",
             reply_key: f"It sounds exhausting {i}."} for i in range(1, n + 1)]


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_reads_both_layouts_into_canonical_records(tmp_path, write_persona, layout):
    for key in ("1", "2", "10"):
        write_persona(tmp_path, key, meta(key), conversations(), layout)
    result = read_tide(tmp_path)
    assert [r["dialogue_id"] for r in result.records][:4] == ["1-1", "1-2", "1-3", "2-1"]
    assert len(result.records) == 9 and result.issues == []
    record = result.records[0]
    assert set(record) == set(COLUMNS)
    assert (record["client"], record["reference"], record["scenario"]) == (
        "I can't sleep 1.", "It sounds exhausting 1.", "trouble sleeping")
    assert record["trauma_type"] == "car accident" and record["age"] == 34.0
    assert persona_of(record) == META
    assert result.report["layout"] == layout
    assert result.report["client_key"] == {"person": 9} and result.report["reply_key"] == {"chatbot": 9}


def test_reads_the_synthetic_dataset(synthetic_dir):
    result = read_tide(synthetic_dir)
    assert len(result.records) == 40 * 5 and result.report["personas"] == 40
    assert "factor_spans" in extra_of(result.records[0])


@pytest.mark.parametrize("client_key,reply_key", [("client", "assistant"), ("user", "response"),
                                                  ("user_input", "reference_response"), ("Person", "Chatbot")])
def test_detects_key_names_and_reports_them(tmp_path, write_persona, client_key, reply_key):
    write_persona(tmp_path, "1", META, conversations(2, client_key, reply_key))
    result = read_tide(tmp_path)
    assert len(result.records) == 2
    assert result.report["client_key"] == {client_key: 2} and result.report["reply_key"] == {reply_key: 2}


def test_reads_turn_lists_and_wrapped_containers(tmp_path, write_persona):
    role_turns = {"conversations": [{"id": "a", "turns": [{"role": "person", "content": "I feel numb."},
                                                          {"role": "chatbot", "content": "Numbness is common."}]}]}
    keyed_turns = {"7": {"conversation": [{"user": "Loud noises scare me."}, {"assistant": "That makes sense."}]}}
    write_persona(tmp_path, "1", META, role_turns)
    write_persona(tmp_path, "2", meta(2), keyed_turns)
    records = read_tide(tmp_path).records
    assert [(r["dialogue_id"], r["client"], r["reference"]) for r in records] == [
        ("1-a", "I feel numb.", "Numbness is common."), ("2-7", "Loud noises scare me.", "That makes sense.")]


def test_reads_a_hub_snapshot_layout(tmp_path, write_persona):
    """A snapshot holds README/.gitattributes/.cache beside the data, possibly under data/."""
    (tmp_path / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    (tmp_path / ".cache" / "huggingface").mkdir(parents=True)
    (tmp_path / ".cache" / "huggingface" / "x_metadata.json").write_text("{broken")
    (tmp_path / "dataset_info.json").write_text("{}")
    write_persona(tmp_path / "data", "1_P5", META, conversations(), "nested")
    result = read_tide(tmp_path)
    # The leading number of the name pairs the files; the id inside the metadata (1) names the persona.
    assert {r["persona_id"] for r in result.records} == {"1"} and result.issues == []


BAD_CASES = {
    "malformed_json": (b'[{"person": "hi", ', "conversations.json", "<json>", "malformed JSON at line 1"),
    "bad_encoding": ('[{"person": "caf\xe9", "chatbot": "ok"}]'.encode("latin-1"), "conversations.json",
                     "<encoding>", "not valid UTF-8"),
    "missing_client": ([{"conversation_id": 1, "chatbot": "ok"}], "conversations.json", "conversations[0]",
                       "missing client turn"),
    "missing_reply": ([{"conversation_id": 1, "person": "hi"}], "conversations.json", "conversations[0]",
                      "missing reply turn"),
    "empty_client": ([{"conversation_id": 1, "person": "  ", "chatbot": "ok"}], "conversations.json",
                     "conversations[0].person", "empty client text"),
    "empty_reply": ([{"conversation_id": 1, "person": "hi", "chatbot": ""}], "conversations.json",
                    "conversations[0].chatbot", "empty reply text"),
    "wrong_text_type": ([{"conversation_id": 1, "person": 5, "chatbot": "ok"}], "conversations.json",
                        "conversations[0].person", "expected a string, got int"),
    "wrong_container": ("just text", "conversations.json", "<root>", "expected a list or mapping of conversations"),
    "duplicate_conversation": (conversations(2) + conversations(1), "conversations.json",
                               "conversations[2].conversation_id", "duplicate conversation id '1'"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_rejects_malformed_conversations_naming_file_and_field(tmp_path, write_persona, case):
    payload, file_suffix, field, problem = BAD_CASES[case]
    write_persona(tmp_path, "1", META, payload)
    with pytest.raises(TideFormatError) as error:
        read_tide(tmp_path)
    message = str(error.value)
    assert f"1_{file_suffix}" in message and f": {field}: " in message and problem in message


@pytest.mark.parametrize("metadata,field,problem", [
    ({**meta(3), "age": "forty"}, "age", "expected a number, got str"),
    ({**meta(3), "trauma_behaviors": "nightmares"}, "trauma_behaviors", "expected a list"),
    ({**meta(3), "gender": 1}, "gender", "expected a string"),
    ([meta(3)], "<root>", "expected a JSON object"),
])
def test_rejects_wrong_metadata_types(tmp_path, write_persona, metadata, field, problem):
    write_persona(tmp_path, "3", metadata, conversations())
    with pytest.raises(TideFormatError, match=rf"3_metadata\.json: {field}: {problem}"):
        read_tide(tmp_path)


def test_rejects_orphans_and_duplicate_personas(tmp_path, write_persona):
    meta_path, conv_path = write_persona(tmp_path, "1", META, conversations())
    conv_path.unlink()
    with pytest.raises(TideFormatError, match=r"1_metadata\.json: conversations: persona '1' has metadata but no "
                                              r"dialogues \(no conversation file or table rows\)"):
        read_tide(tmp_path)
    write_persona(tmp_path, "1", META, conversations())
    meta_path.unlink()
    with pytest.raises(TideFormatError, match=r"1_conversations\.json: metadata: persona '1' has conversations"):
        read_tide(tmp_path)
    write_persona(tmp_path, "1", META, conversations())
    write_persona(tmp_path, "1", META, conversations(), layout="flat")  # the same persona twice
    with pytest.raises(TideFormatError, match="duplicate persona '1'"):
        read_tide(tmp_path)


def test_lenient_mode_skips_and_reports_bad_records(tmp_path, write_persona):
    write_persona(tmp_path, "1", META, conversations(3))
    bad = conversations(3)
    bad[1]["chatbot"] = ""
    write_persona(tmp_path, "2", meta(2), bad)
    write_persona(tmp_path, "3", meta(3), b"{not json")
    write_persona(tmp_path, "4", {**meta(4), "age": "old"}, conversations(2))
    result = read_tide(tmp_path, lenient=True)
    assert sorted(r["dialogue_id"] for r in result.records) == ["1-1", "1-2", "1-3", "2-1", "2-3"]
    report = result.issues_report()
    assert report["skipped"] == 3
    assert report["by_kind"] == {"empty_text": 1, "malformed_json": 1, "wrong_type": 1}
    assert {issue["file"].split("/")[-1] for issue in report["issues"]} == {
        "2_conversations.json", "3_conversations.json", "4_metadata.json"}
    # Seen: 3 + 3 + 2 (persona 3's file is unreadable, so none of its dialogues was seen); persona 4's two
    # dialogues are skipped with its metadata.
    assert (result.report["seen"], result.report["kept"], result.report["skipped"]) == (8, 5, 3)
    assert report["dialogues"] == {"seen": 8, "kept": 5, "skipped": 3}
    json.dumps(report)  # the report is written as JSON by the data stage


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="TIDE directory not found"):
        read_tide(tmp_path / "nope")
    with pytest.raises(TideFormatError, match="no \\*_metadata.json, conversation files or tables"):
        read_tide(tmp_path)
