"""Stage records, `<run.dir>/stages/<name>.json`: what a stage did, with which settings, and where its
outputs are. Readers of a run (the sweep trial, the report, the planner) find outputs here, never by
a path of their own."""

from __future__ import annotations

import json
from pathlib import Path

from tide.core.domain import STAGE_RECORD_DIR


def record_path(run_dir, name: str) -> Path:
    return Path(run_dir) / STAGE_RECORD_DIR / f"{name}.json"


def read_record(run_dir, name: str) -> dict | None:
    """The stage's record in run_dir, or None when it has none (never ran, or is running again)."""
    path = record_path(run_dir, name)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def stage_output(run_dir, name: str, output: str) -> Path | None:
    """The path of a complete stage's named output (e.g. ("evaluate", "summary")); None when the stage
    has no record or that output is missing."""
    record = read_record(run_dir, name)
    outputs = (record or {}).get("outputs")
    if not isinstance(outputs, dict) or output not in outputs:
        return None
    path = Path(outputs[output])
    return path if path.exists() else None


def read_stage_json(run_dir, name: str, output: str) -> dict | None:
    """A complete stage's JSON output, parsed; None when there is none."""
    path = stage_output(run_dir, name, output)
    return json.loads(path.read_text(encoding="utf-8")) if path is not None else None
