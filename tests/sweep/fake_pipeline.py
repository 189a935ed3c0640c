"""A stand-in for `python -m launch.pipeline`: honours run.dir, appends progress, writes the evaluate stage's
summary and its stage record (what tide.stages.runner writes once the stage is done)."""

import json
import sys
import time
from pathlib import Path

from tide.core.files import write_json_atomic
from tide.stages.records import record_path


def main(argv: list[str]) -> int:
    overrides = dict(arg.split("=", 1) for arg in argv)
    run_dir = Path(overrides["run.dir"])
    print(f"fake pipeline in {run_dir} with {len(argv)} overrides")
    if overrides.get("pipeline.condition") == "broken":
        print("Traceback: the stage failed", file=sys.stderr)
        return 3
    with open(run_dir / "progress.jsonl", "a") as progress:
        for step in (1, 2):
            progress.write(json.dumps({"train/loss": 1.0 / step, "train/step": step, "note": "text is skipped"}) + "\n")
            progress.flush()
            time.sleep(0.1)
    (run_dir / "eval").mkdir(exist_ok=True)
    # The shape tide/evaluate writes: one group per model x condition, paired tests, other sections.
    def group(condition, cosine):
        return {"model": "tiny", "condition": condition, "rows": 20,
                "cosine": {"mean": cosine, "ci_low": cosine - 0.1, "ci_high": cosine + 0.1},
                "bleu": {"mean": 12.0, "ci_low": 10.0, "ci_high": 14.0}}

    conditions = ["zero_shot"] if overrides.get("pipeline.condition") == "zero_shot" else ["zero_shot", "finetuned"]
    summary = {"rows": 20 * len(conditions), "failed_generations": 0, "metrics": ["cosine", "bleu"],
               "by_model_condition": [group(c, 0.4 if c == "zero_shot" else 0.6) for c in conditions],
               "paired_tests": [{"model": "tiny", "metric": "cosine", "mean_gain": 0.2}] if len(conditions) > 1 else [],
               "disclaimer": "supplement, never replace, clinical care", "safety": None}
    (run_dir / "eval" / "summary.json").write_text(json.dumps(summary))
    write_json_atomic(record_path(run_dir, "evaluate"), {
        "stage": "evaluate", "fingerprint": "fake", "settings": {}, "inputs": {}, "after": {},
        "outputs": {"summary": str(run_dir / "eval" / "summary.json")}, "result": {"rows": summary["rows"]}})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
