"""The import spec: the shipped specs load, and each kind of mistake stops in one line naming file and option."""

from pathlib import Path

import pytest
import yaml

from tide.study.spec import StudySpecError, load_spec, parse_expected, passes

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"format": "long", "participant": "participant_id", "item": "item_id",
           "outcomes": {"empathy": {"column": "empathy", "min": 1, "max": 5}}}


def write(tmp_path, values, name="spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(values if isinstance(values, str) else yaml.safe_dump(values))
    return path


@pytest.mark.parametrize("path", sorted((ROOT / "conf" / "study" / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shipped_specs_load(path):
    spec = load_spec(path)
    assert spec.outcomes and spec.path == path


def test_defaults_and_the_key_relative_to_the_spec(tmp_path):
    spec = load_spec(write(tmp_path, {**MINIMAL, "key": "key.csv"}))
    assert spec.key_path() == tmp_path / "key.csv"
    assert spec.quality.attention.action == "exclude" and spec.quality.speeders.action == "flag"
    assert spec.quality.speeders.fraction_of_median == 0.3 and spec.analysis.ordinal
    assert spec.outcomes["empathy"].max == 5 and not spec.outcomes["empathy"].integer


@pytest.mark.parametrize("change, message", [
    ({"bogus": 1}, "bogus: unknown option"),
    ({"outcomes": {"empathy": {"column": "empathy", "min": 5, "max": 1}}}, "outcomes.empathy.max: must be > min"),
    ({"outcomes": {"empathy": {"column": "empathy", "min": 1}}}, "outcomes.empathy.max: missing option"),
    ({"outcomes": {}}, "outcomes: name at least one"),
    ({"item": None}, "item: a long file has an item column"),
    ({"format": "wide"}, "item: a wide export has no item column"),
    ({"format": "csv"}, "format: expected one of ['long', 'wide']"),
    ({"format": "wide", "item": None, "questions": "{item}_x"}, "questions: a template with {item} and {outcome}"),
    ({"factors": {"source": {"column": "s"}}, "analysis": {"effects": "source * label"}},
     "analysis.effects: 'label' is not a factor"),
    ({"analysis": {"focal": "condition"}}, "analysis.focal: 'condition' is not a factor"),
    ({"demographics": {"participant": {"column": "p", "type": "numeric"}}}, "demographics.participant: a name is"),
    ({"demographics": {"gender": {"column": "g", "type": "categorical", "groups": [1, 2]}}},
     "demographics.gender.groups: cut points of a numeric demographic"),
    ({"demographics": {"age": {"column": "a", "type": "numeric", "groups": [60, 40]}}}, "strictly increasing"),
    ({"quality": {"speeders": {"action": "drop"}}}, "quality.speeders.action: expected one of"),
    ({"quality": {"speeders": {"fraction_of_median": 2}}}, "quality.speeders.fraction_of_median: must be < 1"),
    ({"analysis": {"human": ["a"], "judges": ["a"]}}, "analysis.judges: 'a' is also a human rater"),
    ({"participant_pattern": "(.+)"}, "participant_pattern: only with participant: @file"),
    ({"factors": {"empathy": {"column": "e"}}}, "empathy: named twice"),
    ({"path": "x"}, "path: unknown option"),
])
def test_a_bad_spec_stops_in_one_line_naming_the_file_and_option(tmp_path, change, message):
    path = write(tmp_path, {**MINIMAL, **change})
    with pytest.raises(StudySpecError) as error:
        load_spec(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


def test_yaml_off_is_read_as_false_so_the_action_is_called_ignore(tmp_path):
    path = write(tmp_path, yaml.safe_dump(MINIMAL) + "quality:\n  speeders: {action: off}\n")
    with pytest.raises(StudySpecError, match="quality.speeders.action: expected str, got False"):
        load_spec(path)
    assert load_spec(write(tmp_path, yaml.safe_dump(MINIMAL) + "quality:\n  speeders: {action: ignore}\n"))


def test_unreadable_files(tmp_path):
    with pytest.raises(StudySpecError, match="spec file not found"):
        load_spec(tmp_path / "none.yaml")
    with pytest.raises(StudySpecError, match=r"bad\.yaml: line 2 not valid YAML"):
        load_spec(write(tmp_path, "format: long\n  participant: [\n", "bad.yaml"))
    with pytest.raises(StudySpecError, match="expected a mapping"):
        load_spec(write(tmp_path, "- a\n- b\n", "list.yaml"))


def test_expected_answers_of_attention_and_gold_items():
    outcomes = ["empathy", "warmth"]
    assert parse_expected("*=2", outcomes) == [("empathy", "=", 2.0), ("warmth", "=", 2.0)]
    checks = parse_expected("empathy<=2; warmth>=4", outcomes)
    assert passes(checks, {"empathy": 2, "warmth": 5}) and passes(checks, {"empathy": 1.0, "warmth": 4})
    assert not passes(checks, {"empathy": 3, "warmth": 5}) and not passes(checks, {"empathy": 2, "warmth": 3})
    assert not passes(checks, {"empathy": 2}) and not passes(checks, {"empathy": 2, "warmth": float("nan")})
    for bad, message in (("empathy==2", "is not OUTCOME=VALUE"), ("kindness=2", "'kindness' is not an outcome"),
                         ("", "empty"), ("empathy=high", "is not OUTCOME=VALUE")):
        with pytest.raises(ValueError, match=message):
            parse_expected(bad, outcomes)
