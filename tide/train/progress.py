"""Training progress from rank 0 to the driver, as it happens: W&B curves and run.dir/progress.jsonl.

Only the driver talks to W&B (one run per pipeline run, also when the workers sit on other nodes):
rank 0 puts each step's record into a Ray queue (an actor, so it works across nodes); a thread on the
driver takes them out, logs them with step = training step, and appends one line per validation to
`run.dir/progress.jsonl` ({"train/step": 20, "train/val_loss": 2.1, ...}). A sweep trial reports each
of those lines to Ray Tune as one intermediate result (tide/sweep/trial.py), which is what early
termination acts on; online, W&B's controller sees the same `train/val_loss` in the run's history.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tide.track.keys import training_keys

POLL_SECONDS = 0.5


class ProgressLog:
    """Step records into the tracker and the progress file. The bare runner (one process, no Ray) hands it to
    its worker as the progress queue itself: `put` logs at once."""

    def __init__(self, tracker, progress_path: Path):
        self.tracker, self.path = tracker, Path(progress_path)
        self.last_step = 0

    def put(self, record: dict) -> None:
        self.handle(record)

    def handle(self, record: dict) -> None:
        # A restored attempt repeats the steps after its checkpoint: W&B keeps the first of each step.
        if record["step"] <= self.last_step:
            return
        self.last_step = record["step"]
        keys = training_keys(record)
        self.tracker.log(keys, step=record["step"])
        if record.get("val_loss") is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:  # a log: readers take whole lines only
                handle.write(json.dumps({"train/step": record["step"], **keys}) + "\n")


class ProgressRelay(ProgressLog):
    """The driver's end under Ray: owns the queue the workers put into, drains it into the log."""

    def __init__(self, tracker, progress_path: Path):
        from ray.util.queue import Queue

        super().__init__(tracker, progress_path)
        self.queue = Queue(actor_options={"num_cpus": 0})  # the workers hold every CPU the trial has
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="training-progress", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        from ray.util.queue import Empty

        while not self._stop.is_set():
            try:
                self.handle(self.queue.get(timeout=POLL_SECONDS))
            except Empty:
                continue

    def close(self) -> None:
        """Stop the thread, handle what is still queued, remove the queue."""
        self._stop.set()
        self._thread.join()
        while not self.queue.empty():
            self.handle(self.queue.get_nowait())
        self.queue.shutdown()


def replay_history(tracker, summary: dict) -> None:
    """A finished training's curves (train_summary.json's loss_history) into a new run, at their steps."""
    for record in summary.get("loss_history", []):
        tracker.log(training_keys(record), step=record["step"])
