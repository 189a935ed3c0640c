"""Write a made study into a (staging) directory: the tables, the key, the import spec, the forms and the
Label Studio project; then check that no file a rater sees names a system."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from tqdm.auto import tqdm

from tide.config.schema import StudyConfig
from tide.study.blind import blinding_terms, check_blind
from tide.study.form import render_form
from tide.study.labelstudio import labeling_config, tasks
from tide.study.sources import REFERENCE

# The key's columns, the contract with the importer (tide/study/spec.py's KEY_COLUMNS).
KEY_COLUMNS = ("item_id", "kind", "system", "model", "condition", "scenario", "dialogue_id", "expected")
SEEN_COLUMNS = ("item_id", "client_turn", "reply")  # items.csv: all a rater sees of an item
RESPONSE_FILE = "{participant}-responses.csv"        # what each form saves
DURATION_COLUMN = "duration_seconds"


def write_study(root: Path, items: pd.DataFrame, assignments: pd.DataFrame, study: StudyConfig,
                systems: list[str]) -> list[str]:
    """Every file of the study under root; returns their paths relative to it."""
    by_id = items.sort_values("item_id")  # opaque ids in sorted order: the rows say nothing of how they were drawn
    by_id[list(KEY_COLUMNS)].to_csv(root / "key.csv", index=False)
    assignments.to_csv(root / "assignments.csv", index=False)
    rater_files = {"items.csv": by_id[list(SEEN_COLUMNS)].to_csv(index=False, lineterminator="\n")}
    seen = by_id[list(SEEN_COLUMNS)].to_dict("records")
    rater_files["labelstudio/config.xml"] = labeling_config(study.scales, study.instructions)
    rater_files["labelstudio/tasks.json"] = json.dumps(tasks(seen), indent=2, ensure_ascii=False) + "\n"
    lookup = {item["item_id"]: item for item in seen}
    for participant, rows in tqdm(assignments.groupby("participant_id", sort=True), desc="study forms",
                                  unit="form", disable=None):
        ordered = [lookup[item_id] for item_id in rows.sort_values("position")["item_id"]]
        rater_files[f"forms/{participant}.html"] = render_form(participant, ordered, study)
    check_blind(rater_files, blinding_terms(items[items["kind"] == "rating"]))
    for name, text in rater_files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    spec = import_spec(study, systems, sorted(set(items.loc[items["kind"] == "rating", "condition"])))
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return ["assignments.csv", "key.csv", "spec.yaml", *rater_files]


def import_spec(study: StudyConfig, systems: list[str], conditions: list[str]) -> dict:
    """The import spec for the forms' saved CSVs (the schema is tide/study/spec.py's): long format, one
    outcome per scale, the demographics, the duration, the key beside it. Effects are per system (the
    reference replies, when in the study, are the level others are measured against); `condition` is
    there for per-scenario gains (fine-tuned vs zero-shot)."""
    system_reference = REFERENCE if REFERENCE in systems else systems[0]
    condition_reference = "zero_shot" if "zero_shot" in conditions else conditions[0]
    return {"format": "long", "participant": "participant_id", "item": "item_id",
            "outcomes": {s.name: {"column": s.name, "min": s.min, "max": s.max, "integer": True} for s in study.scales},
            "factors": {"system": {"column": "system", "reference": system_reference},
                        "condition": {"column": "condition", "reference": condition_reference}},
            "demographics": {d.name: {"column": d.name, "type": d.type} for d in study.demographics},
            "duration": DURATION_COLUMN, "key": "key.csv", "analysis": {"effects": "system"}}
