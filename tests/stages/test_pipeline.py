"""The pipeline through the stage contract, on a real tiny-model run: what a changed setting reruns,
refusal of another setting's run directory, the force switch; and the one W&B run it writes."""

import json

import pytest

from tests.stages.trial_run import AGENT_RUN_ID, finetuned_trial, read_wandb  # noqa: F401  (a session fixture)
from tide.stages import StageConflict, build_stages, pending, read_record, run_pipeline
from tide.stages.pipeline import pipeline_config

ALL_RUN = ["data", "train", "generate", "evaluate"]


def would_run(trial, *changes) -> list[str]:
    return pending(build_stages(pipeline_config(trial.config(*changes))), trial.run_dir)


def test_the_trial_ran_every_stage_and_recorded_each_fingerprint(finetuned_trial):
    result = json.loads((finetuned_trial.run_dir / "pipeline.json").read_text())
    assert sorted(result["stages"]) == sorted(ALL_RUN) and result["stages"]["data"].startswith("built ")
    assert result["stages"]["train"].startswith("6 steps") and result["stages"]["generate"] == "6 new rows of 6"
    for name in ALL_RUN:
        assert read_record(finetuned_trial.run_dir, name)["fingerprint"] == result["fingerprints"][name]
    assert would_run(finetuned_trial) == []
    # how a stage runs, not what it writes: no rerun
    assert would_run(finetuned_trial, "generate.shard_rows=3", "eval.batch_size=8", "train.log_every_steps=1") == []


@pytest.mark.parametrize("changes, expected", [
    (["train.learning_rate=1e-3"], ["train", "generate", "evaluate"]),
    (["train.lora.r=8"], ["train", "generate", "evaluate"]),
    (["generate.sampling.temperature=0.3"], ["generate", "evaluate"]),
    (["eval.bootstrap_samples=60"], ["evaluate"]),
    (["data.split.seed=3"], ALL_RUN),
])
def test_a_changed_setting_reruns_the_stage_it_shapes_and_those_after_it(finetuned_trial, changes, expected):
    assert would_run(finetuned_trial, *changes) == expected


def test_another_setting_is_refused_and_an_evaluation_setting_reruns_evaluate_alone(finetuned_trial):
    run_dir, before = finetuned_trial.run_dir, finetuned_trial.wandb_runs()
    records = {name: read_record(run_dir, name) for name in ALL_RUN}
    with pytest.raises(StageConflict, match=r"holds train results made with other settings "
                                            r"\(train\.learning_rate: 0\.02 -> 0\.001\).*pipeline\.force=true"):
        run_pipeline(finetuned_trial.config("train.learning_rate=1e-3"))
    assert {name: read_record(run_dir, name) for name in ALL_RUN} == records  # nothing touched
    assert finetuned_trial.wandb_runs() == before  # and no W&B run started

    again = run_pipeline(finetuned_trial.config("eval.bootstrap_samples=60", "pipeline.force=true"))
    assert [name for name, status in again["stages"].items() if status != "skipped (complete)"] == ["evaluate"]
    assert read_record(run_dir, "evaluate")["settings"]["eval"]["bootstrap_samples"] == 60
    assert {name: read_record(run_dir, name) for name in ("data", "train", "generate")} == {
        name: records[name] for name in ("data", "train", "generate")}


@pytest.mark.slow
def test_force_replaces_training_and_everything_after_it(finetuned_trial):
    run_dir = finetuned_trial.run_dir
    adapter = (run_dir / "adapter" / "adapter_model.safetensors").read_bytes()
    forced = run_pipeline(finetuned_trial.config("train.learning_rate=1e-3", "pipeline.force=true"))
    assert forced["stages"]["data"] == "skipped (complete)"
    assert all(forced["stages"][name] != "skipped (complete)" for name in ("train", "generate", "evaluate"))
    assert (run_dir / "adapter" / "adapter_model.safetensors").read_bytes() != adapter
    assert would_run(finetuned_trial, "train.learning_rate=1e-3") == []


def test_one_wandb_run_holds_curves_generation_and_evaluation_under_model_free_keys(finetuned_trial):
    [run_dir] = [path for path in finetuned_trial.wandb_runs() if path.name.endswith(AGENT_RUN_ID)]
    summary, records = read_wandb(run_dir)
    assert summary["run_id"] == AGENT_RUN_ID  # the agent's run, not a second one
    keys = summary["summary"]
    for key in ("eval/cosine/mean", "eval/cosine/ci_low", "eval/cosine/ci_high", "eval/finetuned/cosine",
                "eval/safety/pass_rate", "eval/factor_empathy/mean", "generate/finetuned/tokens_per_s",
                "train/final_val_loss", "train/tokens_seen"):
        assert isinstance(keys[key], (int, float)), key
    assert keys["eval/cosine/mean"] == pytest.approx(finetuned_trial.metrics["eval/cosine/mean"])
    assert not any("tiny" in key for key in keys)  # no key names the model
    assert keys["eval/samples"]["_type"] == "table-file" and keys["eval/samples"]["nrows"] == 6
    assert {"client", "reference", "reply", "cosine", "safety_pass"} <= set(sample_columns(finetuned_trial, run_dir))

    [run] = [record["run"] for record in records if record["type"] == "run"]
    assert (run["run_group"], run["job_type"], run["display_name"]) == ("t", "finetuned", "t-k1")
    history = [record["history"]["item"] for record in records if record["type"] == "history"]
    assert [row["_step"] for row in history if "train/val_loss" in row] == [2, 4, 6]  # at their training steps
    assert [row["_step"] for row in history if "train/loss" in row] == [1, 2, 3, 4, 5, 6]
    config = summary["config"]
    assert config["train.learning_rate"] == 0.02 and config["train.lora.r"] == 4  # the overrides, top level
    assert config["train"]["lora"]["r"] == 4 and "run.dir" not in config
    assert set(summary["tags"]) == {"tiny", "lora"}


def sample_columns(trial, run_dir) -> list[str]:
    """The columns of the run's sample-dialogue table, from the table file W&B wrote."""
    [table] = (run_dir / "files" / "media" / "table" / "eval").glob("samples_*.table.json")
    return json.loads(table.read_text())["columns"]
