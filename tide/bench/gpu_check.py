"""`make gpu-check`: the GPU acceptance run, at most 8 minutes on one H100/H200-class GPU (docs/benchmarks.md).

Each check is one small function of a GpuCheckSetup that returns its measurements or raises;
tide/bench/check_runner.py gives it its time budget, samples the GPU memory while it runs and turns the
outcome into a status. The runs themselves (a preset on disk, a training job on one GPU, the HF Trainer
baseline, a generation run) are the GPU benchmark's (tide/bench/gpu.py). Training runs with the setup's
runner: Ray Train, or the suite's loop alone in this process (cluster.runner=bare, where Ray is absent);
the two overhead checks run the other way too when Ray is there, on the same steps or prompts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tide.bench.check_runner import Check, CheckFailed
from tide.bench.gpu import (generation_run, gpu_generate, gpu_training_job, hf_trainer_tokens_per_second,
                            materialize_preset)
from tide.bench.training import train_untracked
from tide.config import DeepSpeedConfig, GenerateConfig, ModelConfig, TrainConfig, with_options
from tide.core.domain import FINETUNED
from tide.train.job import TrainingJob

GPU_CHECK_BUDGET_S = 480
QLORA_STEPS = 1
ZERO2_STEPS = 10
PARITY_MIN = 0.90  # greedy replies identical, vLLM vs HF generate


@dataclass
class GpuCheckSetup:
    """What the checks read: the composed slices, the models, the sizes, and earlier measurements."""

    job: TrainingJob             # the suite's defaults (train=lora, deepspeed=none; the tiny model's tokenizer)
    generate: GenerateConfig     # generate=hf
    train_preset: ModelConfig    # conf/model preset trained at its real shape with random weights (1.5B)
    qlora_train: TrainConfig     # conf/train/qlora
    zero2: DeepSpeedConfig       # conf/deepspeed/zero2
    generation_model: ModelConfig  # SmolLM2-135M-Instruct when it resolves here, else the tiny model (vLLM check)
    generation_note: str
    bench_dir: Path
    large_preset: ModelConfig | None = None  # a second, larger preset for LoRA throughput (3B)
    runner: str = "ray"          # cluster.runner of every training check: ray or bare
    steps: int = 50
    batch_size: int = 16
    generation_rows: int = 256
    generation_new_tokens: int = 64
    measured: dict = field(default_factory=dict)
    on_disk: dict = field(default_factory=dict)  # preset name -> its model slice once materialized

    def model(self, preset: ModelConfig | None = None) -> ModelConfig:
        """The preset's random-weight model on disk (the 1.5B one by default), built once."""
        preset = preset or self.train_preset
        if preset.name not in self.on_disk:
            self.on_disk[preset.name] = materialize_preset(preset, self.job.model.path,
                                                           self.bench_dir / "presets" / preset.name)
        return self.on_disk[preset.name]

    def training_job(self, label: str, steps: int, deepspeed: DeepSpeedConfig, options: dict | None = None,
                     preset: ModelConfig | None = None, runner: str | None = None) -> TrainingJob:
        """A short bf16 LoRA training of a preset on one GPU, with `options` ({"train.method": "qlora"}) on top."""
        job = gpu_training_job(self.job, self.model(preset), steps, self.batch_size, label, self.bench_dir, deepspeed)
        return with_options(job, {"cluster.runner": runner or self.runner, **(options or {})})

    def generation(self) -> GenerateConfig:
        """The generate slice for the 1.5B preset's batched HF generate: greedy, `generation_new_tokens` each."""
        return with_options(gpu_generate(self.generate, "hf", batch_size=64), {
            "limit": None, "sampling.do_sample": False, "sampling.max_new_tokens": self.generation_new_tokens},
            path="generate")


def timed_training(job: TrainingJob) -> tuple[dict, float]:
    """(training summary, wall seconds of the whole call: start-up, steps, checkpoint, outputs)."""
    start = time.perf_counter()
    summary = train_untracked(job)
    return summary, time.perf_counter() - start


def lora_results(summary: dict, model: ModelConfig, wall_s: float) -> dict:
    return {"model": model.name, "runner": summary["runner"], "steps": summary["steps"],
            "tokens_per_s": summary["tokens_per_second_per_worker"][0], "mfu": summary["telemetry"]["mfu"],
            "final_loss": summary["final_train_loss"], "peak_allocated_gib": summary["peak_memory_gb_per_worker"][0],
            "wall_s": wall_s}


def check_lora(setup: GpuCheckSetup) -> dict:
    summary, wall = timed_training(setup.training_job("check-lora", setup.steps, setup.job.deepspeed))
    results = lora_results(summary, setup.model(), wall)
    setup.measured.update(suite_tokens_per_s=results["tokens_per_s"], lora_wall_s=wall)
    return results


