"""The stage contract on small stand-in stages that write files: fingerprints, records, reruns, refusal, force."""

import json
from pathlib import Path
from dataclasses import dataclass, field

import pytest

from tide.core.domain import STAGE_RECORD_DIR
from tide.stages import Stage, StageConflict, pending, read_record, run_stages, stage_output
from tide.stages.runner import changed_settings
from tide.track import TrackedRun


@dataclass(frozen=True)
class Writer(Stage):
    """Writes its settings to <root>/<name>; reads the stages in `upstream`."""
    name: str
    root: str
    values: dict
    upstream: tuple[str, ...] = ()
    ran: list = field(default_factory=list, compare=False)
    fail: bool = False

    @classmethod
    def from_config(cls, config):
        raise TypeError("a test stand-in: the tests build it directly, never from a config")

    def settings(self) -> dict:
        return self.values

    def inputs(self) -> dict[str, str]:
        return {name: f"{self.root}/{name}" for name in self.upstream}

    def outputs(self) -> dict[str, str]:
        return {"written": f"{self.root}/{self.name}"}

    def after(self) -> tuple[str, ...]:
        return self.upstream

    def run(self, tracker) -> dict:
        if self.fail:
            raise RuntimeError(f"stage {self.name} failed")
        self.ran.append(self.name)
        with open(self.outputs()["written"], "w") as handle:
            json.dump(self.values, handle)
        return {"wrote": self.name}


def chain(tmp_path, first: dict, second: dict, ran: list, fail_second: bool = False) -> list[Stage]:
    return [Writer("a", str(tmp_path), first, ran=ran),
            Writer("b", str(tmp_path), second, ("a",), ran=ran, fail=fail_second)]


def run(stages, tmp_path, force=False):
    return run_stages(stages, tmp_path, TrackedRun(None), force=force)


def test_complete_stages_are_skipped_and_a_missing_output_reruns_that_stage_and_later_ones(tmp_path):
    ran = []
    outcomes = run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"] and [o.ran for o in outcomes] == [True, True]
    record = json.loads((tmp_path / STAGE_RECORD_DIR / "b.json").read_text())
    assert record["result"] == {"wrote": "b"} and record["outputs"] == {"written": str(tmp_path / "b")}
    assert stage_output(tmp_path, "b", "written") == tmp_path / "b" and stage_output(tmp_path, "b", "other") is None
    run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"]
    (tmp_path / "a").unlink()
    assert stage_output(tmp_path, "a", "written") is None  # a record whose output is gone names nothing
    assert pending(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path) == ["a", "b"]
    run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b", "a", "b"]


