"""What a study is drawn from: the replies of evaluated runs, and the data artifact's reference replies.

A run counts when its evaluate stage is complete; its per-reply rows are found through the stage record
(tide/stages/records.py), never by a path of our own. Those rows already carry each dialogue's client turn,
scenario and reference reply, joined from the data artifact the run was evaluated against, so the reference
(the frontier model's reply) becomes one more system without reading the artifact again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tide.stages.records import read_record, stage_output

# The per-reply columns a study needs from eval/metrics.parquet (tide/evaluate/scoring.py writes them).
NEEDED = ("dialogue_id", "model", "condition", "scenario", "client", "reply", "reference")
REFERENCE = "reference"  # the reference replies' system, model and condition in the key
NO_SCENARIO = "(none)"


class StudyError(ValueError):
    """Input a study cannot be built from, or a study directory it must not replace; one line naming it."""


def is_evaluated(run_dir: Path) -> bool:
    return stage_output(run_dir, "evaluate", "metrics") is not None


def find_runs(paths) -> list[Path]:
    """Evaluated run directories: each path is one, or a folder holding some."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise StudyError(f"{path}: no such run directory")
        found += [path] if is_evaluated(path) else sorted(p for p in path.iterdir() if p.is_dir() and is_evaluated(p))
    if not found:
        raise StudyError(f"no evaluated runs (a complete evaluate stage) under {', '.join(map(str, paths))}; "
                         "run `python -m launch.evaluate` first")
    return sorted(set(found))


def run_fingerprints(runs: list[Path]) -> dict[str, str]:
    """Each run's evaluate fingerprint: a re-evaluated run (other replies or references) makes another study."""
    return {str(run): (read_record(run, "evaluate") or {}).get("fingerprint", "") for run in runs}


def load_replies(runs: list[Path]) -> pd.DataFrame:
    """Every scored reply of these runs (failed generations left out), one row per (model, condition, dialogue)."""
    frames = []
    for run in runs:
        path = stage_output(run, "evaluate", "metrics")
        frame = pd.read_parquet(path)
        missing = [column for column in NEEDED if column not in frame]
        if missing:
            raise StudyError(f"{path}: missing column(s) {missing}; re-evaluate the run with this suite")
        frames.append(_usable(frame).loc[:, list(NEEDED)].assign(run=str(run)))
    rows = pd.concat(frames, ignore_index=True)
    rows["scenario"] = rows["scenario"].fillna(NO_SCENARIO).astype(str)
    twice = rows.duplicated(["model", "condition", "dialogue_id"], keep=False)
    if twice.any():
        first = rows[twice].iloc[0]
        runs_of = sorted(rows[twice & (rows["model"] == first["model"]) & (rows["condition"] == first["condition"])]
                         ["run"].unique())
        raise StudyError(f"{first['model']}/{first['condition']} replied to dialogue {first['dialogue_id']!r} in "
                         f"more than one run ({', '.join(runs_of)}); name each model and condition once")
    return rows


def _usable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a reply a person can read: failed generations (no reply, an error) are never shown."""
    failed = frame["reply"].isna() | (frame["reply"].astype(str).str.strip() == "")
    if "error" in frame:
        failed |= frame["error"].notna()
    return frame[~failed]


def systems_table(replies: pd.DataFrame, reference: bool) -> pd.DataFrame:
    """Long table of candidate items: system, model, condition, scenario, dialogue_id, client, reply.

    A run's reply is system `<model>/<condition>`; with `reference`, each dialogue's reference reply is one
    more system, `reference` (one reference per dialogue: runs evaluated against different data are refused).
    """
    models = replies.assign(system=replies["model"] + "/" + replies["condition"])
    columns = ["system", "model", "condition", "scenario", "dialogue_id", "client", "reply"]
    if not reference:
        return models[columns].reset_index(drop=True)
    references = replies.drop_duplicates(["dialogue_id", "reference"])
    clash = references["dialogue_id"].duplicated()
    if clash.any():
        raise StudyError(f"dialogue {references[clash].iloc[0]['dialogue_id']!r} has different reference replies "
                         "in different runs; build a study from runs evaluated against the same data")
    references = references.assign(system=REFERENCE, model=REFERENCE, condition=REFERENCE,
                                   reply=references["reference"])
    return pd.concat([models[columns], references[columns]], ignore_index=True)
