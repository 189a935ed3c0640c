"""`make gpu-check`: the GPU acceptance run, at most 8 minutes on one H100/H200-class GPU (docs/benchmarks.md).

Each check is one small function of a GpuCheckSetup that returns its measurements or raises; run_check
gives it a time budget, samples the GPU memory in use while it runs, and turns whatever happens into a
status: ok, failed, timeout, missing (a package it needs is not installed) or skipped (no time left).
The runs themselves (the preset on disk, a training job on one GPU, the HF Trainer baseline, one
generation run) are the GPU benchmark's (tide/bench/gpu.py).
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tide.bench.gpu import (GPU_TARGETS, generation_run, gpu_generate, gpu_training_job, hf_trainer_tokens_per_second,
                            materialize_preset)
from tide.bench.results import target_met
from tide.bench.training import train_untracked
from tide.config import DeepSpeedConfig, GenerateConfig, ModelConfig, TrainConfig, with_options
from tide.core.domain import FINETUNED
from tide.train.job import TrainingJob

GPU_CHECK_BUDGET_S = 480
# What every check needs (the script composes conf/, builds the data artifact and loads models); the checks'
# own `needs` list what they add. A GPU machine with only torch preinstalled lacks some of these.
GPU_CHECK_BASE_PACKAGES = ("hydra", "omegaconf", "transformers", "peft", "accelerate", "tokenizers", "pyarrow",
                           "pandas")
QLORA_STEPS = 5
ZERO2_STEPS = 10
PARITY_MIN = 0.90  # greedy replies identical, vLLM vs HF generate


class CheckFailed(AssertionError):
    """A check ran and its result is wrong (a non-finite loss, no adapter, replies that disagree)."""


class CheckTimeout(Exception):
    """A check ran past its budget."""


@dataclass
class GpuCheckSetup:
    """What the checks read: the composed slices, the models, the sizes, and earlier measurements."""

    job: TrainingJob             # the suite's defaults (train=lora, deepspeed=none; the tiny model's tokenizer)
    generate: GenerateConfig     # generate=hf
    train_preset: ModelConfig    # conf/model preset trained at its real shape with random weights
    qlora_train: TrainConfig     # conf/train/qlora
    zero2: DeepSpeedConfig       # conf/deepspeed/zero2
    generation_model: ModelConfig  # SmolLM2-135M-Instruct when it resolves here, else the tiny model
    generation_note: str
    bench_dir: Path
    steps: int = 50
    batch_size: int = 16
    generation_rows: int = 256
    generation_new_tokens: int = 64
    measured: dict = field(default_factory=dict)
    preset_model: ModelConfig | None = None

    def train_model(self) -> ModelConfig:
        """The preset's random-weight model on disk, built by the first check that needs it."""
        if self.preset_model is None:
            self.preset_model = materialize_preset(self.train_preset, self.job.model.path,
                                                   self.bench_dir / "presets" / self.train_preset.name)
        return self.preset_model

    def training_job(self, label: str, steps: int, deepspeed: DeepSpeedConfig, options: dict | None = None
                     ) -> TrainingJob:
        """The preset's short training on one GPU worker, with `options` ({"train.method": "qlora"}) on top."""
        job = gpu_training_job(self.job, self.train_model(), steps, self.batch_size, label, self.bench_dir, deepspeed)
        return with_options(job, options) if options else job


@dataclass(frozen=True)
class Check:
    name: str
    what: str                    # printed as the plan, and with the result
    needs: tuple[str, ...]       # packages beyond the CPU stack
    budget_s: int
    run: Callable[[GpuCheckSetup], dict]


def check_lora(setup: GpuCheckSetup) -> dict:
    summary = train_untracked(setup.training_job("check-lora", setup.steps, setup.job.deepspeed))
    rate = summary["tokens_per_second_per_worker"][0]
    setup.measured["suite_tokens_per_s"] = rate
    return {"model": setup.train_preset.name, "steps": summary["steps"], "tokens_per_s": rate,
            "mfu": summary["telemetry"]["mfu"], "final_loss": summary["final_train_loss"]}


def check_lora_hf_trainer(setup: GpuCheckSetup) -> dict:
    import gc

    import torch

    rate = hf_trainer_tokens_per_second(setup.training_job("check-hf", setup.steps, setup.job.deepspeed), setup.steps)
    gc.collect()
    torch.cuda.empty_cache()  # it ran in this process: give the memory back before vLLM asks for its share
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
            "tokens_per_s": summary["tokens_per_second_per_worker"][0]}


def check_zero2(setup: GpuCheckSetup) -> dict:
    """Ray Train's TorchTrainer sets up torch.distributed over NCCL on GPU workers; DeepSpeed runs on top."""
    import torch

    gpus = torch.cuda.device_count()
    summary = train_untracked(setup.training_job("check-zero2", ZERO2_STEPS, setup.zero2,
                                                 {"cluster.num_workers": gpus}))
    if summary["deepspeed_stage"] != 2 or summary["world_size"] != gpus:
        raise CheckFailed(f"ran stage {summary['deepspeed_stage']} on {summary['world_size']} workers, not 2 on {gpus}")
    return {"gpus": gpus, "steps": summary["steps"], "final_loss": summary["final_train_loss"],
            "tokens_per_s": sum(summary["tokens_per_second_per_worker"])}


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
    """The checks in the order they run (the HF Trainer ratio needs the suite's LoRA run first).

    Budgets: 380 s in all, leaving ~100 s of the 480 for the setup (data artifact, the preset's random
    weights, SmolLM2's one-time conversion, Ray); vLLM's includes its engine start (compile, CUDA graphs).
    """
    return [
        Check("lora", "bf16 LoRA, the suite's loop (Ray Train, 1 GPU): tokens/s and MFU", ("ray",), 70, check_lora),
        Check("lora_hf_trainer", "the same run in HF Trainer + PEFT: tokens/s, suite / HF", (), 50,
              check_lora_hf_trainer),
        Check("qlora", f"QLoRA, {QLORA_STEPS} steps on a 4-bit NF4 base: finite loss, adapter saved",
              ("ray", "bitsandbytes"), 50, check_qlora),
        Check("zero2_nccl", f"DeepSpeed ZeRO-2 over NCCL on every GPU present, {ZERO2_STEPS} steps",
              ("ray", "deepspeed"), 60, check_zero2),
        Check("vllm_vs_hf", "vLLM (ray.data.llm) + LoRA vs HF generate, same prompts: greedy parity, tokens/s",
              ("ray", "vllm"), 150, check_vllm_vs_hf),
    ]


