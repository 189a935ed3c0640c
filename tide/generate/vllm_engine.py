"""generate=vllm through Ray Data's own LLM library (`ray.data.llm`), kept by the Ray team.

    prompts (driver) -> from_items -> preprocess_row (token ids, per-row sampling, adapter)
                     -> vLLMEngineStage (one vLLM engine per GPU actor, continuous batching, LoRA per row)
                     -> iter_batches on the driver -> generation_rows (the HF path's columns) -> shards

The prompt is the shared chat format's token ids (tide.data.chat, as in training and the HF path), so
Ray's chat-template and tokenizer stages are off; vLLM detokenizes the reply itself, so Ray's
detokenize stage is off too. The fine-tuned condition names its adapter in each row's `model` column;
ray.data.llm turns that into a vLLM LoRARequest (a merged model is loaded as the engine's model instead).
Each row carries its dialogue's seed, so, as with the HF engine, a reply does not depend on its batch.

vllm itself is imported only inside Ray's engine actors: building the processor config and the row
functions needs no vllm, so this module imports (and is tested) on a CPU box.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tide.config import GenerateConfig, ModelConfig, SamplingConfig, to_plain
from tide.generate.hf_engine import resolve_dtype
from tide.models.loading import resolve_model_source

if TYPE_CHECKING:
    from tide.generate.plan import ConditionPlan

ERROR_COLUMN = "__inference_error__"  # ray.data.llm's column for a row whose inference failed


def max_lora_rank(adapter_dir: str) -> int:
    """vLLM accepts a few maximum ranks (8, 16, 32, ...): the smallest power of two that holds this adapter's."""
    rank = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())["r"]
    return max(8, 1 << (int(rank) - 1).bit_length())


def engine_kwargs(model: ModelConfig, generate: GenerateConfig, adapter_dir: str | None) -> dict:
    """vllm.AsyncEngineArgs for one condition: generate.vllm.engine_kwargs plus what the condition decides."""
    kwargs = dict(generate.vllm.engine_kwargs or {})
    kwargs.update(tokenizer=resolve_model_source(model), dtype=resolve_dtype(generate.precision, "cuda"),
                  seed=int(generate.sampling.seed),
                  # The model's own generation_config is ignored, as in the HF engine: generate.sampling decides.
                  generation_config="vllm")
    if generate.gpu_memory_utilization is not None:
        kwargs["gpu_memory_utilization"] = float(generate.gpu_memory_utilization)
    if adapter_dir:
        kwargs.update(enable_lora=True, max_loras=1, max_lora_rank=max_lora_rank(adapter_dir))
    return kwargs


def processor_config(model: ModelConfig, generate: GenerateConfig, adapter_dir: str | None = None,
                     merged_dir: str | None = None, concurrency: int | None = None):
    """The ray.data.llm processor config of one condition, from conf/generate/vllm.yaml."""
    from ray.data.llm import vLLMEngineProcessorConfig

    return vLLMEngineProcessorConfig(
        model_source=merged_dir or resolve_model_source(model),
        engine_kwargs=engine_kwargs(model, generate, adapter_dir),
        batch_size=int(generate.batch_size), concurrency=int(concurrency or generate.concurrency),
        max_concurrent_batches=int(generate.vllm.max_concurrent_batches),
        accelerator_type=generate.vllm.accelerator_type,
        # A failing row is recorded (finish_reason "error") and the job stops after generate.max_failures.
        should_continue_on_error=True, log_engine_metrics=False,
        chat_template_stage=False, tokenize_stage=False, detokenize_stage=False)


def sampling_params(sampling: SamplingConfig, seed: int, stop_ids: list[int]) -> dict:
    """vllm.SamplingParams of one row, as a plain dict (rows cross processes; vllm is not imported here)."""
    sample = sampling.do_sample
    return {"temperature": float(sampling.temperature) if sample else 0.0,
            "top_p": float(sampling.top_p) if sample else 1.0,
            "max_tokens": int(sampling.max_new_tokens), "seed": int(seed),
            "stop_token_ids": list(stop_ids), "skip_special_tokens": True}


