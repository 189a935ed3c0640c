"""The data stage: source files -> validated records -> persona split -> Parquet artifact.

Takes the `data` slice (DataConfig). A complete artifact built from the same configuration and the same
source files is reused, so a rerun skips the stage.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

from tide.config import DataConfig, to_plain
from tide.data.artifact import check_settings, read_manifest, save_artifact
from tide.data.reader import read_tide, source_files
from tide.data.records import extra_of, persona_of
from tide.data.split import assign_splits
from tide.data.text_stats import corpus_variety

log = logging.getLogger(__name__)
ISSUES_FILE = "data_issues.json"


def prepare_dataset(data: DataConfig, force: bool = False) -> dict:
    """Build (or reuse) the artifact at data.artifact_dir; returns its manifest. An artifact there made with
    other settings is refused (ArtifactConflict), not rewritten, unless `force`."""
    artifact_dir = Path(data.artifact_dir)
    # The plain dict the YAML composed, as this key was always made: artifacts built earlier are reused.
    config_key = json.dumps(to_plain(data), sort_keys=True, default=str)
    existing = read_manifest(artifact_dir)
    if existing and not force:
        check_settings(artifact_dir, existing, to_plain(data))  # before any work
    source_dir = _source_dir(data)
    signature = _source_signature(source_dir)
    if not force and existing and existing.get("source_signature") == signature:
        log.info("data: reusing %s (fingerprint %s)", artifact_dir, existing["fingerprint"][:12])
        return {**existing, "reused": True}

    result = read_tide(source_dir, lenient=data.lenient)
    if not result.records:
        raise ValueError(f"{source_dir}: no usable dialogues ({len(result.issues)} skipped; "
                         f"see {artifact_dir / ISSUES_FILE})" if result.issues else f"{source_dir}: no dialogues")
    personas = {}
    for record in result.records:
        personas.setdefault(record["persona_id"], persona_of(record))
    assignment = assign_splits(personas, data.split)
    splits = {name: [r for r in result.records if assignment[r["persona_id"]] == name]
              for name in ("train", "val", "test")}

    manifest = {
        "source": data.source,
        "source_dir": str(source_dir),
        "source_signature": signature,
        "config_key": config_key,
        "reader": result.report,
        "corpus": {**corpus_variety(r["reference"] for r in result.records),
                   "self_harm_clients": sum(extra_of(r).get("risk") == "self_harm" for r in result.records)},
    }
    extra_files = {ISSUES_FILE: result.issues_report()} if data.lenient else None
    manifest = save_artifact(artifact_dir, splits, manifest, extra_files)
    return {**manifest, "reused": False}


def _source_dir(data: DataConfig) -> Path:
    if data.source == "synthetic":
        return _synthetic_source(data)
    if data.dir:
        path = Path(data.dir)
        if not path.is_dir():
            raise FileNotFoundError(f"data.dir: TIDE directory not found: {path}")
        return path
    if data.hub is None:
        raise ValueError("data: set data.dir to a local TIDE directory or configure data.hub")
    from tide.data.hub import fetch_tide_snapshot

    return fetch_tide_snapshot(data.hub)


def _synthetic_source(data: DataConfig) -> Path:
    from tide.data.synthetic import write_synthetic

    if data.synthetic is None or not data.dir:
        raise ValueError("data: source=synthetic needs data.synthetic (the generator's options) and data.dir")
    params = to_plain(data.synthetic)
    out_dir = Path(data.dir)
    stamp = out_dir / "synthetic.json"
    # The generator is seeded and takes seconds: regenerate whenever the parameters change.
    if not (stamp.is_file() and json.loads(stamp.read_text()) == params):
        write_synthetic(out_dir, data.synthetic)
        stamp.write_text(json.dumps(params, sort_keys=True))
    return out_dir


def _source_signature(source_dir: Path) -> str:
    """Names, sizes and modification times of the source files: cheap, and changes when they do."""
    digest = hashlib.sha256()
    for path in source_files(source_dir):  # JSON and table exports, as the reader finds them
        stat = path.stat()
        digest.update(f"{path.relative_to(source_dir)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def split_summary(artifact_dir: str | Path) -> dict:
    """Dialogues and personas per split, and the scenario mix of each split."""
    from tide.data.artifact import load_split

    manifest = read_manifest(artifact_dir)
    scenarios = {name: dict(Counter(load_split(artifact_dir, name)["scenario"])) for name in manifest["splits"]}
    return {"splits": manifest["splits"], "scenarios": scenarios}
