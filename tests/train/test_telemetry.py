"""The training summary's telemetry: the FLOP formula over the model the loop trained."""

import pytest
import torch

from tide.train.loop import _telemetry


def test_lora_telemetry_counts_the_base_and_the_adapters():
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig

    base = AutoModelForCausalLM.from_config(LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=100))
    base_params = sum(p.numel() for p in base.parameters())
    model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    adapters = 2 * 2 * (32 + 32)  # two layers, r * (in + out)
    telemetry = _telemetry(model, [100.0, 300.0], torch.device("cpu"), world_size=2)
    assert telemetry["flops_per_token"] == 4 * (base_params + adapters) + 2 * adapters
    assert telemetry["flops_per_second_per_device"] == pytest.approx(telemetry["flops_per_token"] * 200)
    assert telemetry["mfu"] is None and telemetry["device"].startswith("cpu")
