"""Resumable Parquet output: generations/<condition>/part-*.parquet plus the spec that made them.

A shard is written under a temporary name and renamed, so a killed job leaves whole shards only. A
rerun reads the dialogue ids already present and generates the rest; rows recorded as errors are
dropped first (their shard is rewritten without them) so they are tried again. `spec.json` holds
everything that decides a reply (model, adapter, sampling, prompt, data); rows made under another
spec are never mixed in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tide.core.files import write_atomic, write_json_atomic

SPEC_FILE = "spec.json"
# Hidden names (tide.core.files.write_atomic stages ".part-<hash>.parquet.<random>.tmp"): what a killed job
# leaves behind; removed on resume.
LEFTOVER_GLOB = ".part-*"

# docs/artifacts.md, "Generation rows"; explicit types so that a shard whose scenarios are all null
# still has the same schema as the others.
SCHEMA = pa.schema([
    ("dialogue_id", pa.string()), ("persona_id", pa.string()), ("scenario", pa.string()),
    ("condition", pa.string()), ("model", pa.string()), ("model_params_b", pa.float64()),
    ("adapter", pa.string()), ("prompt", pa.string()), ("reply", pa.string()), ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int64()), ("reply_tokens", pa.int64()), ("latency_s", pa.float64()),
    ("error", pa.string()), ("sampling", pa.string()), ("versions", pa.string()),
])
COLUMNS = SCHEMA.names


def shard_paths(condition_dir: Path) -> list[Path]:
    return sorted(Path(condition_dir).glob("part-*.parquet"))


def read_rows(condition_dir: Path) -> pd.DataFrame:
    """Every row of every shard (an empty frame with the schema's columns when there is none)."""
    tables = [pq.read_table(path, schema=SCHEMA) for path in shard_paths(condition_dir)]
    return pa.concat_tables(tables).to_pandas() if tables else SCHEMA.empty_table().to_pandas()


def write_shard(condition_dir: Path, rows: pd.DataFrame) -> Path:
    """One shard, named by the dialogues it holds; appears whole or not at all."""
    ids = "\n".join(sorted(rows["dialogue_id"]))
    path = Path(condition_dir) / f"part-{hashlib.sha256(ids.encode()).hexdigest()[:16]}.parquet"
    _write_atomic(path, rows)
    return path


def _write_atomic(path: Path, rows: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(rows[COLUMNS], schema=SCHEMA, preserve_index=False)
    write_atomic(path, lambda temp: pq.write_table(table, temp))


def open_condition_dir(condition_dir: Path, spec: dict) -> set[str]:
    """Make `condition_dir` ready to resume under `spec`; returns the dialogue ids already done.

    Raises when the directory holds rows made under another spec. Leftover temporary files of a killed
    job are removed and error rows dropped (so they are generated again).
    """
    condition_dir = Path(condition_dir)
    condition_dir.mkdir(parents=True, exist_ok=True)
    _check_spec(condition_dir, spec)
    for leftover in condition_dir.glob(LEFTOVER_GLOB):
        leftover.unlink()
    done = set()
    for path in shard_paths(condition_dir):
        rows = pq.read_table(path, schema=SCHEMA).to_pandas()
        failed = rows["finish_reason"] == "error"
        if failed.all():
            path.unlink()
        elif failed.any():
            kept = rows[~failed]
            _write_atomic(path, kept)  # replaced in place: a crash here leaves the old shard or the new
            done.update(kept["dialogue_id"])
        else:
            done.update(rows["dialogue_id"])
    return done


def check_complete(condition_dir: Path, dialogue_ids: list[str]) -> pd.DataFrame:
    """All rows, after checking there is exactly one per dialogue and none for another dialogue."""
    rows = read_rows(condition_dir)
    counts = rows["dialogue_id"].value_counts()
    duplicated = sorted(counts[counts > 1].index)
    missing = sorted(set(dialogue_ids) - set(counts.index))
    unexpected = sorted(set(counts.index) - set(dialogue_ids))
    if duplicated or missing or unexpected:
        raise RuntimeError(f"{condition_dir}: expected one row per dialogue; duplicated {duplicated[:5]}, "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]} (of {len(dialogue_ids)})")
    return rows


def _check_spec(condition_dir: Path, spec: dict) -> None:
    spec_path = condition_dir / SPEC_FILE
    if spec_path.is_file():
        existing = json.loads(spec_path.read_text(encoding="utf-8"))
        if existing != spec:
            changed = sorted(key for key in spec.keys() | existing.keys() if existing.get(key) != spec.get(key))
            raise ValueError(
                f"{condition_dir} holds generations made with other settings (changed: {', '.join(changed)}). "
                "Remove that directory to regenerate, or use another run.name / generate.output_dir.")
    elif shard_paths(condition_dir):
        raise ValueError(f"{condition_dir} holds shards but no {SPEC_FILE}: not written by this stage; "
                         "remove them or use another generate.output_dir")
    else:
        write_json_atomic(spec_path, spec)
