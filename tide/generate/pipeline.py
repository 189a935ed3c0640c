"""The generation stage: one reply per dialogue of a split per condition, from a pool of Ray Data actors.

    prompts (driver) -> from_items, longest first -> map_batches(GenerationActor, pool of actors)
                     -> iter_batches on the driver -> Parquet shards (temp name + rename)

generate=vllm swaps the actor pool for ray.data.llm's vLLM processor (tide/generate/vllm_engine.py); the
shard writer, resume and one-row-per-dialogue checks below are the same for both backends.

Every input is checked before the first actor starts. Conditions run one after the other, each with its
own actor pool (zero_shot holds the base model; finetuned the base model plus the adapter, or a merged
model). A rerun skips the dialogues whose rows are already on disk.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pandas as pd

from tide.generate.checks import check_adapter, check_conditions, check_merged_dir, check_sampling
from tide.generate.shards import check_complete, open_condition_dir, write_shard
from tide.core.runtime import resolve_path

log = logging.getLogger(__name__)


class TooManyFailures(RuntimeError):
    """More rows failed than generate.max_failures allows."""


def generate(config: dict) -> dict:
    """Run every condition in config['generate']['conditions']; returns a summary per condition.

    Uses the Ray that is initialised (Ray Data starts a local one otherwise).
    """
    gen_cfg = config["generate"]
    conditions = check_conditions(gen_cfg["conditions"])
    check_sampling(gen_cfg["sampling"])
    prompts, data_fingerprint = load_prompts(config)
    plans = [plan_condition(config, condition, data_fingerprint) for condition in conditions]
    return {plan["condition"]: run_condition(plan, prompts, gen_cfg) for plan in plans}


def load_prompts(config: dict) -> tuple[list[dict], str]:
    """The split's prompts (generate.limit first dialogues by id) and the split's data fingerprint."""
    from tide.data.artifact import load_split, read_manifest
    from tide.generate.prompts import build_prompts
    from tide.models.loading import load_tokenizer

    gen_cfg, artifact_dir = config["generate"], resolve_path(config["data"]["artifact_dir"])
    name = gen_cfg["split"]
    manifest = read_manifest(artifact_dir)
    if manifest and manifest["splits"].get(name, {}).get("dialogues") == 0:
        raise ValueError(f"{artifact_dir}: split {name!r} (generate.split) has no dialogues")
    split = load_split(artifact_dir, name)  # names a missing artifact or an unknown split
    rows = sorted(split, key=lambda row: row["dialogue_id"])[:gen_cfg["limit"]]
    prompts = build_prompts(rows, load_tokenizer(config["model"]), config["prompt"]["system"],
                            gen_cfg["sampling"]["seed"])
    return prompts, manifest["splits"][name]["fingerprint"]


def plan_condition(config: dict, condition: str, data_fingerprint: str) -> dict:
    """What one condition's actors load and what its rows record; checks the adapter or merged model."""
    gen_cfg, model_cfg, run_dir = config["generate"], config["model"], str(resolve_path(config["run"]["dir"]))
    adapter_dir = merged_dir = None
    if condition == "finetuned" and gen_cfg["merged_dir"]:
        merged_dir = str(resolve_path(gen_cfg["merged_dir"]))
        check_merged_dir(merged_dir, run_dir)
    elif condition == "finetuned":
        adapter_dir = str(resolve_path(gen_cfg["adapter_dir"]))
        check_adapter(adapter_dir, model_cfg, run_dir)
    # The HF engine's arguments; the vLLM backend reads its engine options from generate.vllm as well.
    engine_kwargs = {"model_cfg": model_cfg, "sampling": gen_cfg["sampling"], "adapter_dir": adapter_dir,
                     "merged_dir": merged_dir, "precision": gen_cfg["precision"]}
    finetuned_weights = adapter_dir or merged_dir
    spec = {"condition": condition, "backend": gen_cfg["backend"], "precision": gen_cfg["precision"],
            "model": model_cfg["name"], "model_source": model_cfg.get("path") or model_cfg.get("hf_id"),
            "adapter": finetuned_weights, "adapter_fingerprint": _weights_fingerprint(finetuned_weights),
            "sampling": gen_cfg["sampling"], "system_prompt": config["prompt"]["system"],
            "split": gen_cfg["split"], "data_fingerprint": data_fingerprint, "limit": gen_cfg["limit"]}
    return {
        "condition": condition,
        "dir": resolve_path(gen_cfg["output_dir"]) / condition,
        "backend": gen_cfg["backend"],
        "engine_kwargs": engine_kwargs,
        "row_fields": {"condition": condition, "model": model_cfg["name"],
                       "model_params_b": float(model_cfg["params_b"]), "adapter": finetuned_weights},
        "spec": spec,
    }


