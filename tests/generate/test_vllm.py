"""generate=vllm through ray.data.llm: what runs on a CPU (the processor built from conf/generate/vllm.yaml, the
row functions, the columns, imports without vllm) and, marked gpu, vLLM against HF generate on a GPU."""

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

from tide.config import with_options
from tide.generate.actor import GenerationActor
from tide.generate.pipeline import load_prompts, plan_condition
from tide.generate.shards import COLUMNS, read_rows, write_shard
from tide.generate.vllm_engine import (ERROR_COLUMN, generation_rows, package_versions, preprocess_row,
                                       processor_config, stop_token_ids)

VLLM_READY = torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None


def vllm_plan(make_config, condition: str, *overrides):
    config = make_config("vllm-cpu", "generate=vllm", *overrides)
    return config, plan_condition(config.generate, config.model, config.prompt, config.run.dir, condition,
                                  data_fingerprint="-")


def prompts_of(config):
    return load_prompts(config.generate, config.model, config.prompt, config.data.artifact_dir)


def test_processor_config_follows_conf_generate_vllm(make_config):
    config, plan = vllm_plan(make_config, "finetuned")
    engine, gen_cfg = plan.engine, config.generate
    processor = processor_config(engine.model, gen_cfg, engine.adapter_dir, engine.merged_dir)
    assert processor.model_source == config.model.path
    engine = processor.engine_kwargs
    assert engine["enable_lora"] and engine["max_lora_rank"] == 8  # the test adapter's r=4, rounded up to vLLM's 8
    assert engine["enable_prefix_caching"] is True and engine["gpu_memory_utilization"] == 0.85
    assert engine["dtype"] == "bfloat16" and engine["seed"] == config.seed and engine["generation_config"] == "vllm"
    assert processor.batch_size == gen_cfg.batch_size and processor.concurrency == gen_cfg.concurrency
    assert processor.max_concurrent_batches == 8 and processor.should_continue_on_error
    # Our shared chat format tokenizes; vLLM detokenizes: Ray's own template/tokenizer/detokenizer stages are off.
    assert not any([processor.chat_template_stage, processor.tokenize_stage, processor.detokenize_stage])

    merged = processor_config(plan.engine.model, gen_cfg, merged_dir="/weights/merged")
    assert merged.model_source == "/weights/merged" and "enable_lora" not in merged.engine_kwargs
    assert merged.engine_kwargs["tokenizer"] == config.model.path  # the base tokenizer, as in the HF engine


def test_the_processor_builds_on_a_cpu_with_one_gpu_engine_stage(make_config, ray_local):
    from ray.data.llm import build_processor

    config, plan = vllm_plan(make_config, "zero_shot")
    processor = build_processor(processor_config(plan.engine.model, config.generate))
    assert processor.list_stage_names() == ["vLLMEngineStage"]
    stage = processor.get_stage_by_name("vLLMEngineStage")
    assert stage.map_batches_kwargs["num_gpus"] == 1  # one GPU per engine (tensor_parallel_size 1)
    assert stage.fn_constructor_kwargs["engine_kwargs"]["distributed_executor_backend"] == "uni"


def test_rows_carry_the_shared_chat_prompt_their_seed_and_the_adapter(make_config):
    config, finetuned = vllm_plan(make_config, "finetuned", "generate.sampling.do_sample=true")
    prompts, _ = prompts_of(config)
    stop_ids = stop_token_ids(config.model)
    sampling, adapter = config.generate.sampling, finetuned.engine.adapter_dir
    row = preprocess_row(prompts[0], sampling, stop_ids, adapter)
    assert row["tokenized_prompt"] == list(prompts[0]["prompt_ids"]) and row["prompt_text"] == prompts[0]["prompt"]
    assert "prompt" not in row and "prompt_ids" not in row  # the vLLM stage would consume a `prompt` column
    assert row["model"] == adapter  # ray.data.llm makes this row a LoRA request for the adapter
    assert row["sampling_params"] == {"temperature": 0.7, "top_p": 0.9, "max_tokens": sampling.max_new_tokens,
                                      "seed": prompts[0]["seed"], "stop_token_ids": stop_ids,
                                      "skip_special_tokens": True}
    greedy = preprocess_row(prompts[1], dataclasses.replace(sampling, do_sample=False), stop_ids, adapter=None)
    assert "model" not in greedy and greedy["sampling_params"]["temperature"] == 0.0
    assert greedy["sampling_params"]["seed"] == prompts[1]["seed"] != prompts[0]["seed"]


def engine_output(row: dict, tokens: list[int], text: str) -> dict:
    """What ray.data.llm's vLLM stage returns for a row: its input columns plus vLLMOutputData's."""
    out = {key: value for key, value in row.items() if key not in ("tokenized_prompt", "sampling_params")}
    return {**out, "generated_tokens": tokens, "generated_text": text, "num_generated_tokens": len(tokens),
            "time_taken_llm": 0.25, ERROR_COLUMN: ""}