def preprocess_row(row: dict, sampling: SamplingConfig, stop_ids: list[int], adapter: str | None) -> dict:
    """A prompt row (tide.generate.prompts) -> the row ray.data.llm's vLLM stage reads.

    `model` names the adapter (a LoRA request); without it the engine's own model answers. The rendered
    prompt travels as `prompt_text`: the stage consumes a column called `prompt`.
    """
    out = {key: value for key, value in row.items() if key not in ("prompt", "prompt_ids")}
    out.update(prompt_text=row["prompt"], tokenized_prompt=[int(token) for token in row["prompt_ids"]],
               sampling_params=sampling_params(sampling, int(row["seed"]), stop_ids))
    if adapter:
        out["model"] = adapter
    return out


def finish_reason(generated: list[int], stop_ids: list[int], max_new_tokens: int) -> str:
    """eos when the reply ended on a stop token (or before the limit), length when the limit cut it."""
    if len(generated) and int(generated[-1]) in stop_ids:
        return "eos"
    return "length" if len(generated) >= max_new_tokens else "eos"


def generation_row(row: dict, stop_ids: list[int], row_fields: dict, sampling: SamplingConfig) -> dict:
    """One output row of the processor -> one generation row (tide.generate.shards.COLUMNS), as the HF path writes.

    A row whose inference failed carries ray.data.llm's error message: it becomes finish_reason "error".
    """
    error = row.get(ERROR_COLUMN) or None
    generated = [] if error else [int(token) for token in row["generated_tokens"]]
    return {"dialogue_id": row["dialogue_id"], "persona_id": row["persona_id"], "scenario": row["scenario"],
            "prompt": row["prompt_text"], "prompt_tokens": int(row["prompt_tokens"]),
            "reply": "" if error else str(row["generated_text"]).strip(),
            "finish_reason": "error" if error else finish_reason(generated, stop_ids, int(sampling.max_new_tokens)),
            "reply_tokens": len(generated), "latency_s": 0.0 if error else float(row["time_taken_llm"]),
            "error": str(error) if error else None, **row_fields,
            "sampling": json.dumps({**to_plain(sampling), "row_seed": int(row["seed"])}, sort_keys=True)}


def generation_rows(batch: pd.DataFrame, stop_ids: list[int], row_fields: dict, sampling: SamplingConfig
                    ) -> pd.DataFrame:
    """A batch of the processor's output -> generation rows. On the driver, not as ray.data.llm's postprocess:
    failed rows bypass that postprocess (keeping the stage's raw columns), and here both kinds get one schema."""
    return pd.DataFrame([generation_row(row, stop_ids, row_fields, sampling) for row in batch.to_dict("records")])


def stop_token_ids(model: ModelConfig) -> list[int]:
    """The ids that end a reply: the end-of-turn token and eos (as the HF engine stops on)."""
    from tide.data.chat import end_of_turn_id
    from tide.models.loading import load_tokenizer

    tokenizer = load_tokenizer(model)
    return sorted({end_of_turn_id(tokenizer, model.stop_token), tokenizer.eos_token_id})


def package_versions() -> dict:
    """The versions a row records (the driver's view: a Ray cluster runs one environment everywhere)."""
    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed on the driver"

    return {"torch": installed("torch"), "transformers": installed("transformers"), "peft": installed("peft"),
            "backend": f"vllm {installed('vllm')} via ray.data.llm (ray {installed('ray')})"}


def stream_vllm_generations(prompts: list[dict], plan: ConditionPlan, generate: GenerateConfig,
                            concurrency: int | None = None) -> Iterator[pd.DataFrame]:
    """Generation rows in shards of generate.shard_rows, as ray.data.llm's engine actors produce them.

    Rows are sampled as `generate.sampling` says (the engine's seed comes from it too).
    """
    import ray
    from ray.data.llm import build_processor

    engine = plan.engine
    stop_ids = stop_token_ids(engine.model)
    config = processor_config(engine.model, generate, engine.adapter_dir, engine.merged_dir, concurrency)
    # partial of a module-level function: Ray pickles it by reference, with its (small) arguments.
    preprocess = functools.partial(preprocess_row, sampling=generate.sampling, stop_ids=stop_ids,
                                   adapter=engine.adapter_dir)
    processor = build_processor(config, preprocess=preprocess)
    row_fields = {**plan.row_fields, "versions": json.dumps(package_versions(), sort_keys=True)}
    for batch in processor(ray.data.from_items(prompts)).iter_batches(batch_size=generate.shard_rows,
                                                                      batch_format="pandas"):
        yield generation_rows(batch, stop_ids, row_fields, generate.sampling)
