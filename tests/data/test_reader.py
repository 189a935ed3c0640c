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


# ---------------------------------------------------------------------------------------------------------
# Files written by hand the way the dataset card and a public third-party loader describe TIDE
# ---------------------------------------------------------------------------------------------------------

CARD_METADATA = """{{
  "persona_id": {pid},
  "age": 41,
  "gender": "male",
  "education": "high school",
  "ethnicity": "White",
  "trauma_type": "combat",
  "trauma_behaviors": ["hypervigilance", "nightmares"]
}}
"""


def _loader_shape(pid: int, n: int, wrapped: bool = True) -> str:
    """`{"persona_id": 1, "conversations": {"conversation_1": {"person": ..., "chatbot": ...}}}`, as text."""
    pairs = ",\n".join(f'    "conversation_{i}": {{"person": "Persona {pid} asks {i}: the fireworks set me off.", '
                       f'"chatbot": "That sounds frightening, {i}."}}' for i in range(1, n + 1))
    return f'{{\n  "persona_id": {pid},\n  "conversations": {{\n{pairs}\n  }}\n}}\n' if wrapped else \
        f'{{\n{pairs}\n}}\n'


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_the_third_party_loader_shape_with_sister_dataset_names(tmp_path):
    for pid in (1, 2, 3):
        _write(tmp_path / "metadata" / f"{pid}_metadata.json", CARD_METADATA.format(pid=pid))
        _write(tmp_path / "conversations" / f"{pid}_P{pid}_conversations.json", _loader_shape(pid, 20, pid != 3))
    result = read_tide(tmp_path)
    assert len(result.records) == 60 and result.issues == []
    first = result.records[0]
    assert (first["dialogue_id"], first["client"], first["reference"]) == (
        "1-conversation_1", "Persona 1 asks 1: the fireworks set me off.", "That sounds frightening, 1.")
    assert persona_of(first)["trauma_behaviors"] == ["hypervigilance", "nightmares"]
    assert {r["persona_id"] for r in result.records} == {"1", "2", "3"}
    shapes = {f["file"]: f["shape"] for f in result.report["files"]}
    assert shapes["conversations/1_P1_conversations.json"] == "'conversations' mapping (wrapper fields: persona_id)"
    assert shapes["conversations/3_P3_conversations.json"] == "mapping"  # the same pairs at the root
    assert result.report["dialogues_per_persona"] == {"majority": 20, "personas_at_majority": 3, "differing": {}}


def test_an_empty_conversation_file_is_an_error_and_counted_when_lenient(tmp_path):
    for pid in (1, 2, 3):
        _write(tmp_path / "metadata" / f"{pid}_metadata.json", CARD_METADATA.format(pid=pid))
        _write(tmp_path / "conversations" / f"{pid}_conversations.json",
               "[]\n" if pid == 2 else json.dumps(conversations(20)))
    with pytest.raises(TideFormatError, match=r"conversations/2_conversations\.json: <root>: no conversations "
                                              r"\(empty list\)"):
        read_tide(tmp_path)
    result = read_tide(tmp_path, lenient=True)
    assert len(result.records) == 40
    assert result.issues_report()["by_kind"] == {"empty_container": 1}
    assert result.report["dialogues_per_persona"] == {"majority": 20, "personas_at_majority": 2,
                                                      "differing": {"2": 0}}


def test_a_persona_count_off_the_majority_is_reported(tmp_path, write_persona):
    for pid, n in ((1, 20), (2, 19), (3, 20), (4, 21)):
        write_persona(tmp_path, str(pid), meta(pid), conversations(n))
    counts = read_tide(tmp_path).report["dialogues_per_persona"]
    assert counts == {"majority": 20, "personas_at_majority": 2, "differing": {"2": 19, "4": 21}}


def test_an_id_inside_a_file_wins_and_a_disagreement_names_both(tmp_path):
    _write(tmp_path / "metadata" / "7_metadata.json", CARD_METADATA.format(pid='"7"'))
    _write(tmp_path / "conversations" / "7_P2_conversations.json", _loader_shape(7, 2))
    assert {r["persona_id"] for r in read_tide(tmp_path).records} == {"7"}

    _write(tmp_path / "metadata" / "7_metadata.json", CARD_METADATA.format(pid=8))
    with pytest.raises(TideFormatError, match=r"7_P2_conversations\.json: persona_id: persona id '8' in "
                                              r"7_metadata\.json but '7' in 7_P2_conversations\.json"):
        read_tide(tmp_path)
    _write(tmp_path / "conversations" / "7_P2_conversations.json", _loader_shape(8, 2))
    with pytest.raises(TideFormatError, match=r"persona id '8' in 7_metadata\.json disagrees with the file name "
                                              r"7_metadata\.json \(persona 7\)"):
        read_tide(tmp_path)


