"""The GPU benchmarks of `make bench`, run when CUDA is available: LoRA at real model shapes.

No download: each preset is built from its conf/model architecture with random weights
(tide.models.presets.build_random_model), saved in bf16 next to the tiny model's tokenizer (its ids fit
every preset's vocabulary), and trained by the suite itself (tide.train.trainer.train on one GPU worker).
Throughput does not depend on the weights' values, only on shapes and sequence lengths, and both sides
of every comparison see the same data, tokenized the same way.

    LoRA tokens/s per GPU and MFU   the suite's loop, plain DDP engine, per preset
    ZeRO-2 vs DDP                   the same run with deepspeed=zero2
    suite vs HF Trainer + PEFT      the same model, split, batch size and length grouping in transformers' Trainer
    vLLM vs HF generate             the generation stage with each backend, one actor

The runs defined here (the preset on disk, a training job on one GPU, the HF Trainer baseline, one
generation run) are also what `make gpu-check` runs (tide/bench/gpu_check.py).
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tide.bench.results import measured, skipped
from tide.bench.training import benchmark_job, encoded_train_split, train_untracked
from tide.config import (DeepSpeedConfig, GenerateConfig, ModelConfig, PromptConfig, TideConfig, TrainConfig,
                         with_options)
from tide.core.domain import ZERO_SHOT
from tide.core.telemetry import device_name, training_telemetry
from tide.train.job import TrainingJob

GPU_TARGETS = {
    "lora_mfu": {"op": ">=", "value": 0.40},
    "suite_vs_hf_trainer": {"op": ">=", "value": 1.5},
    "vllm_vs_hf_generate": {"op": ">=", "value": 5.0},
}


def gpu_unavailable() -> str | None:
    """Why the GPU benchmarks cannot run here, or None."""
    import torch

    return None if torch.cuda.is_available() else "no CUDA device (torch.cuda.is_available() is False)"


def materialize_preset(preset: ModelConfig, tokenizer_dir: str | Path, out_dir: Path) -> ModelConfig:
    """A random-weight model of the preset's shape on disk, with the tokenizer; its model slice."""
    import torch
    from transformers import AutoTokenizer

    from tide.models.presets import build_random_model

    if not (out_dir / "config.json").is_file():
        # Initialised on the GPU when there is one: seconds for 3B weights, where the CPU takes minutes.
        model = build_random_model(preset.architecture, dtype=torch.bfloat16,
                                   device="cuda" if torch.cuda.is_available() else None)
        model.save_pretrained(out_dir)
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(out_dir)
    return with_options(preset, {"path": str(out_dir), "hf_id": None, "stop_token": None}, path="model")


def gpu_training_job(job: TrainingJob, model: ModelConfig, steps: int, batch_size: int, label: str, bench_dir: Path,
                     deepspeed: DeepSpeedConfig) -> TrainingJob:
    """`job` as a short bf16 LoRA training of `model` (its own LoRA targets) on one GPU worker."""
    return benchmark_job(job, steps, label, bench_dir, {
        "model": model, "deepspeed": deepspeed,
        "train.per_device_batch_size": batch_size, "train.gradient_accumulation_steps": 1,
        "train.precision": "bf16", "train.lora.target_modules": model.lora_target_modules,
        "cluster.num_workers": 1, "cluster.use_gpu": True, "cluster.gpus_per_worker": 1,
        "cluster.cpus_per_worker": 2})


def suite_tokens_per_second(job: TrainingJob) -> float:
    return train_untracked(job)["tokens_per_second_per_worker"][0]


def hf_trainer_tokens_per_second(job: TrainingJob, steps: int) -> float:
    """transformers' Trainer with the suite's PEFT model, split and batch size: the baseline a user writes."""
    import torch
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback

    from tide.data.chat import IGNORE_INDEX
    from tide.models.loading import load_tokenizer
    from tide.train.model import build_model

    tokenizer = load_tokenizer(job.model)
    examples = encoded_train_split(job, tokenizer).examples
    on_gpu = torch.cuda.is_available()  # the CPU path exists for the tests
    device = torch.device("cuda" if on_gpu else "cpu")
    model = build_model(job.model, job.train, "bf16" if on_gpu else "fp32", device)
    synchronize = torch.cuda.synchronize if on_gpu else (lambda: None)
    pad = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX)
    meter = {"tokens": 0, "seconds": 0.0}

    def collate(features):
        meter["tokens"] += sum(len(feature["input_ids"]) for feature in features)
        return pad(features)

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            synchronize()
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            synchronize()
            meter["seconds"] += time.perf_counter() - self.began

    with tempfile.TemporaryDirectory() as output_dir:
        Trainer(model=model, args=hf_training_arguments(job.train, steps, output_dir, on_gpu),
                train_dataset=examples, data_collator=collate, callbacks=[StepTimer()]).train()
    # The collator may run one batch ahead of the last timed step: a bias of at most 1/steps.
    return meter["tokens"] / meter["seconds"]


