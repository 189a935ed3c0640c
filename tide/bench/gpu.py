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
"""

from __future__ import annotations

import copy
import importlib.util
import signal
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tide.core.telemetry import device_name, parameter_counts, training_telemetry
from tide.bench.results import measured, skipped, target_met

GPU_TARGETS = {
    "lora_mfu": {"op": ">=", "value": 0.40},
    "suite_vs_hf_trainer": {"op": ">=", "value": 1.5},
    "vllm_vs_hf_generate": {"op": ">=", "value": 5.0},
}


def gpu_unavailable() -> str | None:
    """Why the GPU benchmarks cannot run here, or None."""
    import torch

    return None if torch.cuda.is_available() else "no CUDA device (torch.cuda.is_available() is False)"


def materialize_preset(model_cfg: dict, tokenizer_dir: str | Path, out_dir: Path) -> dict:
    """A random-weight model of the preset's shape on disk, with the tokenizer; its model config."""
    import torch
    from transformers import AutoTokenizer

    from tide.models.presets import build_random_model

    if not (out_dir / "config.json").is_file():
        build_random_model(model_cfg["architecture"], dtype=torch.bfloat16).save_pretrained(out_dir)
        AutoTokenizer.from_pretrained(str(tokenizer_dir)).save_pretrained(out_dir)
    return {**model_cfg, "path": str(out_dir), "hf_id": None, "stop_token": None}


def gpu_training_config(config: dict, model_cfg: dict, steps: int, batch_size: int, label: str, bench_dir: Path,
                        ds_config: dict) -> dict:
    run = copy.deepcopy(config)
    run["model"], run["deepspeed"] = model_cfg, ds_config
    run["train"].update(max_steps=steps, per_device_batch_size=batch_size, gradient_accumulation_steps=1,
                        eval_every_steps=10**9, save_every_steps=10**9, eval_max_batches=1, resume=False,
                        merge=False, precision="bf16")
    run["train"]["lora"]["target_modules"] = model_cfg["lora_target_modules"]
    run["cluster"].update(num_workers=1, use_gpu=True, gpus_per_worker=1, cpus_per_worker=2,
                          storage_path=str(bench_dir / "ray"))
    run["logger"]["mode"] = "disabled"
    run["run"].update(name=f"bench-{label}", dir=str(bench_dir / "runs" / label))
    return run


def suite_tokens_per_second(config: dict) -> float:
    from tide.train.trainer import train

    return train(config)["tokens_per_second_per_worker"][0]


def hf_trainer_tokens_per_second(config: dict, steps: int) -> float:
    """transformers' Trainer with the suite's PEFT model, split and batch size: the baseline a user writes."""
    import torch
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    from tide.data.artifact import load_split
    from tide.data.chat import IGNORE_INDEX
    from tide.models.loading import load_tokenizer
    from tide.train.data import encode_split
    from tide.train.model import build_model

    train_cfg = config["train"]
    tokenizer = load_tokenizer(config["model"])
    examples = encode_split(load_split(config["data"]["artifact_dir"], "train"), tokenizer, config["prompt"]["system"],
                            config["prompt"]["max_length"], config["model"]["stop_token"]).examples
    on_gpu = torch.cuda.is_available()  # the CPU path exists for the tests
    device = torch.device("cuda" if on_gpu else "cpu")
    model = build_model(config["model"], train_cfg, "bf16" if on_gpu else "fp32", device)
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
        args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=int(train_cfg["per_device_batch_size"]),
            gradient_accumulation_steps=1, max_steps=steps, learning_rate=float(train_cfg["learning_rate"]),
            lr_scheduler_type=train_cfg["lr_scheduler"],
            warmup_steps=float(train_cfg["warmup_ratio"]),  # a float below 1 is a ratio of max_steps
            max_grad_norm=float(train_cfg["max_grad_norm"]), bf16=on_gpu, use_cpu=not on_gpu,
            train_sampling_strategy="group_by_length", save_strategy="no", report_to="none", logging_steps=steps, remove_unused_columns=False,
            dataloader_num_workers=0)
        Trainer(model=model, args=args, train_dataset=examples, data_collator=collate,
                callbacks=[StepTimer()]).train()
    # The collator may run one batch ahead of the last timed step: a bias of at most 1/steps.
    return meter["tokens"] / meter["seconds"]


