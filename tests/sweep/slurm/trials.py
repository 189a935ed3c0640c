"""A trial function for the Slurm tests: records its Ray node, then waits for its sibling trials to start,
so the trials of a sweep overlap however slowly a loaded machine starts Ray actors (otherwise Tune may
reuse one finished trial's actor, on one node, for the next)."""

import time
from pathlib import Path

from tests.sweep.fakes import scored_trial

OVERLAP = 2          # trials that run at once: one per node
WAIT_S = 120


def overlapping_node_trial(overrides: list[str], trial_dir: Path, report) -> dict:
    import ray

    (trial_dir / f"node-{ray.get_runtime_context().get_node_id()}").write_text(str(trial_dir))
    deadline = time.monotonic() + WAIT_S
    while len(list(trial_dir.parent.glob("*/node-*"))) < OVERLAP and time.monotonic() < deadline:
        time.sleep(0.2)
    return scored_trial(overrides, trial_dir, report)
