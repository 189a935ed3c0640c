"""A synthetic crossed study on disk (key.csv, spec.yaml, one long responses CSV) with planted effects.

The ratings come from tide.evaluate.ratings.synthetic_ratings: fine-tuned replies +0.5 on every scale,
+0.6 more for raters aged 60+, nothing for gender or education. The reference system is rated like a
zero-shot reply. Planted, on purpose: participants who fail the attention check (`fail_attention`),
fail the gold item (`fail_gold`), rush (`speeder`), or give one answer to everything (`straightliner`).
These tests know what the truth is; they say nothing about real people (tests/study/test_real_data.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tide.evaluate.ratings import AGE_GROUPS, synthetic_items, synthetic_ratings

SCENARIOS = ("grief", "panic", "sleep")
AGES = {"18-39": 30, "40-59": 50, "60+": 68}


def study_items(n_items: int, models=("tiny",)) -> pd.DataFrame:
    """Every model x condition reply per dialogue, plus the reference reply, each with its scenario."""
    items = synthetic_items(n_items, models=models)
    reference = items.drop_duplicates("item_id").assign(model="reference", condition="reference")
    items = pd.concat([items, reference], ignore_index=True)
    number = items["item_id"].str.extract(r"(\d+)$")[0].astype(int)
    quality = np.random.default_rng(7).normal(size=len(items))  # a metric's value; planted only on request
    return items.assign(scenario=[SCENARIOS[i % len(SCENARIOS)] for i in number], quality=quality)


def _key(items: pd.DataFrame) -> pd.DataFrame:
    rows = items.assign(key_id=[f"k{i:04d}" for i in range(len(items))])
    key = pd.DataFrame({"item_id": rows["key_id"], "kind": "rating",
                        "system": np.where(rows["model"] == "reference", "reference",
                                           rows["model"] + "/" + rows["condition"]),
                        "model": rows["model"], "condition": rows["condition"], "scenario": rows["scenario"],
                        "dialogue_id": rows["item_id"], "expected": ""})
    checks = pd.DataFrame({"item_id": ["att1", "gold1"], "kind": ["attention", "gold"], "system": "",
                           "model": "", "condition": "", "scenario": "", "dialogue_id": "",
                           "expected": ["*=2", "empathy<=2"]})
    return pd.concat([key, checks], ignore_index=True)


def write_study(root: Path, n_raters: int = 24, items_per_rater: int = 10, seed: int = 0, effects=None,
                models=("tiny",), planted_problems: bool = True, n_items: int = 24) -> dict:
    """Write the study under root; returns its paths and the planted problem participants."""
    root.mkdir(parents=True, exist_ok=True)
    items = study_items(n_items, models)
    ratings = synthetic_ratings(items, n_raters, items_per_rater, seed, effects)
    key = _key(items)
    lookup = key.set_index(["dialogue_id", "model", "condition"])["item_id"]
    long = ratings.assign(item_id=[lookup[(i, m, c)] for i, m, c in
                                   zip(ratings["item_id"], ratings["model"], ratings["condition"])])
    long = long.rename(columns={"rater_id": "participant_id"}).drop(columns=["model", "condition"])
    long["age"] = long["age_group"].map(AGES)
    long["duration_seconds"] = 30.0
    checks = long.drop_duplicates("participant_id").assign(empathy=2, emotion_recognition=2,
                                                           distress_normalization=2, supportive_reflection=2)
    long = pd.concat([long, checks.assign(item_id="att1"), checks.assign(item_id="gold1")], ignore_index=True)
    planted = _plant(long) if planted_problems else {}
    key.to_csv(root / "key.csv", index=False)
    long.drop(columns=["age_group"]).to_csv(root / "responses.csv", index=False)
    (root / "spec.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    return {"spec": root / "spec.yaml", "responses": root / "responses.csv", "key": root / "key.csv",
            "planted": planted, "ratings": ratings, "items": items}


def _plant(long: pd.DataFrame) -> dict:
    """Make four participants fail one rule each; returns rule -> participant."""
    people = sorted(long["participant_id"].unique())
    planted = {"fail_attention": people[0], "fail_gold": people[1], "speeder": people[2], "straightliner": people[3]}
    long.loc[(long["participant_id"] == people[0]) & (long["item_id"] == "att1"), "empathy"] = 4
    long.loc[(long["participant_id"] == people[1]) & (long["item_id"] == "gold1"), "empathy"] = 5
    long.loc[long["participant_id"] == people[2], "duration_seconds"] = 2.0
    rows = (long["participant_id"] == people[3]) & ~long["item_id"].isin(["att1", "gold1"])
    long.loc[rows, ["empathy", "emotion_recognition", "distress_normalization", "supportive_reflection"]] = 3
    return planted


SPEC = {
    "format": "long", "participant": "participant_id", "item": "item_id",
    "outcomes": {"empathy": {"column": "empathy", "min": 1, "max": 5, "integer": True}},
    "demographics": {"age_group": {"column": "age", "type": "numeric", "groups": [40, 60], "min_group": 3},
                     "gender": {"column": "gender", "type": "categorical", "min_group": 3},
                     "education": {"column": "education", "type": "categorical", "min_group": 3}},
    "duration": "duration_seconds", "key": "key.csv",
    "quality": {"speeders": {"action": "flag", "min_seconds": 10}},
    "analysis": {"n_boot": 200, "ordinal": False},
}
assert tuple(AGES) == AGE_GROUPS
