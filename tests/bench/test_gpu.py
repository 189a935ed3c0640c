"""The GPU benchmarks' parts that also run on a CPU: the random-weight preset on disk, the HF Trainer baseline."""

import json

from tide.bench.gpu import gpu_unavailable, hf_trainer_tokens_per_second, materialize_preset
from tide.models.loading import load_tokenizer
from tide.models.presets import count_parameters

SMALL = {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 2048, "tie_word_embeddings": True}


def test_preset_of_real_shape_with_the_tiny_tokenizer(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    model_cfg = materialize_preset({"name": "small", "architecture": SMALL, "path": None, "hf_id": "org/small"},
                                   tiny_model_dir, tmp_path / "small")
    assert model_cfg["path"] == str(tmp_path / "small") and model_cfg["hf_id"] is None
    assert json.loads((tmp_path / "small" / "config.json").read_text())["model_type"] == "qwen2"
    model = AutoModelForCausalLM.from_pretrained(model_cfg["path"])
    assert sum(p.numel() for p in model.parameters()) == count_parameters(SMALL)
    assert len(load_tokenizer(model_cfg)) <= SMALL["vocab_size"]  # every token id is valid for the preset


def test_hf_trainer_baseline_measures_tokens_per_second(data_artifact, tiny_model_dir):
    config = {"model": {"name": "tiny", "path": str(tiny_model_dir), "hf_id": None, "stop_token": None},
              "data": {"artifact_dir": str(data_artifact)}, "prompt": {"system": "Be kind.", "max_length": 256},
              "train": {"method": "lora", "quantize_4bit": False, "per_device_batch_size": 4, "learning_rate": 1e-3,
                        "lr_scheduler": "constant", "warmup_ratio": 0.0, "max_grad_norm": 1.0,
                        "lora": {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}}}
    assert hf_trainer_tokens_per_second(config, steps=2) > 0


def test_gpu_unavailable_says_why_or_nothing():
    import torch

    assert (gpu_unavailable() is None) == torch.cuda.is_available()
