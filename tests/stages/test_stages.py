"""The stage objects built from typed configs: which stages a run has, what each reads, and what their
fingerprints cover (settings, not execution knobs; the trained mechanism scorer; where inputs come from)."""

import json
import shutil

import pytest

from tests.configs import config_for
from tide.evaluate import mechanisms
from tide.stages import build_stages
from tide.stages.evaluate import EvaluateStage
from tide.stages.pipeline import pipeline_config
from tide.stages.runner import changed_settings


def names(config, target=None) -> list[str]:
    return [stage.name for stage in build_stages(pipeline_config(config), target)]


def test_a_run_has_its_condition_s_stages_and_a_command_runs_one_with_what_it_reads():
    finetuned, zero_shot = config_for("experiment=smoke"), config_for("experiment=smoke", **{"pipeline.condition": "zero_shot"})
    assert names(finetuned) == ["data", "train", "generate", "evaluate"]
    assert names(zero_shot) == ["data", "generate", "evaluate"]
    assert names(finetuned, "train") == ["data", "train"] and names(finetuned, "data") == ["data"]
    assert names(finetuned, "generate") == ["data", "train", "generate"]
    assert names(zero_shot, "evaluate") == ["data", "generate", "evaluate"]
    with pytest.raises(ValueError, match="stage 'train' is not part of this run .*pipeline.condition=zero_shot"):
        names(zero_shot, "train")


def test_inputs_made_elsewhere_are_paths_not_stages_of_this_run(tmp_path):
    other = str(tmp_path / "other-run")
    rescoring = config_for("experiment=smoke", **{"eval.generations_dir": f"{other}/generations"})
    assert names(rescoring, "evaluate") == ["data", "evaluate"]  # another run's replies: no generation here
    adapter_elsewhere = config_for("experiment=smoke", **{"generate.adapter_dir": f"{other}/adapter"})
    assert names(adapter_elsewhere, "generate") == ["data", "generate"]
    [*_, generate] = build_stages(pipeline_config(adapter_elsewhere), "generate")
    assert generate.inputs()["weights"] == f"{other}/adapter"


def test_execution_settings_stay_out_of_the_fingerprints():
    base = build_stages(pipeline_config(config_for("experiment=smoke")))
    faster = build_stages(pipeline_config(config_for("experiment=smoke", **{
        "generate.shard_rows": 3, "eval.batch_size": 8, "train.log_every_steps": 1, "generate.concurrency": 1})))
    assert [stage.settings() for stage in base] == [stage.settings() for stage in faster]
    steps = build_stages(pipeline_config(config_for("experiment=smoke", **{"train.max_steps": 5})))
    assert [a.settings() == b.settings() for a, b in zip(base, steps)] == [True, False, True, True]


def evaluate_settings(tmp_path, mechanisms_on: bool = True) -> dict:
    config = config_for("experiment=smoke", **{"eval.mechanisms": mechanisms_on,
                                               "eval.output_dir": str(tmp_path / "eval")})
    return EvaluateStage.from_config(config).settings()


def test_a_retrained_mechanism_scorer_changes_the_evaluation_fingerprint(tmp_path, monkeypatch):
    scorer = tmp_path / "scorer"
    shutil.copytree(mechanisms.SCORER_DIR, scorer)
    monkeypatch.setattr(mechanisms, "SCORER_DIR", scorer)
    before = evaluate_settings(tmp_path)
    assert before == evaluate_settings(tmp_path)  # same files, same fingerprint
    meta = json.loads((scorer / mechanisms.META_FILE).read_text())
    meta["thresholds"]["explorations"] += 0.01
    (scorer / mechanisms.META_FILE).write_text(json.dumps(meta))
    after = evaluate_settings(tmp_path)
    assert [line.split(":")[0] for line in changed_settings(before, after)] == ["mechanism_scorer"]
    assert "mechanism_scorer" not in evaluate_settings(tmp_path, mechanisms_on=False)
