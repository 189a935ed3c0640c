"""The vLLM backend agrees with the HF backend (greedy, small subset) and applies the adapter. GPU only."""

import pandas as pd
import pytest
import torch

from tide.generate.actor import GenerationActor
from tide.generate.pipeline import load_prompts, plan_condition

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def replies(backend: str, config: dict, condition: str, prompts) -> list[str]:
    plan = plan_condition(config, condition, data_fingerprint="-")
    kwargs = dict(plan["engine_kwargs"], precision="float32")  # same numbers in both backends
    if backend == "vllm":
        kwargs["gpu_memory_utilization"] = 0.3
    return GenerationActor(backend, kwargs, plan["row_fields"])(pd.DataFrame(prompts))["reply"].tolist()


def test_vllm_matches_hf_greedy_and_applies_the_adapter(make_config):
    pytest.importorskip("vllm")
    config = make_config("parity", "generate.sampling.max_new_tokens=8", "generate.limit=8")
    prompts, _ = load_prompts(config)
    got = {(backend, condition): replies(backend, config, condition, prompts)
           for condition in ("zero_shot", "finetuned") for backend in ("hf", "vllm")}
    for condition in ("zero_shot", "finetuned"):
        pairs = list(zip(got["hf", condition], got["vllm", condition]))
        assert sum(a == b for a, b in pairs) / len(pairs) >= 0.75, (condition, pairs)
    assert got["vllm", "finetuned"] != got["vllm", "zero_shot"]
