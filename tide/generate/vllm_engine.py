"""vLLM inside a Ray Data actor (GPU only): `vllm` is imported when the engine is built, in the worker.

One `vllm.LLM` per actor; the fine-tuned condition passes the PEFT adapter as a `LoRARequest` (or
loads a merged model). Each request carries its dialogue's seed, so, as with the HF engine, a reply
does not depend on which rows share its batch.
"""

from __future__ import annotations

import json
from pathlib import Path

from tide.data.chat import end_of_turn_id
from tide.generate.hf_engine import resolve_dtype
from tide.models.loading import load_tokenizer, resolve_model_source

FINISH_REASONS = {"stop": "eos", "length": "length"}


class VLLMEngine:
    backend = "vllm"

    def __init__(self, model_cfg: dict, sampling: dict, adapter_dir: str | None = None,
                 merged_dir: str | None = None, precision: str = "auto",
                 gpu_memory_utilization: float | None = None):
        import torch
        import vllm
        from vllm.lora.request import LoRARequest

        tokenizer = load_tokenizer(model_cfg)
        self.stop_ids = sorted({end_of_turn_id(tokenizer, model_cfg.get("stop_token")), tokenizer.eos_token_id})
        self.sampling = sampling
        engine_args = {"model": merged_dir or resolve_model_source(model_cfg),
                       "tokenizer": resolve_model_source(model_cfg), "dtype": resolve_dtype(precision, "cuda"),
                       "seed": sampling["seed"],
                       # The model's own generation_config is ignored, as in the HF engine: generate.sampling decides.
                       "generation_config": "vllm"}
        if gpu_memory_utilization is not None:
            engine_args["gpu_memory_utilization"] = gpu_memory_utilization
        if adapter_dir:
            rank = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())["r"]
            # vLLM accepts a few maximum ranks (8, 16, 32, ...): the smallest power of two that holds this one.
            engine_args.update(enable_lora=True, max_lora_rank=max(8, 1 << (rank - 1).bit_length()))
        self.llm = vllm.LLM(**engine_args)
        self.lora = LoRARequest("finetuned", 1, str(adapter_dir)) if adapter_dir else None
        self.versions = {"torch": torch.__version__, "transformers": _version("transformers"),
                         "peft": _version("peft"), "backend": f"vllm {vllm.__version__}"}

    def generate(self, prompt_ids: list[list[int]], seeds: list[int]) -> list[dict]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        sample = self.sampling["do_sample"]
        params = [SamplingParams(temperature=self.sampling["temperature"] if sample else 0.0,
                                 top_p=self.sampling["top_p"] if sample else 1.0,
                                 max_tokens=self.sampling["max_new_tokens"], seed=seed,
                                 stop_token_ids=self.stop_ids, skip_special_tokens=True)
                  for seed in seeds]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(ids)) for ids in prompt_ids], params,
                                    lora_request=self.lora, use_tqdm=False)
        return [{"reply": out.outputs[0].text.strip(),
                 "finish_reason": FINISH_REASONS.get(out.outputs[0].finish_reason, out.outputs[0].finish_reason),
                 "reply_tokens": len(out.outputs[0].token_ids)}
                for out in outputs]


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)