def check_lora_large(setup: GpuCheckSetup) -> dict:
    preset = setup.large_preset
    summary, wall = timed_training(setup.training_job("check-lora-large", setup.steps, setup.job.deepspeed,
                                                      preset=preset))
    return lora_results(summary, setup.model(preset), wall)


def check_lora_hf_trainer(setup: GpuCheckSetup) -> dict:
    import gc

    import torch

    rate = hf_trainer_tokens_per_second(setup.training_job("check-hf", setup.steps, setup.job.deepspeed), setup.steps)
    gc.collect()
    torch.cuda.empty_cache()  # it ran in this process: give the memory back to the checks after it
    suite = setup.measured.get("suite_tokens_per_s")
    return {"tokens_per_s": rate, "suite_vs_hf_trainer": suite / rate if suite else None}


def check_qlora(setup: GpuCheckSetup) -> dict:
    import math

    summary = train_untracked(setup.training_job("check-qlora", QLORA_STEPS, setup.job.deepspeed, {
        "train.method": setup.qlora_train.method, "train.quantize_4bit": setup.qlora_train.quantize_4bit}))
    loss, adapter = summary["final_train_loss"], Path(summary["adapter_dir"] or "")
    if loss is None or not math.isfinite(loss):
        raise CheckFailed(f"QLoRA loss is {loss}")
    if not (adapter / "adapter_model.safetensors").is_file():
        raise CheckFailed(f"no adapter saved (adapter_dir={summary['adapter_dir']})")
    return {"steps": summary["steps"], "final_loss": loss, "adapter": str(adapter),
            "tokens_per_s": summary["tokens_per_second_per_worker"][0],
            "peak_allocated_gib": summary["peak_memory_gb_per_worker"][0]}


def check_zero2(setup: GpuCheckSetup) -> dict:
    """DeepSpeed ZeRO-2 over NCCL: Ray Train's process group on every GPU, or the bare runner's one-process group."""
    import torch

    gpus = max(torch.cuda.device_count(), 1) if setup.runner == "ray" else 1
    summary = train_untracked(setup.training_job("check-zero2", ZERO2_STEPS, setup.zero2,
                                                 {"cluster.num_workers": gpus}))
    if summary["deepspeed_stage"] != 2 or summary["world_size"] != gpus:
        raise CheckFailed(f"ran stage {summary['deepspeed_stage']} on {summary['world_size']} workers, not 2 on {gpus}")
    return {"gpus": gpus, "runner": summary["runner"], "steps": summary["steps"],
            "final_loss": summary["final_train_loss"], "tokens_per_s": sum(summary["tokens_per_second_per_worker"]),
            "peak_allocated_gib": max(summary["peak_memory_gb_per_worker"])}


def check_hf_generate(setup: GpuCheckSetup) -> dict:
    """Batched HF generate of the 1.5B preset, the generation stage's own engine in a plain loop (no Ray)."""
    model = setup.model()
    start = time.perf_counter()
    _, rate = generation_run(setup.generation(), model, setup.job.prompt, setup.job.data_dir,
                             str(setup.bench_dir / "runs" / "check-generate"), setup.generation_rows, local=True)
    setup.measured.update(plain_generate_tokens_per_s=rate, plain_generate_wall_s=time.perf_counter() - start)
    return {"model": model.name, "rows": setup.generation_rows, "new_tokens": setup.generation_new_tokens,
            "batch_size": 64, "tokens_per_s": rate}


def check_ray_train_overhead(setup: GpuCheckSetup) -> dict:
    """The LoRA check's steps again with the other runner: what Ray Train adds, per step and in all."""
    other = "bare" if setup.runner == "ray" else "ray"
    summary, wall = timed_training(setup.training_job("check-lora-other", setup.steps, setup.job.deepspeed,
                                                      runner=other))
    if "suite_tokens_per_s" not in setup.measured:
        raise CheckFailed("the lora check did not run: nothing to compare with")
    rates = {setup.runner: setup.measured["suite_tokens_per_s"], other: summary["tokens_per_second_per_worker"][0]}
    walls = {setup.runner: setup.measured["lora_wall_s"], other: wall}
    return {"ray_tokens_per_s": rates["ray"], "bare_tokens_per_s": rates["bare"],
            "ray_vs_bare_step_throughput": rates["ray"] / rates["bare"],
            "ray_wall_s": walls["ray"], "bare_wall_s": walls["bare"], "ray_overhead_s": walls["ray"] - walls["bare"]}


