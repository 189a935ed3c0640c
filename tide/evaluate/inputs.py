"""What the evaluation reads: a run's generation files, each row joined to its reference in the data artifact.

    <generations_dir>/<condition>/*.parquet   (tide.generate)
    <data artifact>/<split>.parquet           (tide.data)

Everything that can be wrong with them is found here, before any scoring, with the file and the fix named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

GENERATION_COLUMNS = ("dialogue_id", "condition", "model", "reply")


class EvaluationInputError(ValueError):
    """Generations or references that cannot be evaluated; the message names the file and the fix."""


def load_generations(generations_dir: str | Path) -> pd.DataFrame:
    """Every `<condition>/*.parquet` under generations_dir, checked for the columns evaluation needs."""
    generations_dir = Path(generations_dir)
    files = sorted(generations_dir.glob("*/*.parquet"))
    if not files:
        raise EvaluationInputError(f"{generations_dir}: no generation files (<condition>/*.parquet); "
                                   "run `python -m launch.generate` first or set eval.generations_dir")
    frames = []
    for path in files:
        frame = pd.read_parquet(path)
        missing = [c for c in GENERATION_COLUMNS if c not in frame.columns]
        if missing:
            raise EvaluationInputError(f"{path}: missing column(s) {missing} (docs/artifacts.md, generation rows)")
        frames.append(frame.assign(source_file=str(path.relative_to(generations_dir))))
    # Shards hold whichever rows an actor finished together, so their order varies run to run; sorted, the
    # rows (and every seeded bootstrap over them) depend on the replies alone.
    frame = pd.concat(frames, ignore_index=True).sort_values(["model", "condition", "dialogue_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    duplicated = frame.duplicated(["dialogue_id", "model", "condition"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise EvaluationInputError(f"{generations_dir}: {int(duplicated.sum())} duplicate (dialogue_id, model, "
                                   f"condition) rows, e.g. {first['dialogue_id']!r} in {first['source_file']}")
    return frame


def attach_references(frame: pd.DataFrame, artifact_dir: str | Path, split: str) -> pd.DataFrame:
    """Add reference, client, scenario and extra from the data artifact; every row must find its reference."""
    from tide.data.artifact import load_split

    references = load_split(artifact_dir, split).to_pandas().set_index("dialogue_id")
    unknown = ~frame["dialogue_id"].isin(references.index)
    if unknown.any():
        missing = frame[unknown]
        by_file = missing.groupby("source_file")["dialogue_id"].apply(lambda ids: list(ids)[:3]).to_dict()
        raise EvaluationInputError(
            f"{int(unknown.sum())} generation row(s) have no reference in {artifact_dir} split {split!r}: "
            + "; ".join(f"{file} (e.g. {ids})" for file, ids in by_file.items())
            + ". Point data.artifact_dir and eval.references_split at the data the replies were generated from.")
    joined = frame.drop(columns=[c for c in ("scenario", "client", "reference", "extra") if c in frame])
    return joined.join(references[["scenario", "client", "reference", "extra"]], on="dialogue_id")


def failed_generations(frame: pd.DataFrame) -> np.ndarray:
    """True per row whose generation failed (no reply, or an error recorded): scored, but never counted."""
    failed = frame["reply"].isna()
    if "error" in frame:
        failed |= frame["error"].notna()
    return failed.to_numpy()