def missing_packages(packages: tuple[str, ...]) -> list[str]:
    return [package for package in packages if importlib.util.find_spec(package) is None]


class PeakDeviceMemory:
    """The peak GPU memory in use (all processes: Ray workers and vLLM's engine too), in GiB, sampled from the
    driver every `interval_s` with torch.cuda.mem_get_info; None without CUDA."""

    def __init__(self, interval_s: float = 0.1):
        import threading

        self.interval_s, self.peak_gib, self._stop = interval_s, None, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _used_gib(self) -> float:
        import torch

        return max((total - free) / 2**30 for free, total in
                   (torch.cuda.mem_get_info(device) for device in range(torch.cuda.device_count())))

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_gib = max(self.peak_gib or 0.0, self._used_gib())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakDeviceMemory:
        import torch

        if torch.cuda.is_available():
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


@contextmanager
def time_limit(seconds: float):
    """Raise CheckTimeout in this (the main) thread after `seconds`."""
    def expire(signum, frame):
        raise CheckTimeout(f"over its {seconds:.0f} s budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_check(check: Check, setup: GpuCheckSetup, seconds_left: float, min_budget_s: float = 10) -> dict:
    """One check's record: status, seconds, peak GPU memory, its measurements, and a one-line error if any.

    It runs for at most its own budget or what is left of the whole run's, and not at all under `min_budget_s`.
    """
    record = {"name": check.name, "what": check.what, "status": "ok", "seconds": 0.0, "peak_memory_gib": None,
              "results": {}, "error": None}
    missing = missing_packages(check.needs)
    budget = min(check.budget_s, seconds_left)
    if missing:
        return {**record, "status": "missing", "error": f"not installed: {', '.join(missing)} (make install GPU=1)"}
    if budget < min_budget_s:
        return {**record, "status": "skipped", "error": f"{seconds_left:.0f} s left of the gpu-check budget"}
    start, memory = time.perf_counter(), PeakDeviceMemory()
    try:
        with memory, time_limit(budget):
            record["results"] = check.run(setup)
    except CheckTimeout as error:
        record.update(status="timeout", error=str(error))
    except Exception as error:  # recorded; the other checks still run
        record.update(status="failed", error=f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
                      if str(error).strip() else type(error).__name__)
    record.update(seconds=time.perf_counter() - start, peak_memory_gib=memory.peak_gib)
    return record


def run_gpu_checks(setup: GpuCheckSetup, checks: list[Check], budget_s: float, started: float) -> list[dict]:
    records = []
    for check in checks:
        print(f"gpu-check: {check.name}: {check.what} ...", flush=True)
        records.append(run_check(check, setup, budget_s - (time.perf_counter() - started)))
        print(f"gpu-check: {check.name}: {records[-1]['status']} ({records[-1]['seconds']:.0f} s)"
              + (f": {records[-1]['error']}" if records[-1]["error"] else ""), flush=True)
    return records


def _numbers(results: dict) -> str:
    def show(value) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{key}={show(value)}" for key, value in results.items()
                     if isinstance(value, (int, float)) and not isinstance(value, bool))


def format_check_table(records: list[dict], device: str) -> str:
    """One line per check, then the three targets of docs/benchmarks.md with what this run measured."""
    rows = [("check", "status", "s", "peak GiB", "measured")]
    for r in records:
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else "-"
        rows.append((r["name"], r["status"], f"{r['seconds']:.0f}", memory, r["error"] or _numbers(r["results"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"gpu-check on {device}"] + ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
                                          for row in rows]
    found = {key: value for r in records for key, value in r["results"].items()}
    for name, key in (("lora_mfu", "mfu"), ("suite_vs_hf_trainer", "suite_vs_hf_trainer"),
                      ("vllm_vs_hf_generate", "vllm_vs_hf_generate")):
        target, value = GPU_TARGETS[name], found.get(key)
        verdict = "not measured" if value is None else ("met" if target_met(value, target) else "MISSED")
        lines.append(f"target {name} {target['op']} {target['value']}: "
                     f"{'-' if value is None else f'{value:.3g}'} ({verdict})")
    return "\n".join(lines)


def format_check_plan(checks: list[Check], budget_s: float) -> str:
    """What gpu-check would run: each check, its budget, and the packages it would need but lacks here."""
    lines = [f"gpu-check would run, within {budget_s / 60:.0f} min on one H100/H200-class GPU:"]
    base = missing_packages(GPU_CHECK_BASE_PACKAGES)
    if base:
        lines.append(f"  (it cannot start here: not installed: {', '.join(base)})")
    for check in checks:
        missing = missing_packages(check.needs)
        lines.append(f"  {check.name:<16} {check.budget_s:>4} s  {check.what}"
                     + (f"  [missing here: {', '.join(missing)}]" if missing else ""))
    return "\n".join(lines)
