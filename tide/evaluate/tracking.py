"""An evaluation in the run's W&B run: the model-independent summary keys (tide/track/keys.py), the whole
summary as JSON, and a table of sample replies with their references and main scores.

The stage hands in its tracker (tide.track.TrackedRun); an inactive one (logger=none, or not rank 0)
logs nothing.
"""

from __future__ import annotations

import json

import pandas as pd

from tide.config import EvalConfig

SAMPLE_COLUMNS = ("dialogue_id", "model", "condition", "scenario", "client", "reply", "reference")
SAMPLE_SCORES = ("cosine", "bertscore_f1", "rouge_l", "factor_empathy", "mechanism_er", "mechanism_ip",
                 "mechanism_ex", "safety_pass", "judge_overall")
SUMMARY_JSON_CHARS = 100_000  # W&B summary values are kept small


def sample_table(scored: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n rows (seeded) with their texts and main scores, for the W&B table."""
    columns = [c for c in (*SAMPLE_COLUMNS, *SAMPLE_SCORES) if c in scored]
    return scored.sample(n=min(n, len(scored)), random_state=seed)[columns].sort_values(["dialogue_id", "condition"])


def log_evaluation(eval: EvalConfig, summary: dict, frame: pd.DataFrame, tracker) -> None:
    """Log a complete evaluation (its summary and per-reply metrics frame) into `tracker`: a table of
    eval.sample_table_rows sample dialogues, the summary keys, and the summary JSON in the run summary."""
    from tide.evaluate.summary import json_safe
    from tide.track.keys import evaluation_keys

    if not tracker.active:
        return
    tracker.table("eval/samples", sample_table(frame, eval.sample_table_rows, eval.seed))
    tracker.log(evaluation_keys(summary))
    tracker.summary({"eval/summary_json": json.dumps(json_safe(summary))[:SUMMARY_JSON_CHARS]})
