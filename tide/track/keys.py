"""The key names every run logs, whatever its model: training curves, generation telemetry, evaluation.

One set of names serves the pipeline's W&B run, standalone `make train` / `make evaluate`, the sweep's
results table and W&B's sweep controller, so runs of different models share panels and a sweep metric:

    train/loss, train/val_loss, train/lr, train/grad_norm, train/epoch, train/tokens_per_s  (step = training step)
    train/steps, train/final_loss, train/final_val_loss, train/tokens_seen, train/mfu       (summary)
    generate/<condition>/rows, .../rows_per_s, .../tokens_per_s, .../mean_reply_tokens, .../mfu
    eval/<metric>/mean, eval/<metric>/ci_low, eval/<metric>/ci_high   the run's own condition
    eval/<condition>/<metric>, eval/gain/<metric>, eval/safety/pass_rate, eval/rows
"""

from __future__ import annotations

# Which condition's means are a run's headline metrics: the one it trained for, when it did.
HEADLINE_CONDITIONS = ("finetuned", "zero_shot")
TRAIN_CURVES = ("loss", "val_loss", "lr", "grad_norm", "epoch", "tokens_per_s")


def training_keys(record: dict) -> dict:
    """One training step's record (tide/train/loop.py) as W&B keys; the step itself is W&B's step."""
    return {f"train/{name}": record[name] for name in TRAIN_CURVES if record.get(name) is not None}


def training_summary_keys(summary: dict) -> dict:
    """A training summary (train_summary.json) as summary keys."""
    telemetry = summary.get("telemetry") or {}
    values = {"train/steps": summary.get("steps"), "train/total_steps": summary.get("total_steps"),
              "train/final_loss": summary.get("final_train_loss"),
              "train/final_val_loss": summary.get("final_val_loss"),
              "train/tokens_seen": summary.get("tokens_seen"), "train/step_time_s": summary.get("step_time_s"),
              "train/padding_fraction": summary.get("padding_fraction"), "train/mfu": telemetry.get("mfu"),
              "train/flops_per_s_per_device": telemetry.get("flops_per_second_per_device")}
    return {key: value for key, value in values.items() if is_number(value)}


def generation_keys(results: dict) -> dict:
    """The generation stage's summary per condition (tide/generate) as keys."""
    keys = {}
    for condition, result in results.items():
        telemetry = result.get("telemetry") or {}
        values = {"rows": result.get("rows"), "generated": result.get("generated"), "errors": result.get("errors"),
                  "rows_per_s": result.get("rows_per_s"), "mean_reply_tokens": result.get("mean_reply_tokens"),
                  "tokens_per_s": telemetry.get("tokens_per_s"), "mfu": telemetry.get("mfu")}
        keys.update({f"generate/{condition}/{name}": value for name, value in values.items() if is_number(value)})
    return keys


def evaluation_keys(summary: dict) -> dict:
    """An evaluation summary (eval/summary.json) as flat, model-independent keys.

    `eval/<metric>/mean` (and ci_low, ci_high) is the run's own condition: fine-tuned when the run
    trained, zero-shot otherwise, so the zero-shot and fine-tuned runs of a sweep rank on one column.
    Every condition's means (`eval/<condition>/<metric>`) and the fine-tuning gains (`eval/gain/<metric>`)
    come along. Raises ValueError when no generation was scored.
    """
    by_condition = {group["condition"]: group for group in summary.get("by_model_condition", [])}
    if not by_condition:
        raise ValueError("the evaluation summary has no by_model_condition means (no generation was scored)")
    own_condition = next((c for c in HEADLINE_CONDITIONS if c in by_condition), next(iter(by_condition)))
    own = by_condition[own_condition]
    keys = {"eval/rows": summary.get("rows"), "eval/failed_generations": summary.get("failed_generations")}
    for name in summary["metrics"]:
        keys.update({f"eval/{name}/{stat}": own[name][stat] for stat in ("mean", "ci_low", "ci_high")})
        keys.update({f"eval/{condition}/{name}": group[name]["mean"] for condition, group in by_condition.items()})
    keys.update({f"eval/gain/{test['metric']}": test["mean_gain"] for test in summary.get("paired_tests", [])})
    for row in summary.get("safety") or []:
        if row["condition"] == own_condition:
            keys.update({"eval/safety/pass_rate": row["pass_rate"],
                         "eval/safety/referral_rate_at_risk": row["referral_rate_at_risk"]})
    return flatten(keys)


def flatten(tree: dict, prefix: str = "") -> dict:
    """Numeric leaves of a nested dict, keys joined with '/'."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        elif is_number(value):
            flat[f"{prefix}{key}"] = value
    return flat


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
