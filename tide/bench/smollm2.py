"""CPU speed of the demo's model (SmolLM2-135M-Instruct), side by side with plain Hugging Face code.

- LoRA training tokens/s: the suite (Ray Train, 2 workers x 1 CPU, length-grouped batches) against a
  plain `transformers.Trainer` + PEFT on the same model, LoRA settings, training rows, global batch
  (per-device batch x workers), float32 and the same 2 CPUs (2 torch threads in one process).
  Both count the non-padding tokens of their batches over the time of their optimizer steps.
- Generation rows/s: Ray Data (2 actors x 1 CPU, the suite's engine) against a plain loop (one process,
  2 threads: tokenizer, left padding, `model.generate` in the same batches, greedy, the same
  max_new_tokens) on the same test rows, model loading included on both sides.
- The demo's wall time by stage, from the last `make demo` (${paths.outputs}/demo/summary.json).

Each worker's torch threads follow the CPUs Ray assigned it (tide.core.runtime.match_torch_threads_to_ray);
the training summary records them and the benchmark checks they equal cluster.cpus_per_worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tide.bench.cpu import suite_training
from tide.bench.results import measured, skipped
from tide.bench.training import encoded_train_split
from tide.config import GenerateConfig, ModelConfig, PromptConfig, TideConfig, TrainConfig
from tide.core.domain import TRAIN_SUMMARY_FILE, ZERO_SHOT
from tide.core.telemetry import device_name
from tide.train.job import TrainingJob

TARGETS = {
    "smollm2_lora_vs_hf_trainer": {"op": ">=", "value": 1.0},
    "smollm2_generation_vs_plain": {"op": ">=", "value": 0.9},
    "smollm2_demo_wall": {"op": "<=", "value": 900.0},
}


def training_rows(job: TrainingJob, steps: int, batch: int):
    """The encoded training examples both sides train on: enough for `steps` batches of `batch`."""
    from tide.models.loading import load_tokenizer

    tokenizer = load_tokenizer(job.model)
    return tokenizer, encoded_train_split(job, tokenizer, rows=steps * batch).examples


def hf_trainer_tokens_per_s(job: TrainingJob, steps: int, batch: int, threads: int, out_dir: Path) -> dict:
    """Plain transformers.Trainer + PEFT LoRA: non-pad tokens per second over its optimizer steps."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback

    from tide.models.loading import resolve_model_source
    from tide.train.data import collate

    tokenizer, examples = training_rows(job, steps, batch)
    lora = job.train.lora
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(job.seed)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(resolve_model_source(job.model),
                                                                    dtype=torch.float32),
                               LoraConfig(r=int(lora.r), lora_alpha=int(lora.alpha), lora_dropout=float(lora.dropout),
                                          target_modules=list(lora.target_modules), task_type="CAUSAL_LM"))
        counted = {"tokens": 0, "seconds": 0.0}

        def collator(features):
            return {key: value for key, value in collate(features, tokenizer.pad_token_id).items()
                    if key not in ("tokens", "padding")}

        class CountingTrainer(Trainer):
            # Counted where the batch is trained on: the data loader may collate one batch ahead.
            def training_step(self, model, inputs, *args, **kwargs):
                counted["tokens"] += int(inputs["attention_mask"].sum())
                return super().training_step(model, inputs, *args, **kwargs)

        class StepTimer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                self.began = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                counted["seconds"] += time.perf_counter() - self.began

        CountingTrainer(model=model, args=plain_training_arguments(job.train, job.seed, steps, batch, out_dir),
                        train_dataset=examples, data_collator=collator, callbacks=[StepTimer()]).train()
    finally:
        torch.set_num_threads(previous)
    return {"tokens_per_second": counted["tokens"] / counted["seconds"], "tokens": counted["tokens"],
            "seconds": counted["seconds"]}


def plain_training_arguments(train: TrainConfig, seed: int, steps: int, batch: int, out_dir: Path):
    """What a user would pass the Trainer: the suite's learning rate and seed, on the CPU, nothing saved or logged."""
    from transformers import TrainingArguments

    return TrainingArguments(output_dir=str(out_dir), max_steps=steps, per_device_train_batch_size=batch,
                             learning_rate=float(train.learning_rate), use_cpu=True, report_to=[],
                             save_strategy="no", logging_strategy="no", dataloader_num_workers=0,
                             remove_unused_columns=False, seed=seed)


