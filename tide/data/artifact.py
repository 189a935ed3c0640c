"""The dataset artifact: one Parquet file per split plus a manifest with content fingerprints.

    <artifact_dir>/train.parquet  val.parquet  test.parquet  manifest.json  [data_issues.json]

The fingerprint hashes the records and their split assignment (not file bytes or timestamps), so
the same input and seed give the same fingerprint on any machine. The directory is written under
a staging name and swapped in (tide.core.files.staged_dir), so a killed job never leaves half an artifact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tide.core.domain import MANIFEST_FILE as MANIFEST
from tide.core.files import staged_dir, write_json_atomic
from tide.data.records import content_of

SCHEMA_VERSION = 1


def fingerprint(records: list[dict]) -> str:
    """The content's hash: the same dialogues read from JSON, CSV or Parquet hash alike (source_file is left out)."""
    digest = hashlib.sha256(f"tide-records-v{SCHEMA_VERSION}".encode())
    for record in sorted(records, key=lambda r: r["dialogue_id"]):
        digest.update(json.dumps(content_of(record), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def dataset_fingerprint(splits: dict[str, list[dict]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(splits):
        digest.update(f"{name}:{fingerprint(splits[name])}".encode())
    return digest.hexdigest()


def save_artifact(artifact_dir: str | Path, splits: dict[str, list[dict]], manifest: dict,
                  extra_files: dict[str, object] | None = None) -> dict:
    """Write the splits as Parquet (through `datasets`) and the manifest; returns the manifest."""
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # one bar per small file is noise; the stage reports its own progress
    manifest = {
        **manifest,
        "schema_version": SCHEMA_VERSION,
        "fingerprint": dataset_fingerprint(splits),
        "splits": {name: {"dialogues": len(rows), "personas": len({r["persona_id"] for r in rows}),
                          "fingerprint": fingerprint(rows), "file": f"{name}.parquet"}
                   for name, rows in splits.items()},
    }
    # The old artifact stays whole until the new one is complete and swapped in.
    with staged_dir(Path(artifact_dir)) as staging:
        for name, rows in splits.items():
            Dataset.from_list(rows).to_parquet(str(staging / f"{name}.parquet"))
        for file_name, payload in (extra_files or {}).items():
            write_json_atomic(staging / file_name, payload)
        write_json_atomic(staging / MANIFEST, manifest)
    return manifest


def read_manifest(artifact_dir: str | Path) -> dict | None:
    """The manifest of a complete artifact, or None when there is none."""
    path = Path(artifact_dir) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def load_split(artifact_dir: str | Path, split: str):
    """One split as a `datasets.Dataset`."""
    from datasets import Dataset

    manifest = read_manifest(artifact_dir)
    if manifest is None:
        raise FileNotFoundError(f"no dataset artifact at {artifact_dir} (missing {MANIFEST}); "
                                "run `python -m launch.data` first")
    if split not in manifest["splits"]:
        raise KeyError(f"{artifact_dir}: no split {split!r}; available: {sorted(manifest['splits'])}")
    return Dataset.from_parquet(str(Path(artifact_dir) / manifest["splits"][split]["file"]), keep_in_memory=True)
