"""The generation stage: one reply per dialogue of a split per condition, from a pool of Ray Data actors.

    prompts (driver) -> from_items, longest first -> map_batches(GenerationActor, pool of actors)
                     -> iter_batches on the driver -> Parquet shards (temp name + rename)

generate=vllm swaps the actor pool for ray.data.llm's vLLM processor (tide/generate/vllm_engine.py); the
shard writer, resume and one-row-per-dialogue checks below are the same for both backends.

Every input is checked before the first actor starts (the options themselves when the config is built,
the data and the fine-tuned weights here). Conditions run one after the other, each with its
own actor pool (zero_shot holds the base model; finetuned the base model plus the adapter, or a merged
model). A rerun skips the dialogues whose rows are already on disk.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import closing

import pandas as pd

from tide.config import GenerateConfig, ModelConfig, PromptConfig
from tide.core.runtime import resolve_path
from tide.generate.plan import ConditionPlan, plan_condition
from tide.generate.shards import check_complete, open_condition_dir, write_shard

__all__ = ["ConditionPlan", "TooManyFailures", "generate", "generation_telemetry", "load_prompts",
           "local_generations", "plan_condition", "run_condition", "stream_generations"]

log = logging.getLogger(__name__)


class TooManyFailures(RuntimeError):
    """More rows failed than generate.max_failures allows."""


def generate(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, data_dir: str,
             run_dir: str) -> dict:
    """Run every condition in generate.conditions; returns a summary per condition.

    data_dir: the data artifact (data.artifact_dir); run_dir: run.dir (named in the error when the
    fine-tuned weights are missing). Every condition is planned (and its weights checked) before the first
    starts. Uses the Ray that is initialised (Ray Data starts a local one otherwise).
    """
    prompts, data_fingerprint = load_prompts(generate, model, prompt, data_dir)
    plans = [plan_condition(generate, model, prompt, run_dir, condition, data_fingerprint)
             for condition in generate.conditions]
    return {plan.condition: run_condition(plan, prompts, generate) for plan in plans}


def load_prompts(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, data_dir: str
                 ) -> tuple[list[dict], str]:
    """The split's prompts (generate.limit first dialogues by id) and the split's data fingerprint."""
    from tide.data.artifact import load_split, read_manifest
    from tide.generate.prompts import build_prompts
    from tide.models.loading import load_tokenizer

    artifact_dir, name = resolve_path(data_dir), generate.split
    manifest = read_manifest(artifact_dir)
    if manifest and manifest["splits"].get(name, {}).get("dialogues") == 0:
        raise ValueError(f"{artifact_dir}: split {name!r} (generate.split) has no dialogues")
    split = load_split(artifact_dir, name)  # names a missing artifact or an unknown split
    rows = sorted(split, key=lambda row: row["dialogue_id"])[:generate.limit]
    prompts = build_prompts(rows, load_tokenizer(model), prompt.system, generate.sampling.seed)
    return prompts, manifest["splits"][name]["fingerprint"]


def run_condition(plan: ConditionPlan, prompts: list[dict], generate: GenerateConfig) -> dict:
    """Generate the condition's missing rows into its shards, then check one row per dialogue; its summary."""
    done = open_condition_dir(plan.output_dir, plan.spec)
    todo = [prompt for prompt in prompts if prompt["dialogue_id"] not in done]
    log.info("%s: %d of %d dialogues already in %s; generating %d", plan.condition, len(prompts) - len(todo),
             len(prompts), plan.output_dir, len(todo))
    progress = Progress(plan.condition, total=len(prompts), done=len(prompts) - len(todo))
    generated_tokens = write_generations(todo, plan, generate, progress)
    rows = check_complete(plan.output_dir, [prompt["dialogue_id"] for prompt in prompts])
    tokens = sum(p["prompt_tokens"] for p in todo) + generated_tokens
    return {"dir": str(plan.output_dir), "rows": len(rows), "generated": len(todo),
            "errors": int(rows["error"].notna().sum()),
            "finish_reasons": {reason: int(n) for reason, n in rows["finish_reason"].value_counts().items()},
            "mean_reply_tokens": float(rows["reply_tokens"].mean()), "rows_per_s": progress.rate(),
            "telemetry": generation_telemetry(plan.row_fields["model_params_b"], generate, tokens,
                                              progress.elapsed())}


