"""Reading responses: long files joined to the key, wide exports (between-subjects and one column per
question), one rater per file; every problem reported at once, one line each naming file, row and column."""

import pandas as pd
import pytest
import yaml

from tide.study.responses import StudyFormatError, read_responses
from tide.study.spec import load_spec, spec_from_mapping

KEY = pd.DataFrame({"item_id": ["i1", "i2", "i3", "att"], "kind": ["rating", "rating", "rating", "attention"],
                    "system": ["a/zero_shot", "a/finetuned", "reference", ""],
                    "model": ["a", "a", "reference", ""], "condition": ["zero_shot", "finetuned", "reference", ""],
                    "scenario": ["grief", "grief", "grief", ""], "dialogue_id": ["d1", "d1", "d1", ""],
                    "expected": ["", "", "", "*=2"]})
LONG_SPEC = {"format": "long", "participant": "participant_id", "item": "item_id",
             "outcomes": {"empathy": {"column": "empathy", "min": 1, "max": 5, "integer": True},
                          "warmth": {"column": "warmth", "min": 1, "max": 5}},
             "demographics": {"age": {"column": "age", "type": "numeric", "groups": [40, 60]},
                              "gender": {"column": "gender", "type": "categorical",
                                         "recode": {"m": "man", "male": "man", "female": "woman"}, "other": "other"}},
             "duration": "duration_seconds", "key": "key.csv"}


def long_rows():
    return pd.DataFrame({"participant_id": ["P1"] * 4 + ["P2"] * 4, "item_id": ["i1", "i2", "i3", "att"] * 2,
                         "empathy": [3, 4, 2, 2, 5, 5, 4, 2], "warmth": [3.5, 4, 2, 2, 5, 4, 4, 2],
                         "age": [67] * 4 + [24] * 4, "gender": ["Male"] * 4 + [" female "] * 4,
                         "duration_seconds": [20] * 8})


def study(tmp_path, rows: pd.DataFrame, spec=LONG_SPEC, key=KEY, name="answers.csv"):
    key.to_csv(tmp_path / "key.csv", index=False)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    rows.to_csv(tmp_path / name, index=False)
    return load_spec(tmp_path / "spec.yaml"), tmp_path / name


def test_a_long_file_joins_the_key_and_types_every_column(tmp_path):
    spec, path = study(tmp_path, long_rows())
    table = read_responses([path], spec).table
    assert len(table) == 8 and list(table["kind"][:4]) == ["rating", "rating", "rating", "attention"]
    first = table.iloc[1]
    assert (first["system"], first["condition"], first["scenario"], first["dialogue_id"]) == \
        ("a/finetuned", "finetuned", "grief", "d1")
    assert first["empathy"] == 4.0 and table["warmth"].dtype == float and first["source_row"] == 3
    assert list(table.drop_duplicates("participant")["age"]) == ["60+", "<40"]
    assert list(table.drop_duplicates("participant")["gender"]) == ["man", "woman"]
    assert table.loc[table["item"] == "att", "expected"].tolist() == ["*=2", "*=2"]


def test_every_problem_is_one_line_naming_file_row_and_column(tmp_path):
    rows = long_rows().astype(object)
    rows.loc[0, "empathy"] = 7          # outside the scale
    rows.loc[1, "warmth"] = "high"      # not a number
    rows.loc[2, "empathy"] = 2.5        # not a whole number
    rows.loc[3, "participant_id"] = ""  # empty
    rows.loc[5, "item_id"] = "i9"       # not in the key
    rows.loc[6, "age"] = 25             # P2 changes age
    rows.loc[7, "duration_seconds"] = -3
    rows = pd.concat([rows, rows.iloc[[4]]])  # P2 rates i1 twice
    spec, path = study(tmp_path, rows)
    with pytest.raises(StudyFormatError) as error:
        read_responses([path], spec)
    found = error.value.problems
    expected = [f"{path}: row 2, column 'empathy': '7' is outside the scale 1..5",
                f"{path}: row 3, column 'warmth': 'high' is not a number",
                f"{path}: row 4, column 'empathy': '2.5' is not a whole number on the scale 1..5",
                f"{path}: row 5, column 'participant_id': empty",
                f"{path}: row 7, column 'item_id': 'i9' is not in the key (key.csv)",
                f"{path}: row 8, column 'age': participant 'P2' answers '25' here but '24' on {path} row 6",
                f"{path}: row 9, column 'duration_seconds': '-3' is outside the scale 0..inf",
                f"{path}: row 10, column 'item_id': participant 'P2' answers item 'i1' twice (first: {path} row 6)"]
    assert sorted(found) == sorted(expected), found
    assert all("\n" not in problem for problem in found)
    assert str(error.value).startswith(f"{len(expected)} problem(s):\n  ")


