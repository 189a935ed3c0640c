"""Evaluated run directories as the evaluate stage leaves them (eval/metrics.parquet + its stage record),
with replies a study can be drawn from: two models x two conditions, three scenarios."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests.report.records import record_stage

MODELS = ("alpha-lm", "beta-lm")
CONDITIONS = ("zero_shot", "finetuned")
SCENARIOS = ("trouble sleeping", "panic in public", "feeling numb")
OPENERS = ("That sounds exhausting.", "I'm sorry it has been so hard.", "It makes sense you feel this way.",
           "Thank you for telling me.", "That is a lot to carry.")


def client_turn(index: int, scenario: str) -> str:
    return f"Since the accident I keep {scenario} (story {index}). Everyone says I should be over it by now."


def metrics_rows(model: str, condition: str, dialogues: int, unblinding: int | None = None) -> list[dict]:
    rows = []
    for index in range(dialogues):
        scenario = SCENARIOS[index % len(SCENARIOS)]
        reply = f"{OPENERS[(index + len(model)) % len(OPENERS)]} Feeling {scenario} after what happened is " \
                f"understandable; would it help to talk about one night this week? ({model[0]}{condition[0]}{index})"
        if index == unblinding:  # a reply that names its own model would unblind whoever reads it
            reply = f"As {model}, I understand."
        rows.append({"dialogue_id": f"{index}-1", "model": model, "condition": condition, "scenario": scenario,
                     "client": client_turn(index, scenario), "reply": reply,
                     "reference": f"It is understandable to feel this way about {scenario}. You are not alone "
                                  f"(frontier {index}).",
                     "cosine": 0.5, "error": None})
    return rows


def evaluated_run(root: Path, model: str, dialogues: int = 12, unblinding: int | None = None) -> Path:
    """One run directory per model, holding both conditions' scored replies."""
    run_dir = root / model
    (run_dir / "eval").mkdir(parents=True)
    rows = [row for condition in CONDITIONS for row in metrics_rows(model, condition, dialogues, unblinding)]
    pd.DataFrame(rows).to_parquet(run_dir / "eval" / "metrics.parquet")
    (run_dir / "eval" / "summary.json").write_text("{}")
    record_stage(run_dir, "evaluate", {"summary": run_dir / "eval" / "summary.json",
                                       "metrics": run_dir / "eval" / "metrics.parquet"})
    return run_dir


def evaluated_runs(root: Path, dialogues: int = 12, unblinding: int | None = None) -> list[Path]:
    return [evaluated_run(root / "runs", model, dialogues, unblinding) for model in MODELS]
