"""Build a study directory from evaluated runs: the recipe object behind `python -m launch.study build`.

    StudyBuild(config.study, runs, out).run()    # setup (find runs, refuse another study) -> make -> save

The directory (docs/human-study.md):

    assignments.csv    participant_id, position, item_id: what each participant rates, in order
    items.csv          item_id, client_turn, reply: what raters see (sorted by opaque id)
    key.csv            item_id, kind, system, model, condition, scenario, dialogue_id, expected: NEVER to raters
    spec.yaml          the import spec for the forms' saved CSVs (tide/study/spec.py)
    forms/<P>.html     one self-contained offline form per participant
    labelstudio/       config.xml (labeling config) and tasks.json (one task per item)
    study.json         settings, their fingerprint, counts, files

It appears whole or not at all (a staged directory). Its fingerprint hashes the study options and the
evaluate fingerprints of its runs, so a changed setting, or a re-evaluated run, never reuses an old study;
a directory holding a study of other settings is refused, naming what changed, unless forced.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tide.config import to_plain
from tide.config.schema import StudyConfig
from tide.core.files import staged_dir
from tide.study.blind import blinding_terms, check_blind, item_ids, names_a_system, participant_ids, study_texts
from tide.study.design import assign, attention_items, draw, order
from tide.study.sources import StudyError, find_runs, load_replies, run_fingerprints, systems_table
from tide.study.write import KEY_COLUMNS, write_study

STUDY_FILE = "study.json"
DESIGN_VERSION = 1  # bump when drawing or assignment changes: old studies then count as other settings


@dataclass
class StudyTables:
    """A made study, before it is written: everything the files hold."""
    items: pd.DataFrame          # every item with all it is (rating and check items), item_id first
    assignments: pd.DataFrame    # participant_id, position, item_id
    systems: list[str]
    left_out: int                # candidate replies left out because they name a system


@dataclass(frozen=True)
class StudyBuild:
    study: StudyConfig
    runs: tuple[Path, ...]
    out: Path
    force: bool = False

    def settings(self, runs: list[Path]) -> dict:
        return {"design_version": DESIGN_VERSION, "study": to_plain(self.study), "runs": run_fingerprints(runs)}

    def run(self) -> dict:
        """Build the study, or reuse the one already there when it was built with the same settings."""
        runs = find_runs(self.runs)
        settings = self.settings(runs)
        fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        existing = self.existing(settings, fingerprint)
        if existing is not None:
            return {**existing, "reused": True}
        tables = self.make(load_replies(runs))
        return {**self.save(tables, settings, fingerprint), "reused": False}

    def existing(self, settings: dict, fingerprint: str) -> dict | None:
        """The study already at `out` when it has this fingerprint and all its files; None to build anew.
        Raises when `out` holds something else, unless forced."""
        record_path = self.out / STUDY_FILE
        if not self.out.exists() or (not record_path.exists() and not any(self.out.iterdir())):
            return None
        record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else None
        missing = [name for name in (record or {}).get("files", []) if not (self.out / name).exists()]
        if record is not None and record.get("fingerprint") == fingerprint and not missing:
            return record
        if self.force:
            return None
        if record is None:
            raise StudyError(f"{self.out}: exists and holds no study ({STUDY_FILE}); choose another --out")
        if record.get("fingerprint") == fingerprint:
            raise StudyError(f"{self.out}: the study there lacks {missing[0]}{' and more' if len(missing) > 1 else ''};"
                             " --force rebuilds it (the same study: same settings, same seed)")
        changed = _changed(record.get("settings", {}), settings)
        raise StudyError(f"{self.out}: holds a study built with other settings (changed: {', '.join(changed)}); "
                         "--force replaces it (and any responses saved inside it), or choose another --out")

    def make(self, replies: pd.DataFrame) -> StudyTables:
        """Draw the items, hide them behind ids, add the checks, assign and order them."""
        study, rng = self.study, random.Random(self.study.seed)
        candidates = systems_table(replies, study.reference)
        terms = blinding_terms(candidates)
        check_blind(study_texts(study), terms)
        unblinding = names_a_system(candidates["reply"], terms) | names_a_system(candidates["client"], terms)
        drawn = draw(candidates[~unblinding], study.dialogues_per_scenario, study.scenarios, rng)
        checks = attention_items(study.attention, study.scales, drawn, rng)
        items = pd.concat([drawn.assign(kind="rating", expected=""), checks], ignore_index=True)
        items.insert(0, "item_id", item_ids(len(items), rng))
        items = items.rename(columns={"client": "client_turn"})
        rating = items[items["kind"] == "rating"]
        if len(rating) * study.ratings_per_item < study.raters:
            raise StudyError(f"study.raters={study.raters}: {len(rating)} items x ratings_per_item="
                             f"{study.ratings_per_item} leave some participants nothing to rate; lower raters "
                             "or raise dialogues_per_scenario")
        participants = participant_ids(study.raters)
        given = assign(rating, participants, study.ratings_per_item, rng)
        assignments = order(given, list(items.loc[items["kind"] != "rating", "item_id"]), rng)
        return StudyTables(items, assignments, sorted(candidates["system"].unique()), int(unblinding.sum()))

    def save(self, tables: StudyTables, settings: dict, fingerprint: str) -> dict:
        """Write the study directory whole (staged, then swapped in); returns its study.json."""
        with staged_dir(self.out, "study") as staging:
            files = write_study(staging, tables.items, tables.assignments, self.study, tables.systems)
            record = {"fingerprint": fingerprint, "settings": settings, "files": sorted(files),
                      "counts": _counts(tables, self.study)}
            (staging / STUDY_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return record

    def describe(self, result: dict) -> str:
        counts = result["counts"]
        low, high = counts["items_per_participant"]
        verb = "already built (same settings)" if result.get("reused") else "built"
        return (f"study {self.study.name!r} {verb}: {self.out}\n"
                f"  {counts['rating_items']} rating items ({len(counts['systems'])} systems x "
                f"{len(counts['scenarios'])} scenarios), {counts['attention_items']} attention + "
                f"{counts['gold_items']} gold checks\n"
                f"  {counts['participants']} participants x {low}-{high} items; every rating item rated "
                f">= {counts['min_ratings_per_item']} times\n"
                f"  to raters: forms/*.html (or labelstudio/); keep key.csv and study.json from them")


def _counts(tables: StudyTables, study: StudyConfig) -> dict:
    items, assignments = tables.items, tables.assignments
    rating = items[items["kind"] == "rating"]
    per_item = assignments[assignments["item_id"].isin(rating["item_id"])].groupby("item_id").size()
    per_participant = assignments.groupby("participant_id").size()
    return {"rating_items": len(rating), "attention_items": int((items["kind"] == "attention").sum()),
            "gold_items": int((items["kind"] == "gold").sum()), "participants": study.raters,
            "min_ratings_per_item": int(per_item.min()), "systems": tables.systems,
            "items_per_participant": [int(per_participant.min()), int(per_participant.max())],
            "scenarios": {scenario: int(group["dialogue_id"].nunique())
                          for scenario, group in rating.groupby("scenario")},
            "left_out_naming_a_system": tables.left_out, "key_columns": list(KEY_COLUMNS)}


def _changed(old: dict, new: dict) -> list[str]:
    """What differs between two studies' settings: study options by name, then the runs, then the design."""
    old_study, new_study = old.get("study", {}), new.get("study", {})
    changed = [f"study.{key}" for key in sorted(set(old_study) | set(new_study))
               if old_study.get(key) != new_study.get(key)]
    changed += [key for key in ("runs", "design_version") if old.get(key) != new.get(key)]
    return changed or ["the fingerprint"]