def test_a_duplicate_key_in_a_mapping_is_not_dropped_silently(tmp_path):
    _write(tmp_path / "1_metadata.json", CARD_METADATA.format(pid=1))
    text = _loader_shape(1, 2).replace('"conversation_2"', '"conversation_1"')
    _write(tmp_path / "1_conversations.json", text)
    with pytest.raises(TideFormatError, match=r"1_conversations\.json: <json>: duplicate key 'conversation_1'"):
        read_tide(tmp_path)


def test_reads_a_pandas_exported_csv(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({
        "persona_id": [1, 1, 2],
        "conversation_id": [1, 2, 1],
        "Scenario": ["trouble sleeping", "crowded places", None],
        "Person": ["I wake at 3 am.", "The mall was too much.", "My hands shake, \"always\"."],
        "Chatbot": ["Nights like that are draining.", "Crowds can feel unsafe.", "That sounds scary."],
        "age": [34, 34, None],  # a missing age: pandas writes the column as floats (34.0)
        "gender": ["female", "female", "male"],
        "trauma_behaviors": [["nightmares"], ["nightmares"], ["avoidance", "startle"]],
        "risk": [None, "self_harm", None],
    })
    path = tmp_path / "export" / "tide.csv"
    path.parent.mkdir()
    frame.to_csv(path)  # pandas' defaults: the row index as an unnamed first column, lists as their repr
    assert path.read_text().startswith(",persona_id,") and "['avoidance', 'startle']" in path.read_text()
    result = read_tide(tmp_path)
    assert [(r["dialogue_id"], r["scenario"], r["client"], r["age"]) for r in result.records] == [
        ("1-1", "trouble sleeping", "I wake at 3 am.", 34.0), ("1-2", "crowded places", "The mall was too much.", 34.0),
        ("2-1", None, 'My hands shake, "always".', None)]
    assert persona_of(result.records[2]) == {"persona_id": 2, "gender": "male", "trauma_behaviors": ["avoidance",
                                                                                                   "startle"]}
    assert extra_of(result.records[1]) == {"risk": "self_harm"} and extra_of(result.records[0]) == {"risk": None}
    (table,) = result.report["files"]
    assert table["shape"].startswith("CSV table, 3 row(s); persona columns ['persona_id', 'age', 'gender', "
                                     "'trauma_behaviors']; dialogue columns ['conversation_id', 'Scenario', 'Person', "
                                     "'Chatbot', 'risk']; dropped column 1")
    assert result.report["layout"] == "table" and result.report["client_key"] == {"Person": 3}


def test_tables_beside_json_and_rows_that_disagree_about_a_persona(tmp_path, write_persona):
    write_persona(tmp_path, "1", META, conversations(2))
    _write(tmp_path / "more" / "extra.tsv", "persona_id\tage\tperson\tchatbot\n"
                                            "2\t30\tI froze.\tFreezing is common.\n"
                                            "2\t30\tI hid.\tHiding kept you safe.\n")
    (tmp_path / "dataset_info.json").write_text("{}")
    result = read_tide(tmp_path)
    assert [r["dialogue_id"] for r in result.records] == ["1-1", "1-2", "2-1", "2-2"]
    assert result.report["layout"] == "nested + tables" and result.report["ignored"] == ["dataset_info.json"]

    _write(tmp_path / "more" / "extra.tsv", "persona_id\tage\tperson\tchatbot\n2\t30\tI froze.\tOk.\n"
                                            "2\t31\tI hid.\tOk.\n")
    with pytest.raises(TideFormatError, match=r"extra\.tsv: row 3, column 'age': persona '2': 31 here but 30 in "
                                              r"more/extra\.tsv row 2"):
        read_tide(tmp_path)
    _write(tmp_path / "more" / "extra.tsv", "persona_id\tage\tperson\tchatbot\n1\t35\tI froze.\tOk.\n")
    with pytest.raises(TideFormatError, match=r"row 2, column 'age': persona '1': 35 here but 34 in "
                                              r"metadata/1_metadata\.json"):
        read_tide(tmp_path)


def test_wrapper_fields_join_the_metadata_and_must_agree_with_it(tmp_path):
    _write(tmp_path / "1_metadata.json", CARD_METADATA.format(pid=1))
    _write(tmp_path / "1_conversations.json", json.dumps({"persona_id": 1, "site": "clinic A",
                                                          "conversations": conversations(2)}))
    assert persona_of(read_tide(tmp_path).records[0])["site"] == "clinic A"
    _write(tmp_path / "1_conversations.json", json.dumps({"persona_id": 1, "age": 40, "conversations": conversations(2)}))
    with pytest.raises(TideFormatError, match=r"1_conversations\.json: age: persona '1': 40 here but 41 in "
                                              r"1_metadata\.json"):
        read_tide(tmp_path)
    result = read_tide(tmp_path, lenient=True)  # one problem, both dialogues counted as skipped
    assert result.records == [] and result.issues_report()["by_kind"] == {"conflicting_metadata": 1}
    assert (result.report["seen"], result.report["skipped"]) == (2, 2)