def check_ray_data_overhead(setup: GpuCheckSetup) -> dict:
    """The same prompts through a Ray Data actor (the generation stage's path) vs the plain loop."""
    if "plain_generate_tokens_per_s" not in setup.measured:
        raise CheckFailed("the hf_generate check did not run: nothing to compare with")
    start = time.perf_counter()
    _, rate = generation_run(setup.generation(), setup.model(), setup.job.prompt, setup.job.data_dir,
                             str(setup.bench_dir / "runs" / "check-generate-ray"), setup.generation_rows)
    plain = setup.measured["plain_generate_tokens_per_s"]
    return {"ray_data_tokens_per_s": rate, "plain_tokens_per_s": plain, "ray_data_vs_plain": rate / plain,
            "ray_data_wall_s": time.perf_counter() - start, "plain_wall_s": setup.measured["plain_generate_wall_s"]}


def random_adapter(model: ModelConfig, out_dir: Path, r: int = 8, scale: float = 0.01) -> Path:
    """A LoRA adapter with small random B matrices (PEFT starts B at zero, which would change nothing)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tide.models.loading import load_model

    if not (out_dir / "adapter_model.safetensors").is_file():
        network = get_peft_model(load_model(model, "float32"), LoraConfig(
            r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, parameter in network.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
        network.save_pretrained(out_dir)
    return out_dir


def check_vllm_vs_hf(setup: GpuCheckSetup) -> dict:
    """The generation stage, fine-tuned condition (base + adapter), greedy, one actor: HF generate, then vLLM."""
    model, rows = setup.generation_model, setup.generation_rows
    generate = with_options(setup.generate, {
        "adapter_dir": str(random_adapter(model, setup.bench_dir / "generation-adapter")), "merged_dir": None,
        "limit": None, "sampling.do_sample": False, "sampling.max_new_tokens": setup.generation_new_tokens},
        path="generate")
    inputs = (model, setup.job.prompt, setup.job.data_dir, str(setup.bench_dir / "runs" / "check-generation"), rows,
              FINETUNED)
    # The same batch size for both: 64 rows fill the GPU better than HF's CPU-sized default of 16. vLLM takes
    # half the GPU: this process and the HF actor that just finished may still hold some of it.
    hf, hf_rate = generation_run(gpu_generate(generate, "hf", batch_size=64), *inputs)
    vllm, vllm_rate = generation_run(gpu_generate(generate, "vllm", batch_size=64, gpu_memory_utilization=0.5),
                                     *inputs)
    if len(hf) < rows or vllm.keys() != hf.keys():
        raise CheckFailed(f"{len(hf)} HF and {len(vllm)} vLLM replies for {rows} prompts")
    identical = sum(hf[key] == vllm[key] for key in hf) / len(hf)
    result = {"model": model.name, "model_note": setup.generation_note, "rows": len(hf),
              "new_tokens": setup.generation_new_tokens, "identical": identical, "hf_tokens_per_s": hf_rate,
              "vllm_tokens_per_s": vllm_rate, "vllm_vs_hf_generate": vllm_rate / hf_rate}
    if identical < PARITY_MIN:
        raise CheckFailed(f"greedy replies identical for {identical:.0%} of {len(hf)} rows (< {PARITY_MIN:.0%}): {result}")
    return result


def gpu_checks() -> list[Check]:
    """The checks in the order they run (the ratios need the run they compare with first).

    Each budget is a cap for that check alone, set from one H200 run (2026-12-04, docs/benchmarks.md): under
    Ray Train a short training spends ~40 s starting workers and saving its checkpoint. The whole run's
    budget (GPU_CHECK_BUDGET_S) is the bound: a check gets at most what is left of it.
    """
    return [
        Check("lora", "bf16 LoRA, the suite's loop on 1 GPU (1.5B preset): tokens/s and MFU", (), 80, check_lora),
        Check("lora_hf_trainer", "the same run in HF Trainer + PEFT: tokens/s, suite / HF", (), 45,
              check_lora_hf_trainer),
        Check("lora_3b", "bf16 LoRA of the 3B preset, same steps: tokens/s and MFU", (), 80, check_lora_large),
        Check("zero2_nccl", f"DeepSpeed ZeRO-2 over NCCL, {ZERO2_STEPS} steps", ("deepspeed",), 70, check_zero2),
        Check("qlora", f"QLoRA, {QLORA_STEPS} step on a 4-bit NF4 base: finite loss, adapter saved",
              ("bitsandbytes",), 60, check_qlora),
        Check("hf_generate", "batched HF generate of the 1.5B preset, plain loop: tokens/s", (), 30,
              check_hf_generate),
        Check("ray_train_overhead", "the lora check's steps with the other runner: Ray Train vs bare loop",
              ("ray",), 90, check_ray_train_overhead),
        Check("ray_data_overhead", "hf_generate's prompts through a Ray Data actor vs the plain loop", ("ray",), 45,
              check_ray_data_overhead),
        Check("vllm_vs_hf", "vLLM (ray.data.llm) + LoRA vs HF generate, same prompts: greedy parity, tokens/s",
              ("ray", "vllm"), 120, check_vllm_vs_hf),
    ]
