"""Trial functions for tests: fast, deterministic stand-ins for the pipeline (same signature)."""

import json
import os
import time
import uuid
from pathlib import Path


def parse(overrides: list[str]) -> dict:
    return dict(override.split("=", 1) for override in overrides)


def scored_trial(overrides: list[str], trial_dir: Path, report) -> dict:
    """Reports three training steps, then a score that prefers a larger LoRA rank. Leaves a marker per
    run with its overrides and the names (not values) of its environment variables."""
    params = parse(overrides)
    marker = {"overrides": params, "env_names": sorted(os.environ)}
    (trial_dir / f"ran-{uuid.uuid4().hex}").write_text(json.dumps(marker))
    rank = int(params.get("train.lora.r", 8))
    for step in range(1, 4):
        report({"train/loss": 2.0 / (step * rank), "train/step": step})
    delay = float(os.environ.get("FAKE_TRIAL_SECONDS", "0"))
    time.sleep(delay)
    return {"eval/cosine/mean": rank / 100, "eval/bleu": 0.1}


def failing_trial(overrides: list[str], trial_dir: Path, report) -> dict:
    params = parse(overrides)
    if params.get("train.lora.r") == "8":
        raise RuntimeError("pipeline exploded for r=8")
    return scored_trial(overrides, trial_dir, report)


def curve_trial(overrides: list[str], trial_dir: Path, report) -> dict:
    """Reports the sweep metric at every iteration (what early termination needs): bad ranks stay bad."""
    rank = int(parse(overrides)["train.lora.r"])
    for step in range(1, 9):
        report({"eval/cosine/mean": rank / 100 * (1 - 1 / (step + 1))})
    return {"eval/cosine/mean": rank / 100}


def node_trial(overrides: list[str], trial_dir: Path, report) -> dict:
    """Records the Ray node its trial runs on (in node-<id>), stays 3 s (so two trials overlap; a remote
    cluster's workers do not see the driver's FAKE_TRIAL_SECONDS), then scores like scored_trial."""
    import ray

    (trial_dir / f"node-{ray.get_runtime_context().get_node_id()}").write_text(str(trial_dir))
    time.sleep(3)
    return scored_trial(overrides, trial_dir, report)