def test_missing_columns_and_a_bad_key_are_reported_with_the_rest(tmp_path):
    key = KEY.copy()
    key.loc[1, "kind"] = "practice"
    key.loc[3, "expected"] = "empathy==2"
    key = pd.concat([key, key.iloc[[0]]])
    spec, path = study(tmp_path, long_rows().drop(columns=["warmth", "age"]), key=key)
    with pytest.raises(StudyFormatError) as error:
        read_responses([path, tmp_path / "absent.csv"], spec)
    text = str(error.value)
    assert "key.csv: row 3, column 'kind': 'practice' is not one of rating, attention, gold" in text
    assert "key.csv: row 5, column 'expected': 'empathy==2' is not OUTCOME=VALUE" in text
    assert "key.csv: row 6, column 'item_id': 'i1' appears twice in the key" in text
    assert f"{path}: row 1, column 'warmth': missing from the header (participant_id, item_id" in text
    assert f"{path}: row 1, column 'age': missing from the header" in text
    assert f"{tmp_path / 'absent.csv'}: file not found" in text


def test_a_wide_between_subjects_export_with_factor_levels_checked(tmp_path):
    spec = spec_from_mapping({"format": "wide", "participant": "id",
                              "outcomes": {"heard": {"column": "feelheard", "min": 1, "max": 7}},
                              "factors": {"source": {"column": "responseR", "levels": ["ai", "human"]}}})
    rows = pd.DataFrame({"id": ["a", "b", "c", "a"], "responseR": ["ai", "human", "robot", "ai"],
                         "feelheard": [3.5, 7, 1, 2]})
    path = tmp_path / "wide.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(StudyFormatError) as error:
        read_responses([path], spec)
    assert sorted(error.value.problems) == sorted([
        f"{path}: row 4, column 'responseR': 'robot' is not one of ai, human",
        f"{path}: row 5, column 'id': participant 'a' answers twice (first: {path} row 2)"])
    rows.iloc[:3].assign(responseR=["ai", "human", "ai"]).to_csv(path, index=False)
    table = read_responses([path], spec).table
    assert list(table["item"]) == ["a", "b", "c"] and list(table["source"]) == ["ai", "human", "ai"]
    assert list(table["heard"]) == [3.5, 7.0, 1.0] and set(table["kind"]) == {"rating"}


def test_a_wide_export_with_one_column_per_item_and_question(tmp_path):
    spec = LONG_SPEC | {"format": "wide", "item": None, "questions": "Q_{item}_{outcome}", "duration": None}
    rows = pd.DataFrame({"participant_id": ["P1", "P2"], "age": [30, 70], "gender": ["m", "x"],
                         "Q_i1_empathy": [3, 4], "Q_i1_warmth": [3, 4], "Q_i2_empathy": [5, None],
                         "Q_i2_warmth": [4, None], "Q_att_empathy": [2, 2], "Q_att_warmth": [2, 1], "note": ["", ""]})
    spec, path = study(tmp_path, rows, spec=spec)
    table = read_responses([path], spec).table.sort_values(["participant", "item"])
    assert list(zip(table["participant"], table["item"])) == [("P1", "att"), ("P1", "i1"), ("P1", "i2"),
                                                               ("P2", "att"), ("P2", "i1")]  # P2 did not see i2
    assert list(table["empathy"]) == [2, 3, 5, 2, 4] and list(table["gender"]) == ["man"] * 3 + ["other"] * 2
    assert list(table["kind"]) == ["attention", "rating", "rating", "attention", "rating"]
    rows.loc[1, "Q_i1_warmth"] = 9  # a problem names the question's own column
    rows.to_csv(path, index=False)
    with pytest.raises(StudyFormatError, match=r"row 3, column 'Q_i1_warmth': '9' is outside the scale 1..5"):
        read_responses([path], spec)


def test_one_rater_per_file(tmp_path):
    spec = spec_from_mapping({"format": "long", "participant": "@file", "participant_pattern": "(.+)_ratings",
                              "item": "conv_id", "outcomes": {"empathy": {"column": "empathy", "min": 1, "max": 5}}})
    for rater, values in (("expert1", [1, 2]), ("gpt", [2.0, 2.0])):
        pd.DataFrame({"conv_id": ["c1", "c2"], "empathy": values}).to_csv(tmp_path / f"{rater}_ratings.csv")
    table = read_responses(sorted(tmp_path.glob("*.csv")), spec).table
    assert sorted(set(table["participant"])) == ["expert1", "gpt"] and len(table) == 4


def test_an_empty_or_unreadable_file(tmp_path):
    spec = spec_from_mapping(LONG_SPEC | {"key": None, "duration": None, "demographics": {}})
    (tmp_path / "empty.csv").write_text("participant_id,item_id,empathy,warmth\n")
    with pytest.raises(StudyFormatError, match="no responses"):
        read_responses([tmp_path / "empty.csv"], spec)
    (tmp_path / "broken.csv").write_bytes(b"participant_id,item_id\n\xff\xfe,1\n")
    with pytest.raises(StudyFormatError, match="broken.csv: not a readable CSV"):
        read_responses([tmp_path / "broken.csv"], spec)
