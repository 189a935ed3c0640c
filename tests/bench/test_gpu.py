"""The GPU benchmarks' parts that also run on a CPU: the random-weight preset on disk, the HF Trainer baseline,
and the slices of a GPU run."""

import json

from tests.configs import config_for
from tide.bench.gpu import (gpu_generate, gpu_training_job, gpu_unavailable, hf_trainer_tokens_per_second,
                            materialize_preset)
from tide.config import with_options
from tide.models.loading import load_tokenizer
from tide.models.presets import count_parameters
from tide.train.job import TrainingJob

SMALL = {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 2048, "tie_word_embeddings": True}


def test_preset_of_real_shape_with_the_tiny_tokenizer(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    preset = with_options(config_for().model, {"name": "small", "architecture": SMALL, "path": None,
                                               "hf_id": "org/small"})
    model = materialize_preset(preset, tiny_model_dir, tmp_path / "small")
    assert model.path == str(tmp_path / "small") and model.hf_id is None
    assert json.loads((tmp_path / "small" / "config.json").read_text())["model_type"] == "qwen2"
    network = AutoModelForCausalLM.from_pretrained(model.path)
    assert sum(p.numel() for p in network.parameters()) == count_parameters(SMALL)
    assert len(load_tokenizer(model)) <= SMALL["vocab_size"]  # every token id is valid for the preset


def test_hf_trainer_baseline_measures_tokens_per_second(data_artifact, tiny_model_dir):
    config = config_for(**{
        "model.path": str(tiny_model_dir), "model.hf_id": None, "model.stop_token": None,
        "data.artifact_dir": str(data_artifact), "prompt.system": "Be kind.", "prompt.max_length": 256,
        "train.method": "lora", "train.quantize_4bit": False, "train.per_device_batch_size": 4,
        "train.learning_rate": 1e-3, "train.lr_scheduler": "constant", "train.warmup_ratio": 0.0,
        "train.max_grad_norm": 1.0, "train.lora.r": 2, "train.lora.alpha": 4, "train.lora.dropout": 0.0,
        "train.lora.target_modules": ["q_proj", "v_proj"]})
    assert hf_trainer_tokens_per_second(TrainingJob.from_config(config), steps=2) > 0


def test_gpu_unavailable_says_why_or_nothing():
    import torch

    assert (gpu_unavailable() is None) == torch.cuda.is_available()


def test_a_gpu_training_job_is_one_short_bf16_lora_run_of_the_preset(tmp_path):
    config = config_for()
    preset = with_options(config_for("model=qwen2_5_0_5b").model, {"path": str(tmp_path / "preset")})
    zero2 = config_for("deepspeed=zero2").deepspeed
    job = gpu_training_job(TrainingJob.from_config(config), preset, 30, 16, "qwen-ddp-r0", tmp_path, zero2)
    assert job.model == preset and job.deepspeed == zero2
    assert job.train.lora.target_modules == preset.lora_target_modules
    assert (job.train.max_steps, job.train.per_device_batch_size, job.train.gradient_accumulation_steps,
            job.train.precision) == (30, 16, 1, "bf16")
    assert not job.train.resume and not job.train.merge and job.train.eval_every_steps > 30
    assert (job.cluster.num_workers, job.cluster.use_gpu, job.cluster.gpus_per_worker,
            job.cluster.cpus_per_worker) == (1, True, 1, 2)
    assert job.cluster.storage_path == str(tmp_path / "ray")
    assert (job.run_name, job.run_dir) == ("bench-qwen-ddp-r0", str(tmp_path / "runs" / "qwen-ddp-r0"))
    assert (job.prompt, job.data_dir, job.seed) == (config.prompt, config.data.artifact_dir, config.seed)


def test_a_gpu_generation_is_one_actor_on_one_gpu():
    generate = config_for().generate
    hf = gpu_generate(generate, "hf", batch_size=64)
    assert (hf.backend, hf.precision, hf.cpus_per_actor, hf.gpus_per_actor, hf.batch_size,
            hf.gpu_memory_utilization) == ("hf", "auto", 2, 1, 64, None)
    vllm = gpu_generate(generate, "vllm", gpu_memory_utilization=0.5)
    assert (vllm.backend, vllm.batch_size, vllm.gpu_memory_utilization) == ("vllm", generate.batch_size, 0.5)
    assert vllm.output_dir == generate.output_dir and vllm.sampling == generate.sampling
