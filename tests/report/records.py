"""Stage records for hand-made run directories: what tide.stages.runner leaves once a stage is done, so
readers that go through the records (the report, the demo) find the outputs."""

from pathlib import Path

from tide.core.files import write_json_atomic
from tide.stages.records import record_path


def record_stage(run_dir: Path, stage: str, outputs: dict[str, Path]) -> None:
    """`stage` is done in run_dir, its named outputs at these paths."""
    write_json_atomic(record_path(run_dir, stage), {
        "stage": stage, "fingerprint": "hand-made", "settings": {}, "inputs": {}, "after": {},
        "outputs": {name: str(path) for name, path in outputs.items()}, "result": {}})


def record_evaluation(run_dir: Path) -> None:
    """The evaluate stage wrote run_dir/eval/summary.json and metrics.parquet (its default output_dir)."""
    record_stage(run_dir, "evaluate", {"summary": run_dir / "eval" / "summary.json",
                                       "metrics": run_dir / "eval" / "metrics.parquet"})