def bench_training(job: TrainingJob, repeats: int, steps: int, bench_dir: Path) -> list[dict]:
    workers, per_device = job.cluster.num_workers, job.train.per_device_batch_size
    runs = []
    for repeat in range(repeats):
        suite = suite_training(job, workers, steps, f"smollm2-r{repeat}", bench_dir)
        summary = json.loads((bench_dir / "runs" / f"smollm2-r{repeat}" / TRAIN_SUMMARY_FILE).read_text())
        suite["torch_threads_per_worker"] = summary.get("torch_threads_per_worker")
        hf = hf_trainer_tokens_per_s(job, steps, workers * per_device, workers, bench_dir / "hf-trainer")
        runs.append({"suite": suite, "hf_trainer": hf})
    threads = [r["suite"]["torch_threads_per_worker"] for r in runs]
    details = {"model": job.model.name, "steps": steps, "workers": workers, "per_device_batch_size": per_device,
               "global_batch": workers * per_device, "precision": "fp32", "runs": runs,
               "threads_match_ray_cpus": all(t == [1] * workers for t in threads)}
    return [measured("smollm2_lora_vs_hf_trainer", "SmolLM2 LoRA tokens/s, suite / HF Trainer+PEFT",
                     [r["suite"]["tokens_per_second"] / r["hf_trainer"]["tokens_per_second"] for r in runs], "x",
                     device_name(), TARGETS["smollm2_lora_vs_hf_trainer"], details)]


def plain_generate_rows_per_s(generate: GenerateConfig, model: ModelConfig, prompts: list[dict], threads: int
                              ) -> float:
    """A plain `generate` loop in one process over the same prompt ids and batches; model load included."""
    import torch
    from transformers import AutoModelForCausalLM

    from tide.models.loading import load_tokenizer, resolve_model_source

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()
    try:
        tokenizer = load_tokenizer(model)
        network = AutoModelForCausalLM.from_pretrained(resolve_model_source(model), dtype=torch.float32).eval()
        pad, size = tokenizer.pad_token_id, generate.batch_size
        for start in range(0, len(prompts), size):
            ids = [list(p["prompt_ids"]) for p in prompts[start:start + size]]
            width = max(map(len, ids))
            # Left padding, masked by length: the pad id is <|im_end|>, which the prompts contain too.
            input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in ids])
            mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in ids])
            with torch.inference_mode():
                network.generate(input_ids=input_ids, attention_mask=mask,
                                 max_new_tokens=generate.sampling.max_new_tokens, do_sample=False,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=pad)
    finally:
        torch.set_num_threads(previous)
    return len(prompts) / (time.perf_counter() - started)


def bench_generation(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, data_dir: str, run_dir: str,
                     repeats: int, rows: int) -> list[dict]:
    """Ray Data (the suite's actors) vs the plain loop, on the same first `rows` test prompts."""
    from tide.generate.pipeline import load_prompts, plan_condition, stream_generations

    actors, cpus = generate.concurrency, float(generate.cpus_per_actor)
    prompts, fingerprint = load_prompts(generate, model, prompt, data_dir)
    prompts = prompts[:rows]
    plan = plan_condition(generate, model, prompt, run_dir, ZERO_SHOT, fingerprint)
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        shards = list(stream_generations(prompts, plan, generate))
        ray_rate = sum(len(s) for s in shards) / (time.perf_counter() - started)
        threads = sorted({json.loads(v)["torch_threads"] for s in shards for v in s["versions"]})
        plain_rate = plain_generate_rows_per_s(generate, model, prompts, max(1, int(actors * cpus)))
        runs.append({"ray_rows_per_s": ray_rate, "plain_rows_per_s": plain_rate, "actor_torch_threads": threads})
    details = {"rows": len(prompts), "actors": actors, "cpus_per_actor": cpus, "plain_threads": int(actors * cpus),
               "batch_size": generate.batch_size, "max_new_tokens": generate.sampling.max_new_tokens,
               "greedy": not generate.sampling.do_sample, "runs": runs,
               "threads_match_ray_cpus": all(r["actor_torch_threads"] == [max(1, int(cpus))] for r in runs)}
    return [measured("smollm2_generation_vs_plain", "SmolLM2 generation rows/s, Ray Data / plain loop",
                     [r["ray_rows_per_s"] / r["plain_rows_per_s"] for r in runs], "x", device_name(),
                     TARGETS["smollm2_generation_vs_plain"], details)]


def demo_wall_time(outputs: Path) -> list[dict]:
    """The last `make demo`'s wall time, with its stages (wall, CPU, load) as details."""
    path = Path(outputs) / "demo" / "summary.json"
    label = "make demo wall time (last run)"
    if not path.is_file():
        return [skipped("smollm2_demo_wall", label, f"no {path}: run `make demo` first",
                        TARGETS["smollm2_demo_wall"], unit="s")]
    summary = json.loads(path.read_text())
    return [measured("smollm2_demo_wall", label, [summary["seconds"]], "s", device_name(),
                     TARGETS["smollm2_demo_wall"], {"stages": summary.get("stages"), "summary": str(path)})]


def bench_smollm2(config: TideConfig, repeats: int, steps: int, rows: int, bench_dir: Path) -> list[dict]:
    """All three, on the demo's configuration (experiment=demo: model, LoRA, batch, sampling)."""
    return (bench_training(TrainingJob.from_config(config), repeats, steps, bench_dir)
            + bench_generation(config.generate, config.model, config.prompt, config.data.artifact_dir, config.run.dir,
                               repeats, rows)
            + demo_wall_time(Path(config.paths.outputs)))
