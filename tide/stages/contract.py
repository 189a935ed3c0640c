"""The stage contract: what a stage reads, the settings that shape it, what it writes, and when it is done.

A `Stage` declares its inputs (artifact paths of earlier stages), the slice of the config that shapes
its output, its outputs, and the earlier stages it builds on. Its fingerprint hashes its settings,
its input paths and those stages' fingerprints, so a changed setting changes the fingerprint of the
stage it shapes and of every stage after it. A stage is complete when its record,
`<run.dir>/stages/<name>.json`, holds the same fingerprint and its outputs exist; `run_stages` runs
the others, in order, and once one runs, every later one runs too (their inputs are new).

A run directory never mixes settings: when a record holds another fingerprint, `run_stages` refuses
before anything runs and names the changed settings, unless `force` is set; then the stale outputs
are removed and those stages run again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tide.core.files import write_json_atomic

RECORD_DIR = "stages"
FORCE_SWITCH = "pipeline.force=true"


class StageConflict(RuntimeError):
    """The run directory holds a stage's results made with other settings."""


@dataclass
class Stage:
    name: str
    settings: dict                          # the config slice that shapes the output (plain values)
    inputs: dict[str, str]                  # artifact paths it reads: {what: path}
    outputs: tuple[str, ...]                # what it writes; all must exist for the stage to be complete
    run: Callable[[], dict]                 # does the work; returns its result (JSON-safe, kept in the record)
    after: tuple[str, ...] = ()             # earlier stages whose outputs it reads
    replaceable: tuple[str, ...] = ()       # outputs removed before a forced rerun (not shared ones)
    intact: Callable[[dict], bool] = field(default=lambda result: True)  # outputs still what the record says

    def fingerprint(self, upstream: dict[str, str]) -> str:
        payload = {"stage": self.name, "settings": self.settings, "inputs": self.inputs,
                   "after": {name: upstream[name] for name in self.after}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StageOutcome:
    name: str
    ran: bool
    fingerprint: str
    result: dict
    seconds: float = 0.0


def read_record(record_dir: Path, name: str) -> dict | None:
    path = Path(record_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def plan_fingerprints(stages: list[Stage]) -> dict[str, str]:
    fingerprints: dict[str, str] = {}
    for stage in stages:
        fingerprints[stage.name] = stage.fingerprint(fingerprints)
    return fingerprints


def conflicts(stages: list[Stage], record_dir: Path, fingerprints: dict[str, str]) -> list[tuple[Stage, dict]]:
    """Stages whose record holds another fingerprint: (stage, that record)."""
    found = []
    for stage in stages:
        record = read_record(record_dir, stage.name)
        if record is not None and record["fingerprint"] != fingerprints[stage.name]:
            found.append((stage, record))
    return found


def changed_settings(old: dict, new: dict) -> list[str]:
    """'key: old -> new' for every leaf that differs (dotted keys)."""
    flat_old, flat_new = _leaves(old), _leaves(new)
    return [f"{key}: {flat_old.get(key, '(unset)')} -> {flat_new.get(key, '(unset)')}"
            for key in sorted(flat_old.keys() | flat_new.keys()) if flat_old.get(key) != flat_new.get(key)]


def _leaves(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    leaves = {}
    for key, value in tree.items():
        leaves.update(_leaves(value, f"{prefix}{key}."))
    return leaves


def conflict_message(run_dir: Path, stage: Stage, record: dict) -> str:
    changes = changed_settings(record.get("settings", {}), stage.settings) + changed_settings(
        record.get("inputs", {}), stage.inputs)
    reason = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "") if changes else \
        f"an earlier stage changed ({', '.join(stage.after)})"
    return (f"{run_dir} holds {stage.name} results made with other settings ({reason}). Give this configuration "
            f"its own run.name, or rerun with {FORCE_SWITCH} to replace {stage.name} and the stages after it")


def check_conflicts(stages: list[Stage], run_dir: Path, force: bool = False) -> set[str]:
    """Raise StageConflict when run_dir holds results of other settings (unless force); returns those stages."""
    run_dir = Path(run_dir)
    stale = conflicts(stages, run_dir / RECORD_DIR, plan_fingerprints(stages))
    if stale and not force:
        raise StageConflict(conflict_message(run_dir, *stale[0]))
    return {stage.name for stage, _ in stale}


def pending(stages: list[Stage], run_dir: Path) -> list[str]:
    """The stages `run_stages` would run now: the first incomplete one and every one after it."""
    record_dir, fingerprints = Path(run_dir) / RECORD_DIR, plan_fingerprints(stages)
    for index, stage in enumerate(stages):
        if not _complete(stage, read_record(record_dir, stage.name), fingerprints[stage.name]):
            return [later.name for later in stages[index:]]
    return []


def run_stages(stages: list[Stage], run_dir: Path, force: bool = False,
               on_outcome: Callable[[StageOutcome], None] | None = None) -> list[StageOutcome]:
    """Run every stage that is not complete for its fingerprint, in order; returns what happened to each."""
    run_dir = Path(run_dir)
    record_dir = run_dir / RECORD_DIR
    fingerprints = plan_fingerprints(stages)
    stale_names = check_conflicts(stages, run_dir, force)
    outcomes, rerun_rest = [], False
    for stage in stages:
        fingerprint, record = fingerprints[stage.name], read_record(record_dir, stage.name)
        if not rerun_rest and _complete(stage, record, fingerprint):
            outcome = StageOutcome(stage.name, False, fingerprint, record["result"])
        else:
            rerun_rest = True
            (record_dir / f"{stage.name}.json").unlink(missing_ok=True)  # no record while its outputs change
            if stage.name in stale_names:
                _remove(stage.replaceable)
            started = time.perf_counter()
            result = stage.run()
            outcome = StageOutcome(stage.name, True, fingerprint, result, round(time.perf_counter() - started, 1))
            write_json_atomic(record_dir / f"{stage.name}.json", {
                "stage": stage.name, "fingerprint": fingerprint, "settings": stage.settings, "inputs": stage.inputs,
                "outputs": list(stage.outputs), "after": {name: fingerprints[name] for name in stage.after},
                "result": result, "seconds": outcome.seconds})
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


def _complete(stage: Stage, record: dict | None, fingerprint: str) -> bool:
    return (record is not None and record["fingerprint"] == fingerprint
            and all(Path(path).exists() for path in stage.outputs) and stage.intact(record["result"]))


def _remove(paths) -> None:
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