def test_other_settings_are_refused_with_what_changed_and_replaced_with_force(tmp_path):
    ran = []
    run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    with pytest.raises(StageConflict, match=r"holds b results made with other settings \(y: 1 -> 2\).*pipeline.force"):
        run(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path)
    with pytest.raises(StageConflict, match=r"holds a results .*\(x: 1 -> 5\)"):
        run(chain(tmp_path, {"x": 5}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"] and json.loads((tmp_path / "b").read_text()) == {"y": 1}  # nothing touched

    assert pending(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path) == ["b"]
    run(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path, force=True)
    assert ran == ["a", "b", "b"] and json.loads((tmp_path / "b").read_text()) == {"y": 2}
    # an upstream change changes every later fingerprint: both rerun
    assert pending(chain(tmp_path, {"x": 5}, {"y": 2}, ran), tmp_path) == ["a", "b"]


def test_a_failed_stage_leaves_no_record_so_it_runs_again(tmp_path):
    ran = []
    with pytest.raises(RuntimeError, match="stage b failed"):
        run(chain(tmp_path, {"x": 1}, {"y": 1}, ran, fail_second=True), tmp_path)
    assert read_record(tmp_path, "b") is None and read_record(tmp_path, "a")["result"] == {"wrote": "a"}
    assert pending(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path) == ["b"]


def test_changed_settings_name_dotted_keys():
    assert changed_settings({"train": {"lr": 1, "r": 4}}, {"train": {"lr": 2, "r": 4}, "new": 1}) == [
        "new: (unset) -> 1", "train.lr: 1 -> 2"]


def test_a_record_from_before_outputs_were_named_is_upgraded_when_its_stage_is_complete(tmp_path):
    ran = []
    run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    path = tmp_path / STAGE_RECORD_DIR / "b.json"
    old = {**json.loads(path.read_text()), "outputs": [str(tmp_path / "b")]}  # the earlier layout: a list
    path.write_text(json.dumps(old))
    assert stage_output(tmp_path, "b", "written") is None
    outcomes = run(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"] and not any(o.ran for o in outcomes)  # still complete: nothing reran
    assert stage_output(tmp_path, "b", "written") == tmp_path / "b"
    assert json.loads(path.read_text()) == {**old, "outputs": {"written": str(tmp_path / "b")}}


@dataclass(frozen=True)
class QuietWriter(Writer):
    logs = False  # like the data stage: logs nothing into the run


class Recorder(TrackedRun):
    """A deferred tracker that notes when the runner opens it and how it ends."""

    def __init__(self):
        super().__init__(None)
        self.events = []

    def open(self):
        self.events.append("open")

    def fail(self, error, stage=None):
        self.events.append(("fail", stage, str(error)))


def test_the_tracker_opens_with_the_first_stage_that_logs_and_a_failed_stage_marks_it(tmp_path):
    ran, tracker = [], Recorder()
    quiet_fails = [QuietWriter("a", str(tmp_path), {"x": 1}, ran=ran, fail=True), Writer("b", str(tmp_path), {}, ("a",))]
    with pytest.raises(RuntimeError, match="stage a failed"):
        run_stages(quiet_fails, tmp_path, tracker)
    assert tracker.events == [("fail", "a", "stage a failed")]  # never opened: no W&B run

    tracker = Recorder()
    stages = [QuietWriter("a", str(tmp_path), {"x": 1}, ran=ran), Writer("b", str(tmp_path), {"y": 1}, ("a",), fail=True)]
    with pytest.raises(RuntimeError, match="stage b failed"):
        run_stages(stages, tmp_path, tracker)
    assert ran == ["a"] and tracker.events == ["open", ("fail", "b", "stage b failed")]


def test_a_stage_command_then_the_whole_run_reruns_or_refuses_as_the_whole_run_would(tmp_path):
    """A one-stage command (the stage and those it reads from) writes the same records: forced there with other
    settings, the whole run then refuses (never reports the stage complete), and reruns what is stale when forced."""
    ran = []

    def stages(second, third=None):
        whole = [*chain(tmp_path, {"x": 1}, second, ran), Writer("c", str(tmp_path), third or {"z": 1}, ("b",), ran=ran)]
        return whole if third is not None else whole[:2]

    run(stages({"y": 1}, {"z": 1}), tmp_path)
    run(stages({"y": 2}), tmp_path, force=True)  # `launch.<b> b.y=2 pipeline.force=true`
    assert ran == ["a", "b", "c", "b"]
    with pytest.raises(StageConflict, match=r"holds b results made with other settings \(y: 2 -> 1\)"):
        run(stages({"y": 1}, {"z": 1}), tmp_path)
    with pytest.raises(StageConflict, match=r"holds c results .*an earlier stage changed \(b\)"):
        run(stages({"y": 2}, {"z": 1}), tmp_path)
    assert pending(stages({"y": 2}, {"z": 1}), tmp_path) == ["c"]
    run(stages({"y": 2}, {"z": 1}), tmp_path, force=True)
    assert ran == ["a", "b", "c", "b", "c"] and read_record(tmp_path, "c")["after"]["b"] == read_record(
        tmp_path, "b")["fingerprint"]


@dataclass(frozen=True)
class SourceReader(Writer):
    """Reads <root>/source (a source file outside the settings, as the data stage reads TIDE's files)."""

    def run(self, tracker) -> dict:
        self.ran.append(self.name)
        source = (Path(self.root) / "source").read_text()
        (Path(self.root) / self.name).write_text(source)
        return {"source": source, "ran": len(self.ran)}

    def made(self, result: dict) -> str:
        return result["source"]  # what it made, not how (as the data stage's content fingerprint)


def test_an_earlier_stage_made_again_by_itself_makes_the_later_ones_stale(tmp_path):
    """`launch.data` alone rebuilds from changed source files (same settings): the next whole run reruns the
    later stages, from scratch, instead of reporting them complete; made again the same, nothing reruns."""
    ran = []

    def stages():
        return [SourceReader("a", str(tmp_path), {"x": 1}, ran=ran), Writer("b", str(tmp_path), {"y": 1}, ("a",), ran=ran)]

    (tmp_path / "source").write_text("v1")
    run(stages(), tmp_path)
    assert read_record(tmp_path, "b")["upstream"] == {"a": "v1"} and read_record(tmp_path, "a")["made"] == "v1"
    (tmp_path / "source").write_text("v2")
    (tmp_path / "a").unlink()
    run(stages()[:1], tmp_path)  # the one-stage command makes a again
    assert ran == ["a", "b", "a"] and pending(stages(), tmp_path) == ["b"]
    outcomes = run(stages(), tmp_path)
    assert [o.ran for o in outcomes] == [False, True] and read_record(tmp_path, "b")["upstream"] == {"a": "v2"}

    (tmp_path / "a").unlink()
    run(stages()[:1], tmp_path)  # made again from the same source: the same thing
    assert pending(stages(), tmp_path) == [] and ran == ["a", "b", "a", "b", "a"]
