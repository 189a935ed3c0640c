"""The sweep's results table: one row per trial, rewritten (CSV + Parquet, atomically) as trials finish.

The table is also the sweep's ledger: a trial is identified by its override set, and a rerun of the
same sweep replays finished trials from the table instead of running them again, so an interrupted
sweep resumes where it stopped (errored trials run again).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from tide.core.files import write_atomic
from tide.sweep.overrides import to_overrides

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
FINISHED = ("completed", "early_stopped")
FIRST_COLUMNS = ("trial", "status")
LAST_COLUMNS = ("overrides", "run_dir", "duration_s", "error")


def trial_key(params: dict) -> str:
    """The same override set gives the same key on any machine and in any order."""
    text = "\n".join(sorted(to_overrides(params)))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class ResultsTable:
    def __init__(self, sweep_dir: str | Path, param_keys: list[str], metric: str, goal: str = "maximize"):
        self.dir = Path(sweep_dir)
        self.param_keys, self.metric, self.goal = list(param_keys), metric, goal
        self.rows: dict[str, dict] = {}
        parquet = self.dir / RESULTS_PARQUET
        if parquet.is_file():
            import pandas as pd

            for row in pd.read_parquet(parquet).to_dict("records"):
                self.rows[row["trial"]] = {k: v for k, v in row.items() if not _is_missing(v)}

    def finished(self, key: str) -> dict | None:
        row = self.rows.get(key)
        return row if row and row.get("status") in FINISHED else None

    def metrics_of(self, row: dict) -> dict:
        skip = {*FIRST_COLUMNS, *LAST_COLUMNS, *self.param_keys}
        return {k: v for k, v in row.items() if k not in skip}

    def record(self, row: dict) -> None:
        self.rows[row["trial"]] = row
        self.write()

    def dataframe(self):
        import pandas as pd

        frame = pd.DataFrame(list(self.rows.values()))
        if frame.empty:
            return frame
        metrics = sorted(c for c in frame.columns
                         if c not in {*FIRST_COLUMNS, *LAST_COLUMNS, *self.param_keys, self.metric})
        order = [*FIRST_COLUMNS, *([self.metric] if self.metric in frame else []),
                 *[k for k in self.param_keys if k in frame], *metrics, *[c for c in LAST_COLUMNS if c in frame]]
        frame = frame[order]
        if self.metric in frame:
            frame = frame.sort_values(self.metric, ascending=self.goal == "minimize", na_position="last", kind="stable")
        for column in frame.columns:  # Parquet needs one type per column (e.g. a choice of 8 and "auto")
            types = {type(v) for v in frame[column] if not _is_missing(v)}
            if len(types) > 1 and not types <= {int, float}:
                frame[column] = frame[column].map(lambda v: None if _is_missing(v) else str(v))
        return frame.reset_index(drop=True)

    def write(self) -> None:
        frame = self.dataframe()
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / RESULTS_PARQUET, lambda path: frame.to_parquet(path, index=False))
        write_atomic(self.dir / RESULTS_CSV, lambda path: frame.to_csv(path, index=False))


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
