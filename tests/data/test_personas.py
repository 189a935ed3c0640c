"""Persona ids from file names and files, and persona metadata merged from several sources."""

from pathlib import Path

import pytest

from tide.data.personas import (PersonaIdConflict, file_key, leading_number, merge_metadata, metadata_problem,
                                natural_key, resolve_persona_id)


@pytest.mark.parametrize("name,suffix,key", [
    ("1_P5_conversations.json", "_conversations", "1"), ("1_P5_metadata.json", "_metadata", "1"),
    ("01_metadata.json", "_metadata", "1"), ("P7_metadata.json", "_metadata", "P7"), ("12.json", "", "12"),
])
def test_the_leading_number_of_a_file_name_pairs_files(name, suffix, key):
    assert file_key(Path("x") / name, suffix) == key


def test_an_id_inside_the_files_wins_and_must_agree():
    assert resolve_persona_id("1", "1_metadata.json", []) == "1"
    assert resolve_persona_id("1", "1_metadata.json", [("1_metadata.json", 1), ("1_P5_conversations.json", "1")]) == "1"
    assert resolve_persona_id("P7", "P7_metadata.json", [("P7_metadata.json", 12)]) == "12"  # no number in the name
    assert resolve_persona_id("3", "3_metadata.json", [("3_metadata.json", "P3")]) == "P3"  # no number in the id
    assert resolve_persona_id("3", "3_metadata.json", [("3_metadata.json", 3.0)]) == "3"
    with pytest.raises(PersonaIdConflict, match="persona id '4' in 3_metadata.json disagrees with the file name "
                                                r"3_metadata.json \(persona 3\)"):
        resolve_persona_id("3", "3_metadata.json", [("3_metadata.json", 4)])
    with pytest.raises(PersonaIdConflict, match="persona id '3' in a.json but '4' in b.json"):
        resolve_persona_id("3", "a.json", [("a.json", 3), ("b.json", 4)])


def test_metadata_types_and_merging():
    assert metadata_problem({"age": 30, "gender": "f", "trauma_behaviors": []}) is None
    assert metadata_problem({"age": True}) == ("age", "expected a number, got bool True")
    merged, sources = {}, {}
    assert merge_metadata(merged, sources, {"persona_id": "2", "age": 30}, "meta.json") is None
    assert merge_metadata(merged, sources, {"persona_id": 2, "age": 30.0, "city": "Oslo"}, "t.csv row 2") is None
    assert merged == {"persona_id": "2", "age": 30, "city": "Oslo"} and sources["city"] == "t.csv row 2"
    assert merge_metadata(merged, sources, {"age": 31}, "t.csv row 3") == ("age", "31 here but 30 in meta.json")


def test_natural_order_and_leading_numbers():
    assert sorted(["10", "2", "P1", "1"], key=natural_key) == ["1", "2", "10", "P1"]
    assert (leading_number("007_x"), leading_number("x7")) == ("7", None)
