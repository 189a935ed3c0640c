"""The stages of a run (data, train, generate, evaluate) under one contract, and the pipeline that chains them."""

from tide.stages.contract import Stage, StageConflict, StageOutcome, run_stages
from tide.stages.pipeline import format_result, run_pipeline

__all__ = ["Stage", "StageConflict", "StageOutcome", "format_result", "run_pipeline", "run_stages"]