def hf_training_arguments(train: TrainConfig, steps: int, output_dir: str, on_gpu: bool):
    """The HF Trainer's arguments matching the suite's run: batch, steps, optimizer schedule, length grouping."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir, per_device_train_batch_size=train.per_device_batch_size,
        gradient_accumulation_steps=1, max_steps=steps, learning_rate=float(train.learning_rate),
        lr_scheduler_type=train.lr_scheduler,
        warmup_steps=float(train.warmup_ratio),  # a float below 1 is a ratio of max_steps
        max_grad_norm=float(train.max_grad_norm), bf16=on_gpu, use_cpu=not on_gpu,
        train_sampling_strategy="group_by_length", save_strategy="no", report_to="none", logging_steps=steps,
        remove_unused_columns=False, dataloader_num_workers=0)


def gpu_generate(generate: GenerateConfig, backend: str, batch_size: int | None = None,
                 gpu_memory_utilization: float = 0.85) -> GenerateConfig:
    """The generate slice for one actor on one GPU with `backend` (gpu_memory_utilization: vLLM's share)."""
    options = {"backend": backend, "precision": "auto", "cpus_per_actor": 2, "gpus_per_actor": 1,
               "gpu_memory_utilization": gpu_memory_utilization if backend == "vllm" else None}
    if batch_size:
        options["batch_size"] = batch_size
    return with_options(generate, options, path="generate")


def generation_run(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, data_dir: str, run_dir: str,
                   rows: int, condition: str = ZERO_SHOT, local: bool = False) -> tuple[dict, float]:
    """The generation stage's first `rows` prompts with one actor (nothing written): ({dialogue_id: reply},
    prompt + generated tokens/s). `local`: the same actor called in this process, without Ray Data."""
    from tide.generate.pipeline import load_prompts, local_generations, plan_condition, stream_generations

    prompts, fingerprint = load_prompts(generate, model, prompt, data_dir)
    prompts = prompts[:rows]
    plan = plan_condition(generate, model, prompt, run_dir, condition, fingerprint)
    start = time.perf_counter()  # both ways include loading the model: the actor's start-up is part of the cost
    stream = local_generations(prompts, plan, generate) if local else stream_generations(prompts, plan, generate, 1)
    shards = list(stream)
    seconds = time.perf_counter() - start
    replies = {row_id: reply for shard in shards for row_id, reply in zip(shard["dialogue_id"], shard["reply"])}
    generated = sum(int(shard["reply_tokens"].sum()) for shard in shards)
    return replies, (generated + sum(p["prompt_tokens"] for p in prompts)) / seconds


@dataclass(frozen=True)
class GpuBench:
    """The GPU stage of `make bench`: what its runs share, and each side of its comparisons, `repeats` times."""

    job: TrainingJob            # the composed config's training; its model (the tiny one) lends its tokenizer
    generate: GenerateConfig
    repeats: int
    steps: int
    batch_size: int
    generation_rows: int
    bench_dir: Path

    def suite_rates(self, model: ModelConfig, deepspeed: DeepSpeedConfig, label: str) -> list[float]:
        return [suite_tokens_per_second(gpu_training_job(self.job, model, self.steps, self.batch_size,
                                                         f"{label}-r{r}", self.bench_dir, deepspeed))
                for r in range(self.repeats)]

    def hf_trainer_rates(self, model: ModelConfig, label: str) -> list[float]:
        job = gpu_training_job(self.job, model, self.steps, self.batch_size, label, self.bench_dir, self.job.deepspeed)
        return [hf_trainer_tokens_per_second(job, self.steps) for _ in range(self.repeats)]

    def generation_rates(self, model: ModelConfig, backend: str) -> list[float]:
        """Prompt + generated tokens/s of the generation stage with one actor on one GPU."""
        generate = gpu_generate(self.generate, backend)
        return [generation_run(generate, model, self.job.prompt, self.job.data_dir, self.job.run_dir,
                               self.generation_rows)[1] for _ in range(self.repeats)]


def bench_gpu(config: TideConfig, presets: dict[str, ModelConfig], zero2: DeepSpeedConfig, repeats: int, steps: int,
              batch_size: int, generation_rows: int, bench_dir: Path) -> tuple[list[dict], dict]:
    """Results, and the measured single-GPU throughput per model for the sweep planner.

    `presets`: {conf/model name: its model slice}; the first one also runs the comparisons.
    """
    bench = GpuBench(TrainingJob.from_config(config), config.generate, repeats, steps, batch_size, generation_rows,
                     bench_dir)
    device = device_name("cuda")
    results, throughput = [], {"device": device, "models": {}}
    for index, (name, preset) in enumerate(presets.items()):
        model = materialize_preset(preset, config.model.path, bench_dir / "presets" / name)  # the tiny tokenizer
        ddp = bench.suite_rates(model, bench.job.deepspeed, f"{name}-ddp")
        results.append(mfu_result(name, model, bench, ddp, device))
        throughput["models"][model.name] = {"train_tokens_per_s": _upper_median(ddp)}
        generate_hf = bench.generation_rates(model, "hf")
        throughput["models"][model.name]["generate_tokens_per_s"] = _upper_median(generate_hf)
        if index == 0:
            results += comparison_results(bench, name, model, ddp, generate_hf, zero2, device)
    return results, throughput


def mfu_result(name: str, model: ModelConfig, bench: GpuBench, ddp: list[float], device: str) -> dict:
    from tide.models.presets import parameter_counts

    params, trainable = parameter_counts(model.architecture, bench.job.train)
    telemetry = [training_telemetry(params, trainable, rate, device) for rate in ddp]
    return measured(f"lora_mfu_{name}", f"LoRA MFU, {model.name} (suite, DDP, 1 GPU)",
                    [t["mfu"] for t in telemetry], "", device, GPU_TARGETS["lora_mfu"],
                    {"tokens_per_s": ddp, "params": params, "trainable_params": trainable,
                     "batch_size": bench.batch_size, "steps": bench.steps})


def comparison_results(bench: GpuBench, name: str, model: ModelConfig, ddp: list[float], generate_hf: list[float],
                       zero2: DeepSpeedConfig, device: str) -> list[dict]:
    """ZeRO-2 / DDP, suite / HF Trainer and vLLM / HF generate, on one preset (each ratio paired per repeat)."""
    zero = bench.suite_rates(model, zero2, f"{name}-zero2")
    results = [measured("zero2_vs_ddp", f"ZeRO-2 / DDP (tokens/s, {model.name}, 1 GPU)",
                        [z / d for z, d in zip(zero, ddp)], "x", device, None, {"zero2_tokens_per_s": zero})]
    hf = bench.hf_trainer_rates(model, f"{name}-hf")
    results.append(measured("suite_vs_hf_trainer", f"Suite / HF Trainer+PEFT (tokens/s, {model.name})",
                            [d / h for d, h in zip(ddp, hf)], "x", device, GPU_TARGETS["suite_vs_hf_trainer"],
                            {"hf_trainer_tokens_per_s": hf}))
    label = f"vLLM / HF generate (tokens/s, {model.name})"
    if importlib.util.find_spec("vllm") is None:
        return results + [skipped("vllm_vs_hf_generate", label, "vllm is not installed (pip install vllm)",
                                  GPU_TARGETS["vllm_vs_hf_generate"])]
    vllm = bench.generation_rates(model, "vllm")
    return results + [measured("vllm_vs_hf_generate", label, [v / h for v, h in zip(vllm, generate_hf)], "x",
                               device, GPU_TARGETS["vllm_vs_hf_generate"],
                               {"vllm_tokens_per_s": vllm, "hf_tokens_per_s": generate_hf})]


def _upper_median(values: list[float]) -> float:
    """The middle value (the upper of the two middle ones for an even count)."""
    return sorted(values)[len(values) // 2]