def generation_run(config: dict, model_cfg: dict, backend: str, rows: int, condition: str = "zero_shot",
                   batch_size: int | None = None, gpu_memory_utilization: float = 0.85) -> tuple[dict, float]:
    """The generation stage with `backend` and one actor on one GPU: ({dialogue_id: reply}, prompt + generated tokens/s)."""
    from tide.generate.pipeline import load_prompts, plan_condition, stream_generations

    run = copy.deepcopy(config)
    run["model"] = model_cfg
    run["generate"].update(backend=backend, precision="auto", cpus_per_actor=2, gpus_per_actor=1,
                           gpu_memory_utilization=gpu_memory_utilization if backend == "vllm" else None)
    if batch_size:
        run["generate"]["batch_size"] = batch_size
    prompts, fingerprint = load_prompts(run)
    prompts = prompts[:rows]
    plan = plan_condition(run, condition, fingerprint)
    start = time.perf_counter()
    shards = list(stream_generations(prompts, plan, run["generate"], 1))
    seconds = time.perf_counter() - start
    replies = {row_id: reply for shard in shards for row_id, reply in zip(shard["dialogue_id"], shard["reply"])}
    generated = sum(int(shard["reply_tokens"].sum()) for shard in shards)
    return replies, (generated + sum(p["prompt_tokens"] for p in prompts)) / seconds


def generation_tokens_per_second(config: dict, model_cfg: dict, backend: str, rows: int) -> float:
    """Prompt + generated tokens/s of the generation stage with one actor on one GPU."""
    return generation_run(config, model_cfg, backend, rows)[1]


