"""`python -m launch.study build`: balanced drawing and assignment, blinding, the key, attention checks, the
Label Studio project, the import spec, fingerprints and refusals (tide/study/build.py)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pandas as pd
import pytest
import yaml

from launch.study import main
from tests.configs import config_for
from tests.study.evaluated_runs import CONDITIONS, MODELS, SCENARIOS, evaluated_runs
from tide.config import ConfigError, compose_config, with_options
from tide.study.build import StudyBuild
from tide.study.sources import StudyError

SYSTEMS = sorted([f"{m}/{c}" for m in MODELS for c in CONDITIONS] + ["reference"])


def study_config(**options):
    study = config_for().study
    return with_options(study, options, path="study") if options else study


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return evaluated_runs(tmp_path_factory.mktemp("study"), dialogues=12, unblinding=4)


@pytest.fixture(scope="module")
def built(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "study"
    result = StudyBuild(study_config(), tuple(runs), out).run()
    return out, result


def read(out, name) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype=str, keep_default_na=False)


def test_items_are_balanced_across_system_and_scenario_and_the_key_is_complete(built):
    out, result = built
    key = read(out, "key.csv")
    assert list(key.columns) == ["item_id", "kind", "system", "model", "condition", "scenario", "dialogue_id",
                                 "expected"]
    rating = key[key["kind"] == "rating"]
    cells = rating.groupby(["system", "scenario"]).size()
    assert sorted(rating["system"].unique()) == SYSTEMS and sorted(rating["scenario"].unique()) == sorted(SCENARIOS)
    assert set(cells) == {2}  # dialogues_per_scenario: every system x scenario cell the same size
    # every system replies to the same dialogues: compared on the same client turns
    assert rating.groupby("dialogue_id")["system"].nunique().eq(len(SYSTEMS)).all()
    assert set(rating[rating["system"] == "reference"][["model", "condition"]].stack()) == {"reference"}
    assert (rating["system"] == rating["model"] + "/" + rating["condition"]).where(
        rating["system"] != "reference", True).all()
    assert key["item_id"].is_unique and set(key["item_id"]) == set(read(out, "items.csv")["item_id"])
    assert result["counts"]["rating_items"] == len(SYSTEMS) * len(SCENARIOS) * 2


def test_every_item_gets_its_ratings_and_every_participant_a_balanced_randomised_set(built):
    out, _ = built
    study = study_config()
    key = read(out, "key.csv").set_index("item_id")
    assignments = read(out, "assignments.csv")
    assert list(assignments.columns) == ["participant_id", "position", "item_id"]
    assert assignments["participant_id"].nunique() == study.raters
    rating = assignments[assignments["item_id"].map(key["kind"]) == "rating"]
    assert rating.groupby("item_id")["participant_id"].nunique().min() >= study.ratings_per_item
    assert set(rating["item_id"]) == set(key.index[key["kind"] == "rating"])
    assert not assignments.duplicated(["participant_id", "item_id"]).any()
    loads = rating.groupby("participant_id").size()
    assert loads.max() - loads.min() <= 1
    for _, items in rating.groupby("participant_id"):
        for column in ("system", "scenario"):
            counts = Counter(items["item_id"].map(key[column]))
            spread = [counts.get(level, 0) for level in key.loc[key["kind"] == "rating", column].unique()]
            assert max(spread) - min(spread) <= 1, (column, counts)
    orders = [tuple(group.sort_values("position", key=lambda p: p.astype(int))["item_id"].map(key["system"]))
              for _, group in rating.groupby("participant_id")]
    assert len(set(orders)) > 1  # shuffled per participant, not one fixed order


def test_attention_and_gold_checks_are_in_every_form_with_their_required_answer(built):
    out, _ = built
    key = read(out, "key.csv")
    attention, gold = key[key["kind"] == "attention"], key[key["kind"] == "gold"]
    assert len(attention) == 1 and len(gold) == 1
    assert attention.iloc[0]["expected"] == ";".join(f"{s.name}=2" for s in study_config().scales)
    assert gold.iloc[0]["expected"] == "perceived_empathy<=2"
    assert (key.loc[key["kind"] == "rating", "expected"] == "").all()
    items = read(out, "items.csv").set_index("item_id")
    assert "select 2 on every scale" in items.loc[attention.iloc[0]["item_id"], "reply"]
    assignments = read(out, "assignments.csv")
    for participant, group in assignments.groupby("participant_id"):
        checks = group[group["item_id"].isin(set(attention["item_id"]) | set(gold["item_id"]))]
        assert len(checks) == 2 and "1" not in set(checks["position"]), participant  # never the first item


def rater_facing(out) -> dict[str, str]:
    files = {"items.csv": (out / "items.csv").read_text(), "config.xml": (out / "labelstudio/config.xml").read_text(),
             "tasks.json": (out / "labelstudio/tasks.json").read_text()}
    files.update({path.name: path.read_text() for path in sorted((out / "forms").glob("*.html"))})
    return files


def test_nothing_a_rater_sees_names_a_model_a_condition_or_a_system(built):
    out, result = built
    files = rater_facing(out)
    assert len([name for name in files if name.endswith(".html")]) == study_config().raters
    names = set(MODELS) | set(CONDITIONS) | set(SYSTEMS) | {"zero shot", "zero-shot"}
    for name, text in files.items():
        for term in names:
            assert term.lower() not in text.lower(), (name, term)
    assert result["counts"]["left_out_naming_a_system"] == 4  # "As alpha-lm, I understand." x 2 conditions x 2 models
    for html in (text for name, text in files.items() if name.endswith(".html")):
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html) and "http://" not in html  # offline


def test_label_studio_project_has_a_choice_group_per_scale_and_a_task_per_item(built):
    out, _ = built
    view = ET.parse(out / "labelstudio/config.xml").getroot()
    assert view.tag == "View"
    texts = {node.get("name"): node.get("value") for node in view.iter("Text")}
    assert texts == {"client_turn": "$client_turn", "reply": "$reply"}
    groups = {node.get("name"): node for node in view.iter("Choices")}
    assert list(groups) == [s.name for s in study_config().scales]
    for group in groups.values():
        assert group.get("toName") == "reply" and group.get("choice") == "single-radio"
        assert [c.get("value") for c in group.iter("Choice")] == ["1", "2", "3", "4", "5"]
    tasks = json.loads((out / "labelstudio/tasks.json").read_text())
    assert sorted(task["data"]["item_id"] for task in tasks) == sorted(read(out, "key.csv")["item_id"])
    assert all(set(task["data"]) == {"item_id", "client_turn", "reply"} for task in tasks)


def test_the_import_spec_names_the_forms_columns_and_the_key(built):
    out, _ = built
    spec = yaml.safe_load((out / "spec.yaml").read_text())
    study = study_config()
    assert spec["format"] == "long" and spec["participant"] == "participant_id" and spec["item"] == "item_id"
    assert spec["outcomes"] == {s.name: {"column": s.name, "min": 1, "max": 5, "integer": True} for s in study.scales}
    assert spec["demographics"] == {"age": {"column": "age", "type": "numeric"},
                                    "gender": {"column": "gender", "type": "categorical"},
                                    "education": {"column": "education", "type": "categorical"}}
    assert spec["duration"] == "duration_seconds" and spec["key"] == "key.csv"
    from tide.study.spec import load_spec

    assert load_spec(out / "spec.yaml").key_path() == out / "key.csv"  # the importer reads it as written


def test_same_settings_reuse_the_study_and_other_settings_are_refused_unless_forced(runs, tmp_path):
    out = tmp_path / "study"
    first = StudyBuild(study_config(), tuple(runs), out).run()
    again = StudyBuild(study_config(), tuple(runs), out).run()
    assert again["reused"] and again["fingerprint"] == first["fingerprint"]
    with pytest.raises(StudyError, match=r"other settings \(changed: study.raters\).*--force"):
        StudyBuild(study_config(raters=10), tuple(runs), out).run()
    assert json.loads((out / "study.json").read_text())["fingerprint"] == first["fingerprint"]  # untouched
    forced = StudyBuild(study_config(raters=10), tuple(runs), out, force=True).run()
    assert not forced["reused"] and forced["fingerprint"] != first["fingerprint"]
    assert read(out, "assignments.csv")["participant_id"].nunique() == 10
    (out / "forms" / "P03.html").unlink()  # an incomplete study is neither reused nor silently rebuilt
    with pytest.raises(StudyError, match=r"lacks forms/P03.html; --force rebuilds it"):
        StudyBuild(study_config(raters=10), tuple(runs), out).run()
    StudyBuild(study_config(raters=10), tuple(runs), out, force=True).run()
    assert (out / "forms" / "P03.html").exists()
    # a re-evaluated run (another evaluate fingerprint) is another study, too
    record = runs[0] / "stages" / "evaluate.json"
    saved = record.read_text()
    record.write_text(saved.replace('"hand-made"', '"re-evaluated"'))
    try:
        with pytest.raises(StudyError, match=r"changed: runs\)"):
            StudyBuild(study_config(raters=10), tuple(runs), out).run()
    finally:
        record.write_text(saved)


def test_a_seed_gives_the_same_study_and_another_seed_another(runs, tmp_path):
    one = StudyBuild(study_config(), tuple(runs), tmp_path / "a").run()
    two = StudyBuild(study_config(), tuple(runs), tmp_path / "b").run()
    three = StudyBuild(study_config(seed=7), tuple(runs), tmp_path / "c").run()
    assert one["fingerprint"] == two["fingerprint"] != three["fingerprint"]
    assert (tmp_path / "a/key.csv").read_text() == (tmp_path / "b/key.csv").read_text()
    assert (tmp_path / "a/assignments.csv").read_text() != (tmp_path / "c/assignments.csv").read_text()


def test_a_directory_that_is_not_a_study_is_never_replaced(runs, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(StudyError, match="holds no study"):
        StudyBuild(study_config(), tuple(runs), tmp_path / "notes").run()
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("override,message", [
    ("study.raters=0", "study.raters: must be >= 1, got 0"),
    ("study.ratings_per_item=20", "study.ratings_per_item: 20 ratings need as many raters, got raters=12"),
    ("study.attention.gold_scale=vibes", "study.attention.gold_scale: 'vibes' is not a scale (known: "
                                         "['emotion_recognition', 'distress_normalization', 'supportive_reflection', "
                                         "'perceived_empathy'])"),
    ("study.scales.0.max=1", "study.scales[0].max: must be > min (1), got 1"),
    ("study.demographics.0.name=item_id", "study.demographics[0].name: must be an identifier (a CSV column) other "
                                         "than ['participant_id', 'item_id', 'position', 'duration_seconds', "
                                         "'participant', 'item', 'kind', 'expected', 'duration', 'source_file', "
                                         "'source_row'], got 'item_id'"),
    ("+study.colour=blue", "study.colour: unknown option (known: name, seed, raters, ratings_per_item, "
                           "dialogues_per_scenario, scenarios, reference, consent, instructions, scales, "
                           "demographics, attention)"),
])
def test_a_bad_study_option_is_refused_in_one_line_naming_it(override, message):
    with pytest.raises(ConfigError) as refused:
        compose_config([override])
    assert str(refused.value) == message and "\n" not in message


def test_inputs_a_study_cannot_be_drawn_from_are_refused_in_one_line(runs, tmp_path):
    with pytest.raises(StudyError, match=r"study.dialogues_per_scenario=9: scenario 'feeling numb' has 4 dialogue"):
        StudyBuild(study_config(dialogues_per_scenario=9), tuple(runs), tmp_path / "s").run()
    with pytest.raises(StudyError, match=r"study.scenarios: 'grief' is not a scenario"):
        StudyBuild(study_config(scenarios=["grief"]), tuple(runs), tmp_path / "s").run()
    with pytest.raises(StudyError, match="study.consent: names 'finetuned'"):
        StudyBuild(study_config(consent="Some replies were finetuned."), tuple(runs), tmp_path / "s").run()
    with pytest.raises(StudyError, match="no evaluated runs"):
        StudyBuild(study_config(), (tmp_path,), tmp_path / "s").run()


def test_the_command_builds_with_overrides_and_says_what_it_made(runs, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["build", str(runs[0].parent), "study.raters=6", "study.dialogues_per_scenario=1",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "15 rating items (5 systems x 3 scenarios)" in printed and "6 participants" in printed
    assert read(out, "assignments.csv")["participant_id"].nunique() == 6
    assert main(["build", str(runs[0].parent), "study.raters=7", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m launch.study build: ") and error.count("\n") == 1
