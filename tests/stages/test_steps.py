"""What the stages' fingerprints cover beyond the config: the trained mechanism scorer."""

import json
import shutil

from tide.evaluate import mechanisms
from tide.stages.contract import changed_settings
from tide.stages.steps import evaluate_stage


def stage_settings(tmp_path, mechanisms_on: bool = True) -> dict:
    config = {"eval": {"mechanisms": mechanisms_on, "output_dir": str(tmp_path / "eval"),
                       "generations_dir": str(tmp_path / "generations"), "batch_size": 64},
              "data": {"artifact_dir": str(tmp_path / "data")}}
    return evaluate_stage(config, tracker=None).settings


def test_a_retrained_mechanism_scorer_changes_the_evaluation_fingerprint(tmp_path, monkeypatch):
    scorer = tmp_path / "scorer"
    shutil.copytree(mechanisms.SCORER_DIR, scorer)
    monkeypatch.setattr(mechanisms, "SCORER_DIR", scorer)
    before = stage_settings(tmp_path)
    assert before == stage_settings(tmp_path)  # same files, same fingerprint
    meta = json.loads((scorer / mechanisms.META_FILE).read_text())
    meta["thresholds"]["explorations"] += 0.01
    (scorer / mechanisms.META_FILE).write_text(json.dumps(meta))
    after = stage_settings(tmp_path)
    assert [line.split(":")[0] for line in changed_settings(before, after)] == ["mechanism_scorer"]
    assert "mechanism_scorer" not in stage_settings(tmp_path, mechanisms_on=False)