def test_output_rows_have_the_hf_paths_columns_and_finish_reasons(make_config, tmp_path):
    config, plan = vllm_plan(make_config, "zero_shot")
    prompts, _ = prompts_of(config)
    prompts = prompts[:3]
    sampling, stop_ids = config.generate.sampling, stop_token_ids(config.model)
    hf = GenerationActor("hf", plan.engine, plan.row_fields)(pd.DataFrame(prompts))
    rows = [preprocess_row(prompt, sampling, stop_ids, None) for prompt in prompts]
    limit = sampling.max_new_tokens
    raw = pd.DataFrame([engine_output(rows[0], [5, 6, stop_ids[0]], " Breathe. "),
                        engine_output(rows[1], list(range(10, 10 + limit)), "cut off"),
                        {**engine_output(rows[2], [], ""), "generated_tokens": None, "time_taken_llm": -1,
                         ERROR_COLUMN: "ValueError: prompt too long"}])
    fields = {**plan.row_fields, "versions": json.dumps(package_versions(), sort_keys=True)}
    out = generation_rows(raw, stop_ids, fields, sampling)
    assert sorted(out.columns) == sorted(hf.columns) == sorted(COLUMNS)
    assert out["finish_reason"].tolist() == ["eos", "length", "error"]
    assert out["reply"].tolist() == ["Breathe.", "cut off", ""] and out["reply_tokens"].tolist() == [3, limit, 0]
    assert out["error"].isna().tolist() == [True, True, False] and "prompt too long" in out["error"][2]
    for column in ("dialogue_id", "prompt", "prompt_tokens", "sampling", "condition", "model", "adapter"):
        assert out[column].tolist() == hf[column].tolist(), column  # same rows, same bookkeeping as HF's
    assert "vllm" in json.loads(out["versions"][0])["backend"]
    write_shard(tmp_path, out)  # the shard writer's schema takes them as they are
    assert read_rows(tmp_path)["finish_reason"].tolist().count("error") == 1


def test_everything_imports_and_configures_without_vllm(tiny_model_dir):
    """vllm (and bitsandbytes) are imported in worker code only: a CPU box without them builds the config."""
    script = textwrap.dedent(f"""
        import sys

        class Blocked:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("vllm", "bitsandbytes"):
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Blocked())
        import launch.gpu_check, tide.bench.gpu, tide.generate.pipeline
        from tide.config import compose_config
        from tide.generate.vllm_engine import processor_config
        composed = compose_config(["generate=vllm", "model.path={tiny_model_dir}"])
        config = processor_config(composed.model, composed.generate)
        assert config.engine_kwargs["dtype"] == "bfloat16"
        assert not [name for name in sys.modules if name.split(".")[0] in ("vllm", "bitsandbytes")]
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


# --- GPU: these run wherever CUDA and vllm exist (make test-gpu); nothing else skips them. ---------------

needs_vllm = pytest.mark.skipif(not VLLM_READY, reason="needs CUDA and vllm (make install GPU=1)")


def stage_replies(config, condition: str, backend: str) -> dict:
    from tide.generate.pipeline import stream_generations

    run = with_options(config, {"generate.backend": backend, "generate.precision": "bfloat16",
                                "generate.gpu_memory_utilization": 0.3, "generate.gpus_per_actor": 1,
                                "generate.cpus_per_actor": 1})
    prompts, _ = prompts_of(run)
    plan = plan_condition(run.generate, run.model, run.prompt, run.run.dir, condition, data_fingerprint="-")
    rows = pd.concat(list(stream_generations(prompts, plan, run.generate, concurrency=1)))
    return dict(zip(rows["dialogue_id"], rows["reply"]))


@pytest.mark.gpu
@needs_vllm
@pytest.mark.parametrize("condition", ["zero_shot", "finetuned"])
@pytest.mark.usefixtures("ray_local")
def test_vllm_matches_hf_greedy(make_config, condition):
    config = make_config("parity", "generate.sampling.max_new_tokens=8", "generate.limit=16")
    hf, vllm = (stage_replies(config, condition, backend) for backend in ("hf", "vllm"))
    assert hf.keys() == vllm.keys()
    assert sum(hf[key] == vllm[key] for key in hf) / len(hf) >= 0.75, (hf, vllm)


@pytest.mark.gpu
@needs_vllm
@pytest.mark.usefixtures("ray_local")
def test_vllm_applies_the_adapter_per_row(make_config):
    config = make_config("adapter", "generate.sampling.max_new_tokens=8", "generate.limit=16")
    assert stage_replies(config, "finetuned", "vllm") != stage_replies(config, "zero_shot", "vllm")

