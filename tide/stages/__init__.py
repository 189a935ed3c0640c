"""The stages of a run (data, train, generate, evaluate), each one object under one contract, and the
runner every command uses (docs/architecture.md)."""

from tide.stages.contract import Stage, StageConflict
from tide.stages.pipeline import STAGES, build_stages, format_result, run_pipeline
from tide.stages.records import read_record, read_stage_json, stage_output
from tide.stages.runner import StageOutcome, pending, run_stages

__all__ = ["STAGES", "Stage", "StageConflict", "StageOutcome", "build_stages", "format_result", "pending",
           "read_record", "read_stage_json", "run_pipeline", "run_stages", "stage_output"]