def bench_gpu(config: dict, presets: dict[str, dict], zero2: dict, repeats: int, steps: int, batch_size: int,
              generation_rows: int, bench_dir: Path) -> tuple[list[dict], dict]:
    """Results, and the measured single-GPU throughput per model for the sweep planner.

    `presets`: {conf/model name: its model config}; the first one also runs the comparisons.
    """
    device = device_name("cuda")
    results, throughput = [], {"device": device, "models": {}}
    tokenizer_dir = config["model"]["path"]  # the tiny model's
    for index, (name, preset) in enumerate(presets.items()):
        model_cfg = materialize_preset(preset, tokenizer_dir, bench_dir / "presets" / name)
        params, trainable = parameter_counts(model_cfg["architecture"], config["train"])

        def run(ds_config: dict, label: str) -> float:
            return suite_tokens_per_second(gpu_training_config(config, model_cfg, steps, batch_size, label, bench_dir,
                                                               ds_config))

        ddp = [run(config["deepspeed"], f"{name}-ddp-r{r}") for r in range(repeats)]
        telemetry = [training_telemetry(params, trainable, rate, device) for rate in ddp]
        results.append(measured(f"lora_mfu_{name}", f"LoRA MFU, {model_cfg['name']} (suite, DDP, 1 GPU)",
                                [t["mfu"] for t in telemetry], "", device, GPU_TARGETS["lora_mfu"],
                                {"tokens_per_s": ddp, "params": params, "trainable_params": trainable,
                                 "batch_size": batch_size, "steps": steps}))
        throughput["models"][model_cfg["name"]] = {"train_tokens_per_s": sorted(ddp)[len(ddp) // 2]}
        generate_hf = [generation_tokens_per_second(config, model_cfg, "hf", generation_rows) for _ in range(repeats)]
        throughput["models"][model_cfg["name"]]["generate_tokens_per_s"] = sorted(generate_hf)[len(generate_hf) // 2]
        if index:
            continue
        zero = [run(zero2, f"{name}-zero2-r{r}") for r in range(repeats)]
        results.append(measured("zero2_vs_ddp", f"ZeRO-2 / DDP (tokens/s, {model_cfg['name']}, 1 GPU)",
                                [z / d for z, d in zip(zero, ddp)], "x", device, None, {"zero2_tokens_per_s": zero}))
        hf_config = gpu_training_config(config, model_cfg, steps, batch_size, f"{name}-hf", bench_dir,
                                        config["deepspeed"])
        hf = [hf_trainer_tokens_per_second(hf_config, steps) for _ in range(repeats)]
        results.append(measured("suite_vs_hf_trainer", f"Suite / HF Trainer+PEFT (tokens/s, {model_cfg['name']})",
                                [d / h for d, h in zip(ddp, hf)], "x", device, GPU_TARGETS["suite_vs_hf_trainer"],
                                {"hf_trainer_tokens_per_s": hf}))
        label = f"vLLM / HF generate (tokens/s, {model_cfg['name']})"
        if importlib.util.find_spec("vllm") is None:
            results.append(skipped("vllm_vs_hf_generate", label, "vllm is not installed (pip install vllm)",
                                   GPU_TARGETS["vllm_vs_hf_generate"]))
            continue
        vllm = [generation_tokens_per_second(config, model_cfg, "vllm", generation_rows) for _ in range(repeats)]
        results.append(measured("vllm_vs_hf_generate", label, [v / h for v, h in zip(vllm, generate_hf)], "x",
                                device, GPU_TARGETS["vllm_vs_hf_generate"],
                                {"vllm_tokens_per_s": vllm, "hf_tokens_per_s": generate_hf}))
    return results, throughput


# --- `make gpu-check`: the GPU acceptance run, at most 8 minutes on one H100/H200-class GPU ----------------
#
# Each check is one small function of a GpuCheckSetup that returns its measurements or raises; run_check
# gives it a time budget, samples the GPU memory in use while it runs, and turns whatever happens into a
# status: ok, failed, timeout, missing (a package it needs is not installed) or skipped (no time left).

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
    """What the checks read: the composed config and slices, the models, the sizes, and earlier measurements."""

    config: dict                 # the suite's defaults (generate=hf, deepspeed=none, train=lora; tiny tokenizer)
    train_preset: dict           # conf/model preset trained at its real shape with random weights
    qlora_train: dict            # conf/train/qlora
    zero2: dict                  # conf/deepspeed/zero2
    generation_model: dict       # SmolLM2-135M-Instruct when it resolves here, else the tiny model
    generation_note: str
    bench_dir: Path
    steps: int = 50
    batch_size: int = 16
    generation_rows: int = 256
    generation_new_tokens: int = 64
    measured: dict = field(default_factory=dict)
    preset_model: dict | None = None

    def train_model(self) -> dict:
        """The preset's random-weight model on disk, built by the first check that needs it."""
        if self.preset_model is None:
            self.preset_model = materialize_preset(self.train_preset, self.config["model"]["path"],
                                                   self.bench_dir / "presets" / self.train_preset["name"])
        return self.preset_model


@dataclass(frozen=True)
class Check:
    name: str
    what: str                    # printed as the plan, and with the result
    needs: tuple[str, ...]       # packages beyond the CPU stack
    budget_s: int
    run: Callable[[GpuCheckSetup], dict]


def _train_summary(setup: GpuCheckSetup, label: str, steps: int, ds_config: dict, **train_updates) -> dict:
    from tide.train.trainer import train

    run = gpu_training_config(setup.config, setup.train_model(), steps, setup.batch_size, label, setup.bench_dir,
                              ds_config)
    run["train"].update(train_updates)
    return train(run)


def check_lora(setup: GpuCheckSetup) -> dict:
    summary = _train_summary(setup, "check-lora", setup.steps, setup.config["deepspeed"])
    rate = summary["tokens_per_second_per_worker"][0]
    setup.measured["suite_tokens_per_s"] = rate
    return {"model": setup.train_preset["name"], "steps": summary["steps"], "tokens_per_s": rate,
            "mfu": summary["telemetry"]["mfu"], "final_loss": summary["final_train_loss"]}


def check_lora_hf_trainer(setup: GpuCheckSetup) -> dict:
    import gc

    import torch

    config = gpu_training_config(setup.config, setup.train_model(), setup.steps, setup.batch_size, "check-hf",
                                 setup.bench_dir, setup.config["deepspeed"])
    rate = hf_trainer_tokens_per_second(config, setup.steps)
    gc.collect()
    torch.cuda.empty_cache()  # it ran in this process: give the memory back before vLLM asks for its share
    suite = setup.measured.get("suite_tokens_per_s")
    return {"tokens_per_s": rate, "suite_vs_hf_trainer": suite / rate if suite else None}


def check_qlora(setup: GpuCheckSetup) -> dict:
    import math

    summary = _train_summary(setup, "check-qlora", QLORA_STEPS, setup.config["deepspeed"],
                             method=setup.qlora_train["method"], quantize_4bit=setup.qlora_train["quantize_4bit"])
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

    from tide.train.trainer import train

    gpus = torch.cuda.device_count()
    run = gpu_training_config(setup.config, setup.train_model(), ZERO2_STEPS, setup.batch_size, "check-zero2",
                              setup.bench_dir, setup.zero2)
    run["cluster"]["num_workers"] = gpus
    summary = train(run)
    if summary["deepspeed_stage"] != 2 or summary["world_size"] != gpus:
        raise CheckFailed(f"ran stage {summary['deepspeed_stage']} on {summary['world_size']} workers, not 2 on {gpus}")
    return {"gpus": gpus, "steps": summary["steps"], "final_loss": summary["final_train_loss"],
            "tokens_per_s": sum(summary["tokens_per_second_per_worker"])}


def random_adapter(model_cfg: dict, out_dir: Path, r: int = 8, scale: float = 0.01) -> Path:
    """A LoRA adapter with small random B matrices (PEFT starts B at zero, which would change nothing)."""
    import torch
    from peft import LoraConfig, get_peft_model

    from tide.models.loading import load_model

    if not (out_dir / "adapter_model.safetensors").is_file():
        model = get_peft_model(load_model(model_cfg, "float32"), LoraConfig(
            r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
        model.save_pretrained(out_dir)
    return out_dir


def check_vllm_vs_hf(setup: GpuCheckSetup) -> dict:
    """The generation stage, fine-tuned condition (base + adapter), greedy, one actor: HF generate, then vLLM."""
    model_cfg, rows = setup.generation_model, setup.generation_rows
    run = copy.deepcopy(setup.config)
    run["generate"].update(adapter_dir=str(random_adapter(model_cfg, setup.bench_dir / "generation-adapter")),
                           merged_dir=None, limit=None)
    run["generate"]["sampling"].update(do_sample=False, max_new_tokens=setup.generation_new_tokens)
    run["run"]["dir"] = str(setup.bench_dir / "runs" / "check-generation")
    # The same batch size for both: 64 rows fill the GPU better than HF's CPU-sized default of 16. vLLM takes
    # half the GPU: this process and the HF actor that just finished may still hold some of it.
    hf, hf_rate = generation_run(run, model_cfg, "hf", rows, "finetuned", batch_size=64)
    vllm, vllm_rate = generation_run(run, model_cfg, "vllm", rows, "finetuned", batch_size=64,
                                     gpu_memory_utilization=0.5)
    if len(hf) < rows or vllm.keys() != hf.keys():
        raise CheckFailed(f"{len(hf)} HF and {len(vllm)} vLLM replies for {rows} prompts")
    identical = sum(hf[key] == vllm[key] for key in hf) / len(hf)
    result = {"model": model_cfg["name"], "model_note": setup.generation_note, "rows": len(hf),
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
