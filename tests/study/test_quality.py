"""Exclusions on a synthetic study where four participants were made to fail one rule each."""

import dataclasses

import pandas as pd
import pytest

from tests.study.synthetic_study import write_study
from tide.study.quality import apply_quality, participant_seconds, speeders, straightliners
from tide.study.responses import read_responses
from tide.study.spec import CheckRule, SpeederRule, StraightlineRule, load_spec


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    paths = write_study(tmp_path_factory.mktemp("quality"), n_raters=8, items_per_rater=4)
    spec = load_spec(paths["spec"])
    return read_responses([paths["responses"]], spec), paths["planted"]


def reasons(found: list[dict]) -> dict:
    return {entry["participant"]: entry["reasons"] for entry in found}


def test_default_rules_exclude_check_failures_and_flag_speeders_and_straightliners(planted):
    responses, who = planted
    report = apply_quality(responses.table, responses.spec.quality, responses.spec.outcomes)
    assert reasons(report.excluded) == {who["fail_attention"]: ["failed 1 of 1 attention check(s) (att1)"],
                                        who["fail_gold"]: ["failed 1 of 1 gold check(s) (gold1)"]}
    flagged = reasons(report.flagged)
    assert flagged.keys() == {who["speeder"], who["straightliner"]}
    assert flagged[who["speeder"]] == ["took 2 s, under 10 s (min_seconds 10)"]
    assert flagged[who["straightliner"]][0].startswith("gave all 12 rating answers the same value (3)")
    assert set(report.table["participant"]) == set(responses.table["participant"]) - {who["fail_attention"],
                                                                                      who["fail_gold"]}
    assert report.participants == 8 and report.describe() == "8 participants, 2 excluded, 2 flagged, 6 analysed"


def test_actions_and_thresholds_are_the_spec_s(planted):
    responses, who = planted
    quality = dataclasses.replace(responses.spec.quality, attention=CheckRule(action="exclude", max_failures=1),
                                  gold=CheckRule(action="flag"), speeders=SpeederRule(action="exclude", min_seconds=10),
                                  straightliners=StraightlineRule(action="ignore"))
    report = apply_quality(responses.table, quality, responses.spec.outcomes)
    assert reasons(report.excluded).keys() == {who["speeder"]}
    assert reasons(report.flagged).keys() == {who["fail_gold"]}


def test_speeders_against_the_median_and_time_as_a_sum_of_items():
    table = pd.DataFrame({"participant": ["a", "a", "b", "b", "c", "c", "d"],
                          "duration": [100, 100, 60, 50, 10, 15, None]})
    seconds = participant_seconds(table)
    assert seconds.drop("d").to_dict() == pytest.approx({"a": 100.0, "b": 110.0, "c": 25.0}) and pd.isna(seconds["d"])
    assert speeders(table, None, 0.3) == {"c": "took 25 s, under 30 s (0.3 x the median 100 s)"}
    assert speeders(table, 20, 0.3) == {"c": "took 25 s, under 30 s (0.3 x the median 100 s)"}
    assert speeders(table, 26, None) == {"c": "took 25 s, under 26 s (min_seconds 26)"}
    assert speeders(table.drop(columns="duration"), 26, None) == {}


def test_straightliners_count_the_extra_answers_of_a_wide_export():
    table = pd.DataFrame({"participant": ["a", "b"], "kind": "rating", "heard": [4.0, 4.0],
                          "answer:understood": [4, 4], "answer:seen": [4, 5]})
    assert straightliners(table, ["heard"], 3) == {"a": "gave all 3 rating answers the same value (4)"}
    assert straightliners(table, ["heard"], 4) == {}
