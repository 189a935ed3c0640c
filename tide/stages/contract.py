"""The stage contract: what a stage reads, the settings that shape it, what it writes, and when it is done.

A stage is one object (tide/stages/{data,train,generate,evaluate}.py) holding the typed config slices
it needs. It declares its inputs (artifact paths), the settings that shape its output (plain values),
its named outputs, and the earlier stages whose outputs it reads; it runs, logs an already complete
result into a tracker, and describes an outcome in one line. Its fingerprint hashes its settings, its
input paths and those earlier stages' fingerprints, so a changed setting changes the fingerprint of the
stage it shapes and of every stage after it. A stage is complete when its record,
`<run.dir>/stages/<name>.json`, holds the same fingerprint, its outputs exist, and what the earlier stages
made is still what it read: each record keeps what its stage made (`made(result)`) and what the stages it
reads from had made when it ran, so an earlier stage made again since (by a one-stage command, with the
same settings but, say, changed source files) makes it stale (tide/stages/runner.py).

Settings that change how fast a stage runs but not what it writes (batch sizes, actor counts, logging)
stay out of its settings, so changing them reruns nothing.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import ClassVar


class StageConflict(RuntimeError):
    """The run directory holds a stage's results made with other settings."""


class Stage(ABC):
    name: ClassVar[str]
    logs: ClassVar[bool] = True   # whether it logs into the run's tracker (a command of stages that don't opens none)

    @classmethod
    @abstractmethod
    def from_config(cls, config) -> "Stage | None":
        """This stage for a run's whole config (a tide.config.TideConfig), or None when the run skips it."""

    @abstractmethod
    def settings(self) -> dict:
        """The plain values that shape the output (what the fingerprint hashes, with the inputs)."""

    @abstractmethod
    def inputs(self) -> dict[str, str]:
        """Artifact paths it reads: {what: path}."""

    @abstractmethod
    def outputs(self) -> dict[str, str]:
        """What it writes, by name ({"summary": path, ...}); all must exist for it to be complete."""

    def after(self) -> tuple[str, ...]:
        """The earlier stages whose outputs it reads (their fingerprints enter its own)."""
        return ()

    def replaceable(self) -> tuple[str, ...]:
        """Outputs removed before a forced rerun (never ones shared with other runs)."""
        return tuple(self.outputs().values())

    def intact(self, result: dict) -> bool:
        """Whether its outputs are still what the record says (a shared output may have been replaced)."""
        return True

    @abstractmethod
    def run(self, tracker) -> dict:
        """Do the work, logging live into `tracker`; returns the result kept in the record (JSON-safe)."""

    def log_complete(self, result: dict, tracker) -> None:
        """An already complete stage: log its outputs into this run under the keys a fresh run logs."""

    def made(self, result: dict) -> str:
        """What identifies what a run of it made, from its result (later stages' records keep it: when it
        changes, they are stale). By default a hash of the result."""
        return hashlib.sha256(json.dumps(result, sort_keys=True, default=str).encode()).hexdigest()

    def describe(self, result: dict) -> str:
        """One line on what a run of it did."""
        return "done"

    def fingerprint(self, upstream: dict[str, str]) -> str:
        payload = {"stage": self.name, "settings": self.settings(), "inputs": self.inputs(),
                   "after": {name: upstream[name] for name in self.after()}}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
