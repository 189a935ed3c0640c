"""The evaluate stage: score the generated replies against the references (tide/evaluate).

    settings  eval.* that shape the scores (metrics, encoders, statistics, judge) + the mechanism scorer's and
              the risk detector's arrays
    outputs   eval.output_dir/summary.json, eval.output_dir/metrics.parquet (+ safety_flags.csv with eval.safety)
Reads the generate stage's replies when eval.generations_dir is that stage's output; replies generated
elsewhere (another run's) are an input path like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tide.config import EvalConfig, GenerateConfig, to_plain
from tide.core.domain import EVAL_SUMMARY_FILE, METRICS_FILE, SAFETY_FLAGS_FILE
from tide.stages.contract import Stage

# How the evaluation runs, not what it writes: left out of the fingerprint.
EVAL_EXECUTION = ("batch_size", "shard_rows", "concurrency", "cpus_per_actor", "sample_table_rows")


@dataclass(frozen=True)
class EvaluateStage(Stage):
    eval: EvalConfig
    generate: GenerateConfig
    data_dir: str
    judge_model: Callable | None = field(default=None, compare=False)  # replaces the judge's model (tests)
    name = "evaluate"

    @classmethod
    def from_config(cls, config) -> "EvaluateStage":
        return cls(config.eval, config.generate, config.data.artifact_dir)

    def settings(self) -> dict:
        plain = to_plain(self.eval)
        settings = {"eval": {key: value for key, value in plain.items() if key not in EVAL_EXECUTION}}
        if self.eval.mechanisms:
            from tide.evaluate.mechanisms import scorer_fingerprint

            settings["mechanism_scorer"] = scorer_fingerprint()  # the trained arrays shape the scores as settings do
        if self.eval.safety:
            from tide.evaluate.risk import risk_fingerprint

            settings["risk_detector"] = risk_fingerprint()  # so does the client risk detector
        return settings

    def inputs(self) -> dict[str, str]:
        return {"generations": self.eval.generations_dir, "data": self.data_dir}

    def outputs(self) -> dict[str, str]:
        out_dir = Path(self.eval.output_dir)
        outputs = {"summary": str(out_dir / EVAL_SUMMARY_FILE), "metrics": str(out_dir / METRICS_FILE)}
        if self.eval.safety:
            outputs["safety_flags"] = str(out_dir / SAFETY_FLAGS_FILE)  # every flag, for a clinician to read
        return outputs

    def after(self) -> tuple[str, ...]:
        same = Path(self.eval.generations_dir) == Path(self.generate.output_dir)
        return ("data", "generate") if same else ("data",)

    def replaceable(self) -> tuple[str, ...]:
        return (self.eval.output_dir,)

    def run(self, tracker) -> dict:
        from tide.evaluate.pipeline import evaluate

        summary = evaluate(self.eval, self.data_dir, self.generate, tracker, judge_model=self.judge_model)
        return {"rows": summary["rows"], "summary": self.outputs()["summary"]}

    def log_complete(self, result: dict, tracker) -> None:
        import pandas as pd

        from tide.evaluate.pipeline import log_evaluation

        outputs = self.outputs()
        summary = json.loads(Path(outputs["summary"]).read_text())
        log_evaluation(self.eval, summary, pd.read_parquet(outputs["metrics"]), tracker)

    def describe(self, result: dict) -> str:
        return f"{result['rows']} replies scored"
