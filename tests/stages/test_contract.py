"""The stage contract on small stand-in stages that write files: fingerprints, records, reruns, refusal, force."""

import json

import pytest

from tide.stages.contract import RECORD_DIR, Stage, StageConflict, changed_settings, pending, run_stages


def chain(tmp_path, first: dict, second: dict, ran: list) -> list[Stage]:
    def writer(name, settings):
        def run():
            ran.append(name)
            (tmp_path / name).write_text(json.dumps(settings))
            return {"wrote": name}
        return run

    return [Stage("a", first, {}, (str(tmp_path / "a"),), writer("a", first), replaceable=(str(tmp_path / "a"),)),
            Stage("b", second, {"a": str(tmp_path / "a")}, (str(tmp_path / "b"),), writer("b", second), after=("a",),
                  replaceable=(str(tmp_path / "b"),))]


def test_complete_stages_are_skipped_and_a_missing_output_reruns_that_stage_and_later_ones(tmp_path):
    ran = []
    outcomes = run_stages(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"] and [o.ran for o in outcomes] == [True, True]
    assert json.loads((tmp_path / RECORD_DIR / "b.json").read_text())["result"] == {"wrote": "b"}
    run_stages(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"]
    (tmp_path / "a").unlink()
    assert pending(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path) == ["a", "b"]
    run_stages(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b", "a", "b"]


def test_other_settings_are_refused_with_what_changed_and_replaced_with_force(tmp_path):
    ran = []
    run_stages(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path)
    with pytest.raises(StageConflict, match=r"holds b results made with other settings \(y: 1 -> 2\).*pipeline.force"):
        run_stages(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path)
    with pytest.raises(StageConflict, match=r"holds a results .*\(x: 1 -> 5\)"):
        run_stages(chain(tmp_path, {"x": 5}, {"y": 1}, ran), tmp_path)
    assert ran == ["a", "b"] and json.loads((tmp_path / "b").read_text()) == {"y": 1}  # nothing touched

    assert pending(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path) == ["b"]
    run_stages(chain(tmp_path, {"x": 1}, {"y": 2}, ran), tmp_path, force=True)
    assert ran == ["a", "b", "b"] and json.loads((tmp_path / "b").read_text()) == {"y": 2}
    # an upstream change changes every later fingerprint: both rerun
    assert pending(chain(tmp_path, {"x": 5}, {"y": 2}, ran), tmp_path) == ["a", "b"]


def test_a_failed_stage_leaves_no_record_so_it_runs_again(tmp_path):
    ran = []
    stages = chain(tmp_path, {"x": 1}, {"y": 1}, ran)

    def broken():
        raise RuntimeError("stage b failed")

    stages[1].run = broken
    with pytest.raises(RuntimeError, match="stage b failed"):
        run_stages(stages, tmp_path)
    assert not (tmp_path / RECORD_DIR / "b.json").exists()
    assert pending(chain(tmp_path, {"x": 1}, {"y": 1}, ran), tmp_path) == ["b"]


def test_changed_settings_name_dotted_keys():
    assert changed_settings({"train": {"lr": 1, "r": 4}}, {"train": {"lr": 2, "r": 4}, "new": 1}) == [
        "new: (unset) -> 1", "train.lr: 1 -> 2"]
