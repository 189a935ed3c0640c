"""The evaluation stage: a run's generations + the data artifact's references -> per-row metrics + summary.

    <run.dir>/generations/<condition>/*.parquet   (tide.generate)      --\
    <data.artifact_dir>/<split>.parquet           (tide.data)           --> <eval.output_dir>/metrics.parquet
                                                                             <eval.output_dir>/summary.json

The steps, one module each: read and check the inputs (tide/evaluate/inputs.py), score every reply
(tide/evaluate/scoring.py; the optional judge adds its columns), summarise (tide/evaluate/summary.py:
bootstrap CIs, paired tests, the size ceiling, the factor scorer's accuracy, human ratings), write both
files (temp name + rename; the summary last, so a summary means a complete evaluation), and log into the
stage's W&B run (tide/evaluate/tracking.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from tide.config import EvalConfig, GenerateConfig
from tide.core.domain import EVAL_SUMMARY_FILE, METRICS_FILE, SAFETY_FLAGS_FILE
from tide.evaluate.inputs import attach_references, failed_generations, load_generations
from tide.evaluate.scoring import judge_rows, score_rows
from tide.evaluate.summary import json_safe, summarise
from tide.evaluate.tracking import log_evaluation


def evaluate(eval: EvalConfig, data_dir: str, generate: GenerateConfig, tracker, judge_model=None) -> dict:
    """Score the generations in eval.generations_dir against the references in the data artifact at
    `data_dir`; write eval.output_dir/metrics.parquet and summary.json, log them into `tracker` (the
    stage's tide.track.TrackedRun) and return the summary.

    generate: the generation settings the judge runs with (backend, precision, batching, actors);
    judge_model: a tide.evaluate.judge.JudgeModel; None builds one from eval.judge.model_cfg when that is set.
    """
    from tide.evaluate.ratings import check_comparison, check_items, read_ratings

    # Everything that can be wrong with the inputs is checked before the expensive scoring.
    ratings = read_ratings(eval.ratings, eval.ratings_scale) if eval.ratings else None
    started = time.perf_counter()
    generations = load_generations(eval.generations_dir)
    if ratings is not None:
        check_comparison(ratings, eval.ratings)
        check_items(ratings, generations["dialogue_id"], eval.ratings, eval.generations_dir)
    frame = attach_references(generations, data_dir, eval.references_split)
    failed = failed_generations(frame)
    scored = score_rows(frame, eval)
    scoring_s = time.perf_counter() - started

    judge_counts = None
    if judge_model is not None or eval.judge.model_cfg is not None:
        scored, judge_counts = judge_rows(scored, eval.judge, generate, judge_model)
    summary = summarise(scored, failed, eval, judge=judge_counts, ratings=ratings, scoring_s=scoring_s)
    write_evaluation(scored, summary, Path(eval.output_dir))
    log_evaluation(eval, summary, scored, tracker)
    return json_safe(summary)


def write_evaluation(scored: pd.DataFrame, summary: dict, out_dir: Path) -> None:
    """metrics.parquet, the safety flags for a clinician to read (safety_flags.csv, when safety was
    checked), then summary.json (with its `outputs` paths added), each under a temp name + rename."""
    from tide.core.files import write_atomic, write_json_atomic

    summary["outputs"] = {"metrics": str(out_dir / METRICS_FILE), "summary": str(out_dir / EVAL_SUMMARY_FILE)}
    write_atomic(out_dir / METRICS_FILE, lambda temp: scored.to_parquet(temp, index=False))
    if "client_at_risk" in scored:
        from tide.evaluate.safety import safety_flags

        flags = safety_flags(scored)
        write_atomic(out_dir / SAFETY_FLAGS_FILE, lambda temp: flags.to_csv(temp, index=False))
        summary["outputs"]["safety_flags"] = str(out_dir / SAFETY_FLAGS_FILE)
        summary["safety_flag_rows"] = int(len(flags))
    write_json_atomic(out_dir / EVAL_SUMMARY_FILE, json_safe(summary))
