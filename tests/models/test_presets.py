from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from tests.configs import config_for
from tide.config import with_options
from tide.models.presets import build_random_model, count_parameters, parameter_counts, preset_names

CONF = Path(__file__).parents[2] / "conf"
SCHEMA = {"name", "hf_id", "path", "gguf_file", "gguf_wheel", "convert_dir", "source", "params_b", "stop_token",
          "lora_target_modules", "architecture", "tokenizer"}
PRESETS = preset_names(CONF)


def load(stem):
    # Unresolved: tiny's path interpolates ${paths.outputs}, which only the root config defines.
    return OmegaConf.to_container(OmegaConf.load(CONF / "model" / f"{stem}.yaml"), resolve=False)


def test_preset_names():
    assert PRESETS == sorted(["qwen2_5_0_5b", "qwen2_5_1_5b", "qwen2_5_3b", "llama3_2_1b", "llama3_2_3b",
                              "gemma2_2b", "phi3_5_mini", "smollm2_1_7b"])


@pytest.mark.parametrize("stem", PRESETS + ["tiny", "smollm2_135m"])
def test_schema(stem):
    cfg = load(stem)
    assert set(cfg) == SCHEMA
    assert "model_type" in cfg["architecture"]
    assert cfg["lora_target_modules"]


@pytest.mark.parametrize("stem", PRESETS)
def test_preset_is_labelled_and_downloadable(stem):
    cfg = load(stem)
    header = (CONF / "model" / f"{stem}.yaml").read_text().split("\nname:")[0]
    assert "preset chosen by this suite, not the paper's" in header
    assert f"huggingface-cli download {cfg['hf_id']}" in header
    assert cfg["path"] is None and cfg["tokenizer"] is None


@pytest.mark.parametrize("stem", PRESETS)
def test_parameter_count_matches(stem):
    cfg = load(stem)
    assert 0.4 <= cfg["params_b"] <= 5.0
    assert count_parameters(cfg["architecture"]) == pytest.approx(cfg["params_b"] * 1e9, rel=0.02)


def test_tiny_parameter_count():
    cfg = load("tiny")
    # The trained vocabulary is at most the tokenizer's vocab_size; params_b is stated for that maximum.
    arch = {**cfg["architecture"], "vocab_size": cfg["tokenizer"]["vocab_size"]}
    assert count_parameters(arch) == pytest.approx(cfg["params_b"] * 1e9, rel=0.02)


@pytest.mark.parametrize("stem", PRESETS + ["tiny"])
def test_lora_targets_exist(stem):
    cfg = load(stem)
    arch = {"vocab_size": 1024, **cfg["architecture"]}  # tiny's vocabulary comes from its tokenizer
    model = build_random_model(arch, device="meta")  # shapes only, no memory
    leaf_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    assert set(cfg["lora_target_modules"]) <= leaf_names


def test_build_random_model():
    arch = {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300,
            "max_position_embeddings": 128, "tie_word_embeddings": True}
    model = build_random_model(arch, dtype=torch.bfloat16)
    assert model.num_parameters() == count_parameters(arch)
    assert next(model.parameters()).dtype == torch.bfloat16
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 300)


SMALL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "tie_word_embeddings": True}


def test_lora_parameter_count_by_hand():
    base = count_parameters(SMALL)
    lora = config_for().train
    lora = with_options(lora, {"lora.r": 2, "lora.target_modules": ["q_proj", "v_proj"]})
    # per layer: q_proj 32 -> 32: 2 * (32 + 32) = 128; v_proj 32 -> 16 (2 kv heads x 8): 2 * (32 + 16) = 96
    assert parameter_counts(SMALL, lora) == (base + 2 * (128 + 96), 2 * (128 + 96))
    assert parameter_counts(SMALL, config_for("train=full").train) == (base, base)
