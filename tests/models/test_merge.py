"""Merging an adapter in fp32 gives the adapter's outputs, in an ordinary model directory."""

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tests.configs import config_for
from tide.config import with_options
from tide.models.merge import merge_adapter


def test_merged_model_matches_the_adapter(tiny_model_dir, tmp_path):
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"]))
    with torch.no_grad():  # a trained adapter: B is no longer zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    model.save_pretrained(tmp_path / "adapter")
    model.eval()
    input_ids = torch.randint(3, 500, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        adapter_logits = model(input_ids=input_ids).logits

    base = with_options(config_for("model=tiny").model, {"path": str(tiny_model_dir)})
    out = merge_adapter(base, tmp_path / "adapter", tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with torch.no_grad():
        merged_logits = merged(input_ids=input_ids).logits
        original = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(input_ids=input_ids).logits
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(merged_logits, original, atol=1e-3)
    assert (out / "tokenizer_config.json").is_file() and not list(tmp_path.glob(".merged.*"))