def write_generations(prompts: list[dict], plan: ConditionPlan, generate: GenerateConfig,
                      progress: Progress) -> int:
    """Stream the rows of `prompts` into shards; the generated tokens. Stops after generate.max_failures."""
    failed, generated_tokens = 0, 0
    # closing(): on an error the stream stops now, releasing its actors, not whenever it is garbage collected.
    with closing(stream_generations(prompts, plan, generate)) as shards:
        for shard in shards:
            write_shard(plan.output_dir, shard)
            progress.update(len(shard))
            generated_tokens += int(shard["reply_tokens"].sum())
            errors = shard.loc[shard["finish_reason"] == "error", "error"]
            failed += len(errors)
            if failed > generate.max_failures:
                raise TooManyFailures(f"{plan.condition}: {failed} rows failed, more than generate.max_failures="
                                      f"{generate.max_failures}; first error: {errors.iloc[0]}")
    return generated_tokens


def generation_telemetry(model_params_b: float, generate: GenerateConfig, tokens: int, seconds: float) -> dict:
    """Prompt + generated tokens/s of this run, and its FLOPs and MFU (tide.core.telemetry: 2 * params per token).

    The device is the driver's view: a GPU when the actors ask for one and this machine has one.
    """
    import torch

    from tide.core import telemetry

    on_gpu = bool(generate.gpus_per_actor) and torch.cuda.is_available()
    devices = int(generate.concurrency) if on_gpu else 1
    tokens_per_s = tokens / seconds if seconds > 0 else 0.0
    params = int(model_params_b * 1e9)
    return {"tokens": tokens, "tokens_per_s": tokens_per_s, "actors": int(generate.concurrency),
            **telemetry.generation_telemetry(params, tokens_per_s, telemetry.device_name("cuda" if on_gpu else None),
                                             devices)}


def stream_generations(prompts: list[dict], plan: ConditionPlan, generate: GenerateConfig,
                       concurrency: int | None = None) -> Iterator[pd.DataFrame]:
    """Generation rows in shards of generate.shard_rows, as the actor pool produces them.

    Only `plan.engine` (config slices) and `plan.row_fields` cross into the actors. generate=vllm: Ray
    Data's own LLM library (ray.data.llm) runs the engines (tide/generate/vllm_engine.py).
    """
    if not prompts:
        return
    if plan.backend == "vllm":
        from tide.generate.vllm_engine import stream_vllm_generations

        yield from stream_vllm_generations(prompts, plan, generate, concurrency)
        return
    import ray

    from tide.generate.actor import GenerationActor

    batch_size = generate.batch_size
    # One block per batch of consecutive (length-sorted) prompts: batches stay length-homogeneous.
    blocks = math.ceil(len(prompts) / batch_size)
    actors = min(concurrency or generate.concurrency, blocks)
    dataset = ray.data.from_items(prompts, override_num_blocks=blocks).map_batches(
        GenerationActor,
        fn_constructor_kwargs={"backend": plan.backend, "engine": plan.engine, "row_fields": plan.row_fields},
        batch_size=batch_size, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=generate.cpus_per_actor, num_gpus=generate.gpus_per_actor or None,
    )
    yield from dataset.iter_batches(batch_size=generate.shard_rows, batch_format="pandas")


def local_generations(prompts: list[dict], plan: ConditionPlan, generate: GenerateConfig
                      ) -> Iterator[pd.DataFrame]:
    """The same actor called in this process, without Ray: the benchmark's single-process baseline."""
    if not prompts:
        return
    from tide.generate.actor import GenerationActor

    actor = GenerationActor(plan.backend, plan.engine, plan.row_fields)
    batch_size, shard_rows = generate.batch_size, generate.shard_rows
    for start in range(0, len(prompts), shard_rows):
        shard = prompts[start:start + shard_rows]
        yield pd.concat([actor(pd.DataFrame(shard[i:i + batch_size])) for i in range(0, len(shard), batch_size)],
                        ignore_index=True)


class Progress:
    """Rows done, rows/s over this run, and the time left at that rate."""

    def __init__(self, label: str, total: int, done: int):
        self.label, self.total, self.done, self.done_at_start = label, total, done, done
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def rate(self) -> float:
        elapsed = self.elapsed()
        return (self.done - self.done_at_start) / elapsed if elapsed > 0 else 0.0

    def update(self, rows: int) -> None:
        self.done += rows
        rate = self.rate()
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        log.info("%s: %d/%d rows, %.2f rows/s, %s left", self.label, self.done, self.total, rate, _duration(left))


def _duration(seconds: float) -> str:
    if math.isinf(seconds):
        return "unknown time"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
