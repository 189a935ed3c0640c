"""The dataset artifact: one Parquet file per split plus a manifest with content fingerprints.

    <artifact_dir>/train.parquet  val.parquet  test.parquet  manifest.json  [data_issues.json]

The fingerprint hashes the records and their split assignment (not file bytes or timestamps), so
the same input and seed give the same fingerprint on any machine. The directory is written under
a staging name and swapped in (tide.core.files.staged_dir), so a killed job never leaves half an artifact.

Runs share an artifact, so it is named by every setting that shapes it (conf/data/*.yaml: `data.name` ends
in a digest of the source, split and leniency settings). An artifact directory is never rewritten with
other settings: `check_settings` refuses, naming what differs (a `data.artifact_dir` set by hand, or a
config changed without composing it again, can still point two settings at one place).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tide.core.domain import MANIFEST_FILE as MANIFEST
from tide.core.files import staged_dir, write_json_atomic
from tide.core.settings import changed_settings
from tide.data.records import content_of

SCHEMA_VERSION = 1


# Keys of the `data` slice that say where things are, not what the artifact holds.
LOCATION_KEYS = ("name", "artifact_dir")
HUB_LOCATION_KEYS = ("token_env", "cache_dir")


class ArtifactConflict(ValueError):
    """An artifact directory holds an artifact made with other settings."""


def shaping_settings(data: dict) -> dict:
    """The settings of a plain `data` slice that shape the artifact (not where it or its sources live;
    a synthetic source's directory is made from data.synthetic, which is in)."""
    shaping = {key: value for key, value in data.items() if key not in LOCATION_KEYS}
    if isinstance(shaping.get("hub"), dict):
        shaping["hub"] = {key: value for key, value in shaping["hub"].items() if key not in HUB_LOCATION_KEYS}
    if shaping.get("source") == "synthetic":
        shaping.pop("dir", None)
    return shaping


def check_settings(artifact_dir: str | Path, manifest: dict, data: dict) -> None:
    """Raise ArtifactConflict when the artifact in `artifact_dir` (its `manifest`) was made with other
    shaping settings than the plain `data` slice."""
    made_with = shaping_settings(json.loads(manifest.get("config_key") or "{}"))
    changes = changed_settings(made_with, shaping_settings(data), prefix="data.")
    if changes:
        shown = ", ".join(changes[:4]) + (f" and {len(changes) - 4} more" if len(changes) > 4 else "")
        raise ArtifactConflict(f"{artifact_dir} holds a data artifact made with other settings ({shown}); it is "
                               "shared by the runs made on it, so it is not rewritten. Compose these settings "
                               "again (the default data.name is named by them) or give them their own "
                               "data.artifact_dir")


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
