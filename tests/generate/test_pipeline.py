"""The generation stage end to end on the tiny model: both conditions through Ray Data, reproducible, resumable."""

import json
import logging

import pandas as pd
import pytest

from tests.generate.stage import run_generation
from tide.config import compose_mapping
from tide.data.artifact import load_split
from tide.generate import pipeline, prompts
from tide.generate.pipeline import TooManyFailures, plan_condition
from tide.generate.shards import COLUMNS, read_rows, shard_paths


def rows_of(config, condition) -> pd.DataFrame:
    rows = read_rows(f"{config.run.dir}/generations/{condition}")
    return rows.sort_values("dialogue_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def both_conditions(ray_local, make_config):
    config = make_config("both", "generate.conditions=[zero_shot,finetuned]")
    return config, run_generation(config)


def test_both_conditions_one_row_per_dialogue_and_adapter_changes_replies(both_conditions, data_artifact):
    config, summary = both_conditions
    test_ids = sorted(load_split(data_artifact, "test")["dialogue_id"])
    zero_shot, finetuned = rows_of(config, "zero_shot"), rows_of(config, "finetuned")
    for rows in (zero_shot, finetuned):
        assert list(rows.columns) == COLUMNS and rows["dialogue_id"].tolist() == test_ids
        assert rows["error"].isna().all() and set(rows["finish_reason"]) <= {"eos", "length"}
        assert (rows["reply_tokens"] <= 6).all() and (rows["prompt_tokens"] > 0).all()
    assert summary["zero_shot"]["rows"] == summary["finetuned"]["rows"] == len(test_ids)
    assert zero_shot["adapter"].isna().all() and finetuned["adapter"].str.endswith("adapter").all()
    assert (zero_shot["prompt"] == finetuned["prompt"]).all()
    assert (zero_shot["reply"] != finetuned["reply"]).mean() > 0.5
    assert zero_shot["reply"].nunique() > len(test_ids) // 2
    sampling = json.loads(finetuned["sampling"][0])
    assert sampling["do_sample"] is False and sampling["max_new_tokens"] == 6 and "row_seed" in sampling
    versions = json.loads(finetuned["versions"][0])
    assert set(versions) == {"torch", "transformers", "peft", "backend", "torch_threads"}
    assert versions["torch_threads"] >= 1  # the actor's threads follow the CPUs Ray gave it


def test_killed_job_resumes_to_the_same_replies_with_no_duplicates(both_conditions, make_config, monkeypatch,
                                                                   caplog):
    first, _ = both_conditions
    # Another run directory, other batch and shard sizes, one actor; the job dies after two shards.
    config = make_config("killed", "generate.conditions=[zero_shot]", "generate.batch_size=3",
                         "generate.shard_rows=5", "generate.concurrency=1")
    real_write, written = pipeline.write_shard, []

    def write_then_die(condition_dir, rows):
        if len(written) == 2:
            raise KeyboardInterrupt("killed")
        written.append(real_write(condition_dir, rows))

    monkeypatch.setattr(pipeline, "write_shard", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_generation(config)
    out_dir = f"{config.run.dir}/generations/zero_shot"
    assert shard_paths(out_dir) == sorted(written) and len(read_rows(out_dir)) == 10

    monkeypatch.setattr(pipeline, "write_shard", real_write)
    with caplog.at_level(logging.INFO, logger="tide.generate.pipeline"):
        summary = run_generation(config)
    assert summary["zero_shot"]["generated"] == summary["zero_shot"]["rows"] - 10
    assert "10 of 20 dialogues already" in caplog.text and "rows/s" in caplog.text and "left" in caplog.text
    again = rows_of(config, "zero_shot")
    assert again["dialogue_id"].is_unique
    expected = rows_of(first, "zero_shot")
    assert again["reply"].tolist() == expected["reply"].tolist()  # greedy: same replies, other batches


def test_failed_rows_are_recorded_up_to_max_failures_then_retried(make_config, monkeypatch):
    # In-process generation (no Ray) runs the same actor; three prompts carry a token the model lacks.
    monkeypatch.setattr(pipeline, "stream_generations", pipeline.local_generations)
    real_build = prompts.build_prompts

    def three_broken(*args, **kwargs):
        built = real_build(*args, **kwargs)
        return [{**p, "prompt_ids": p["prompt_ids"] + [10**6]} if i < 3 else p for i, p in enumerate(built)]

    monkeypatch.setattr(prompts, "build_prompts", three_broken)
    with pytest.raises(TooManyFailures, match=r"3 rows failed, more than generate.max_failures=2; "
                                              r"first error: IndexError"):
        run_generation(make_config("flaky", "generate.conditions=[zero_shot]", "generate.max_failures=2",
                             "generate.shard_rows=20"))
    summary = run_generation(make_config("flaky", "generate.conditions=[zero_shot]", "generate.max_failures=3"))
    assert summary["zero_shot"]["errors"] == 3 and summary["zero_shot"]["finish_reasons"]["error"] == 3

    monkeypatch.setattr(prompts, "build_prompts", real_build)
    summary = run_generation(make_config("flaky", "generate.conditions=[zero_shot]", "generate.max_failures=3"))
    assert summary["zero_shot"]["generated"] == 3 and summary["zero_shot"]["errors"] == 0


def test_merged_model_gives_the_adapters_replies(make_config, adapter_dir, tiny_varied_model_dir, tmp_path,
                                                 monkeypatch):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    monkeypatch.setattr(pipeline, "stream_generations", pipeline.local_generations)  # in-process, no Ray
    base = AutoModelForCausalLM.from_pretrained(tiny_varied_model_dir)
    PeftModel.from_pretrained(base, adapter_dir).merge_and_unload().save_pretrained(tmp_path / "merged")
    with pytest.raises(FileNotFoundError, match=r"generate.merged_dir: .*nowhere is not a model directory"):
        run_generation(make_config("merged", "generate.conditions=[finetuned]",
                                   f"generate.merged_dir={tmp_path}/nowhere"))

    run_generation(make_config("merged", "generate.conditions=[finetuned]", f"generate.merged_dir={tmp_path}/merged"))
    run_generation(make_config("adapter", "generate.conditions=[finetuned]"))
    merged, adapter = rows_of(make_config("merged"), "finetuned"), rows_of(make_config("adapter"), "finetuned")
    assert merged["adapter"].str.endswith("merged").all()
    assert merged["reply"].tolist() == adapter["reply"].tolist()


def test_the_spec_keeps_the_composed_yamls_values(make_config, tiny_varied_model_dir):
    """spec.json, the resume key, is what the stage wrote when it read the composed YAML as a plain dict: a
    generation made before the typed configs resumes under the same settings."""
    import hashlib

    config = make_config("spec", "generate.conditions=[finetuned]")
    plan = plan_condition(config.generate, config.model, config.prompt, config.run.dir, "finetuned", "fp-test")
    composed = compose_mapping(["generate.sampling.max_new_tokens=6", "generate.sampling.do_sample=false"])
    adapter = f"{config.run.dir}/adapter"
    assert plan.spec == {
        "condition": "finetuned", "backend": "hf", "precision": "auto", "model": "tiny",
        "model_source": str(tiny_varied_model_dir), "adapter": adapter,
        "adapter_fingerprint": hashlib.sha256(open(f"{adapter}/adapter_model.safetensors", "rb").read()).hexdigest(),
        "sampling": composed["generate"]["sampling"], "system_prompt": composed["prompt"]["system"],
        "split": "test", "data_fingerprint": "fp-test", "limit": None}
    assert json.dumps(plan.spec["sampling"], sort_keys=True) == (
        '{"do_sample": false, "max_new_tokens": 6, "seed": 42, "temperature": 0.7, "top_p": 0.9}')
    assert plan.row_fields == {"condition": "finetuned", "model": "tiny", "model_params_b": 0.004, "adapter": adapter}
