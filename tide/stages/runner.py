"""Running stages under the contract: skip what is complete, refuse or replace what other settings made.

`run_stages` runs every stage that is not complete for its fingerprint, in order, and once one runs,
every later one runs too (their inputs are new). A run directory never mixes settings: when a record
holds another fingerprint, it refuses before anything runs and names the changed settings, unless
`force` is set; then the stale outputs are removed and those stages run again.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from tide.core.files import write_json_atomic
from tide.core.settings import changed_settings
from tide.stages.contract import Stage, StageConflict
from tide.stages.records import read_record, record_path

FORCE_SWITCH = "pipeline.force=true"


@dataclass
class StageOutcome:
    name: str
    ran: bool
    fingerprint: str
    result: dict
    seconds: float = 0.0


def plan_fingerprints(stages: list[Stage]) -> dict[str, str]:
    fingerprints: dict[str, str] = {}
    for stage in stages:
        fingerprints[stage.name] = stage.fingerprint(fingerprints)
    return fingerprints


def conflicts(stages: list[Stage], run_dir: Path, fingerprints: dict[str, str]) -> list[tuple[Stage, dict]]:
    """Stages whose record holds another fingerprint: (stage, that record)."""
    found = []
    for stage in stages:
        record = read_record(run_dir, stage.name)
        if record is not None and record["fingerprint"] != fingerprints[stage.name]:
            found.append((stage, record))
    return found


def conflict_message(run_dir: Path, stage: Stage, record: dict) -> str:
    changes = changed_settings(record.get("settings", {}), stage.settings()) + changed_settings(
        record.get("inputs", {}), stage.inputs())
    reason = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "") if changes else \
        f"an earlier stage changed ({', '.join(stage.after())})"
    return (f"{run_dir} holds {stage.name} results made with other settings ({reason}). Give this configuration "
            f"its own run.name, or rerun with {FORCE_SWITCH} to replace {stage.name} and the stages after it")


def check_conflicts(stages: list[Stage], run_dir: Path, force: bool = False,
                    fingerprints: dict[str, str] | None = None) -> set[str]:
    """Raise StageConflict when run_dir holds results of other settings (unless force); returns those stages."""
    stale = conflicts(stages, Path(run_dir), fingerprints or plan_fingerprints(stages))
    if stale and not force:
        raise StageConflict(conflict_message(Path(run_dir), *stale[0]))
    return {stage.name for stage, _ in stale}


def pending(stages: list[Stage], run_dir: Path) -> list[str]:
    """The stages `run_stages` would run now: the first incomplete one and every one after it."""
    fingerprints = plan_fingerprints(stages)
    for index, stage in enumerate(stages):
        if not is_complete(stage, read_record(run_dir, stage.name), fingerprints[stage.name], run_dir):
            return [later.name for later in stages[index:]]
    return []


def run_stages(stages: list[Stage], run_dir: Path, tracker, force: bool = False) -> list[StageOutcome]:
    """Run every stage that is not complete for its fingerprint, in order; a complete one logs its outputs
    into `tracker` instead. Returns what happened to each."""
    run_dir = Path(run_dir)
    fingerprints = plan_fingerprints(stages)
    stale_names = check_conflicts(stages, run_dir, force, fingerprints)
    outcomes, rerun_rest = [], False
    for stage in stages:
        if stage.logs:
            tracker.open()  # a deferred W&B run starts with the first stage that logs, not before
        try:
            outcome = _skip_or_run(stage, run_dir, tracker, fingerprints, rerun_rest, stale_names)
        except BaseException as error:
            tracker.fail(error, stage.name)  # failed, with the one-line reason as its summary
            raise
        rerun_rest = rerun_rest or outcome.ran
        outcomes.append(outcome)
    return outcomes


def _skip_or_run(stage: Stage, run_dir: Path, tracker, fingerprints: dict, rerun_rest: bool,
                 stale_names: set[str]) -> StageOutcome:
    fingerprint, record = fingerprints[stage.name], read_record(run_dir, stage.name)
    if not rerun_rest and is_complete(stage, record, fingerprint, run_dir):
        if record.get("outputs") != stage.outputs():  # a record from before outputs were named
            write_json_atomic(record_path(run_dir, stage.name), {**record, "outputs": stage.outputs()})
        outcome = StageOutcome(stage.name, False, fingerprint, record["result"])
        stage.log_complete(outcome.result, tracker)
        return outcome
    # Its outputs were made from what an earlier stage made before: removed, so nothing of them is resumed.
    remade_upstream = record is not None and record["fingerprint"] == fingerprint and not upstream_current(
        stage, record, run_dir)
    return _run_one(stage, run_dir, tracker, fingerprints, replace=stage.name in stale_names or remade_upstream)


def _run_one(stage: Stage, run_dir: Path, tracker, fingerprints: dict, replace: bool) -> StageOutcome:
    record = record_path(run_dir, stage.name)
    record.unlink(missing_ok=True)  # no record while its outputs change
    if replace:
        _remove(stage.replaceable())
    started = time.perf_counter()
    result = stage.run(tracker)
    seconds = round(time.perf_counter() - started, 1)
    write_json_atomic(record, {
        "stage": stage.name, "fingerprint": fingerprints[stage.name], "settings": stage.settings(),
        "inputs": stage.inputs(), "outputs": stage.outputs(),
        "after": {name: fingerprints[name] for name in stage.after()},
        "upstream": {name: (read_record(run_dir, name) or {}).get("made") for name in stage.after()},
        "made": stage.made(result), "result": result, "seconds": seconds})
    return StageOutcome(stage.name, True, fingerprints[stage.name], result, seconds)


def is_complete(stage: Stage, record: dict | None, fingerprint: str, run_dir: Path) -> bool:
    return (record is not None and record["fingerprint"] == fingerprint
            and all(Path(path).exists() for path in stage.outputs().values()) and stage.intact(record["result"])
            and upstream_current(stage, record, run_dir))


def upstream_current(stage: Stage, record: dict, run_dir: Path) -> bool:
    """Whether the stages it reads from still hold what they had made when it ran (a record from before
    this was kept, or an earlier stage's, counts as current)."""
    seen = record.get("upstream") or {}
    for name in stage.after():
        now = (read_record(run_dir, name) or {}).get("made")
        if seen.get(name) is not None and now is not None and seen[name] != now:
            return False
    return True


def _remove(paths) -> None:
    for path in map(Path, paths):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