def run_condition(plan: dict, prompts: list[dict], gen_cfg: dict) -> dict:
    done = open_condition_dir(plan["dir"], plan["spec"])
    todo = [prompt for prompt in prompts if prompt["dialogue_id"] not in done]
    log.info("%s: %d of %d dialogues already in %s; generating %d", plan["condition"], len(prompts) - len(todo),
             len(prompts), plan["dir"], len(todo))
    progress = Progress(plan["condition"], total=len(prompts), done=len(prompts) - len(todo))
    failed, generated_tokens = 0, 0
    # closing(): on an error the stream stops now, releasing its actors, not whenever it is garbage collected.
    with closing(stream_generations(todo, plan, gen_cfg)) as shards:
        for shard in shards:
            write_shard(plan["dir"], shard)
            progress.update(len(shard))
            generated_tokens += int(shard["reply_tokens"].sum())
            errors = shard.loc[shard["finish_reason"] == "error", "error"]
            failed += len(errors)
            if failed > gen_cfg["max_failures"]:
                raise TooManyFailures(f"{plan['condition']}: {failed} rows failed, more than generate.max_failures="
                                      f"{gen_cfg['max_failures']}; first error: {errors.iloc[0]}")
    rows = check_complete(plan["dir"], [prompt["dialogue_id"] for prompt in prompts])
    return {"dir": str(plan["dir"]), "rows": len(rows), "generated": len(todo),
            "errors": int(rows["error"].notna().sum()),
            "finish_reasons": {reason: int(n) for reason, n in rows["finish_reason"].value_counts().items()},
            "mean_reply_tokens": float(rows["reply_tokens"].mean()), "rows_per_s": progress.rate(),
            "telemetry": generation_telemetry(plan, gen_cfg, sum(p["prompt_tokens"] for p in todo) + generated_tokens,
                                              progress.elapsed())}


def generation_telemetry(plan: dict, gen_cfg: dict, tokens: int, seconds: float) -> dict:
    """Prompt + generated tokens/s of this run, and its FLOPs and MFU (tide/bench/flops.py: 2 * params per token).

    The device is the driver's view: a GPU when the actors ask for one and this machine has one.
    """
    import torch

    from tide.bench import flops

    on_gpu = bool(gen_cfg["gpus_per_actor"]) and torch.cuda.is_available()
    devices = int(gen_cfg["concurrency"]) if on_gpu else 1
    tokens_per_s = tokens / seconds if seconds > 0 else 0.0
    params = int(plan["row_fields"]["model_params_b"] * 1e9)
    return {"tokens": tokens, "tokens_per_s": tokens_per_s, "actors": int(gen_cfg["concurrency"]),
            **flops.generation_telemetry(params, tokens_per_s, flops.device_name("cuda" if on_gpu else None), devices)}


def stream_generations(prompts: list[dict], plan: dict, gen_cfg: dict, concurrency: int | None = None
                       ) -> Iterator[pd.DataFrame]:
    """Generation rows in shards of generate.shard_rows, as the actor pool produces them.

    generate=vllm: Ray Data's own LLM library (ray.data.llm) runs the engines (tide/generate/vllm_engine.py).
    """
    if not prompts:
        return
    if plan["backend"] == "vllm":
        from tide.generate.vllm_engine import stream_vllm_generations

        yield from stream_vllm_generations(prompts, plan, gen_cfg, concurrency)
        return
    import ray

    from tide.generate.actor import GenerationActor

    batch_size = gen_cfg["batch_size"]
    # One block per batch of consecutive (length-sorted) prompts: batches stay length-homogeneous.
    blocks = math.ceil(len(prompts) / batch_size)
    actors = min(concurrency or gen_cfg["concurrency"], blocks)
    dataset = ray.data.from_items(prompts, override_num_blocks=blocks).map_batches(
        GenerationActor,
        fn_constructor_kwargs={"backend": plan["backend"], "engine_kwargs": plan["engine_kwargs"],
                               "row_fields": plan["row_fields"]},
        batch_size=batch_size, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=gen_cfg["cpus_per_actor"], num_gpus=gen_cfg["gpus_per_actor"] or None,
    )
    yield from dataset.iter_batches(batch_size=gen_cfg["shard_rows"], batch_format="pandas")


def local_generations(prompts: list[dict], plan: dict, gen_cfg: dict) -> Iterator[pd.DataFrame]:
    """The same actor called in this process, without Ray: the benchmark's single-process baseline."""
    if not prompts:
        return
    from tide.generate.actor import GenerationActor

    actor = GenerationActor(plan["backend"], plan["engine_kwargs"], plan["row_fields"])
    batch_size, shard_rows = gen_cfg["batch_size"], gen_cfg["shard_rows"]
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


def _weights_fingerprint(weights_dir: str | None) -> str | None:
    """Adapter: a hash of its weights (small). Merged model: file names and sizes (hashing GBs is slow)."""
    if weights_dir is None:
        return None
    adapter_weights = Path(weights_dir) / "adapter_model.safetensors"
    if adapter_weights.is_file():
        return hashlib.sha256(adapter_weights.read_bytes()).hexdigest()
    listing = sorted((p.name, p.stat().st_size) for p in Path(weights_dir).iterdir() if p.is_file())
    return hashlib.sha256(repr(listing).encode()).hexdigest()
