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
import tempfile
import time
from pathlib import Path

from tide.bench.flops import device_name, parameter_counts, training_telemetry
from tide.bench.results import measured, skipped

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


def generation_tokens_per_second(config: dict, model_cfg: dict, backend: str, rows: int) -> float:
    """Prompt + generated tokens/s of the generation stage with one actor on one GPU."""
    from tide.generate.pipeline import load_prompts, plan_condition, stream_generations

    run = copy.deepcopy(config)
    run["model"] = model_cfg
    run["generate"].update(backend=backend, precision="auto", cpus_per_actor=2, gpus_per_actor=1,
                           gpu_memory_utilization=0.85 if backend == "vllm" else None)
    prompts, fingerprint = load_prompts(run)
    prompts = prompts[:rows]
    plan = plan_condition(run, "zero_shot", fingerprint)
    start = time.perf_counter()
    generated = sum(int(shard["reply_tokens"].sum()) for shard in stream_generations(prompts, plan, run["generate"], 1))
    seconds = time.perf_counter() - start
    return (generated + sum(p["prompt_tokens"] for p in prompts)) / seconds


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
