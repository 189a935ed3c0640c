"""Generation throughput on this machine: Ray Data with 1 and 2 actors vs a plain single-process loop.

Each measurement is end to end for the same rows (zero-shot condition, nothing written): model load
included, because a job pays it too. The plain loop gets the threads of one actor (cpus_per_actor), so
"Ray 1 actor vs plain" is Ray Data's overhead and "2 vs 1 actors" its scaling. Run through `make bench`
(`bench_generation_scaling`: repeated, as table rows) or `python -m launch.bench_generate` (one run, in detail).
"""

from __future__ import annotations

import time

from tide.bench.results import measured
from tide.config import GenerateConfig, ModelConfig, PromptConfig, TideConfig
from tide.core.domain import ZERO_SHOT
from tide.core.telemetry import device_name

TARGETS = {"generation_scaling": {"op": ">=", "value": 1.7}}


def bench_generation(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, data_dir: str,
                     run_dir: str, rows: int = 64) -> dict:
    """rows/s for a plain loop, Ray Data with 1 actor and with 2 actors, and their ratios."""
    import torch

    from tide.generate.pipeline import load_prompts, local_generations, plan_condition, stream_generations

    prompts, data_fingerprint = load_prompts(generate, model, prompt, data_dir)
    prompts = prompts[:rows]
    plan = plan_condition(generate, model, prompt, run_dir, ZERO_SHOT, data_fingerprint)
    runs = {
        "plain_loop": lambda: local_generations(prompts, plan, generate),
        "ray_1_actor": lambda: stream_generations(prompts, plan, generate, concurrency=1),
        "ray_2_actors": lambda: stream_generations(prompts, plan, generate, concurrency=2),
    }
    rates, threads = {}, torch.get_num_threads()
    torch.set_num_threads(int(generate.cpus_per_actor))  # Ray gives each actor as many
    try:
        for name, run in runs.items():
            start = time.perf_counter()
            done = sum(len(shard) for shard in run())
            rates[name] = done / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return {
        "rows": len(prompts), "batch_size": generate.batch_size,
        "max_new_tokens": generate.sampling.max_new_tokens, "threads_per_actor": int(generate.cpus_per_actor),
        "rows_per_s": rates,
        "ratio_2_vs_1_actors": rates["ray_2_actors"] / rates["ray_1_actor"],
        "ratio_ray_1_actor_vs_plain": rates["ray_1_actor"] / rates["plain_loop"],
        "ratio_ray_2_actors_vs_plain": rates["ray_2_actors"] / rates["plain_loop"],
    }


def format_bench(result: dict) -> str:
    rates = result["rows_per_s"]
    return "\n".join([
        f"Generation, {result['rows']} rows, batch {result['batch_size']}, {result['max_new_tokens']} new tokens "
        f"(model load included)",
        *(f"  {name:<14}{rate:>8.2f} rows/s" for name, rate in rates.items()),
        f"  2 vs 1 actors          {result['ratio_2_vs_1_actors']:.2f}x",
        f"  Ray 1 actor vs plain   {result['ratio_ray_1_actor_vs_plain']:.2f}x",
        f"  Ray 2 actors vs plain  {result['ratio_ray_2_actors_vs_plain']:.2f}x "
        f"(torch threads: {result['threads_per_actor']} per actor and in the plain loop)",
    ])


def bench_generation_scaling(config: TideConfig, repeats: int, rows: int) -> list[dict]:
    """`make bench` rows: 2 Ray Data actors / 1, and 1 actor / the plain loop, over `repeats` runs."""
    runs = [bench_generation(config.generate, config.model, config.prompt, config.data.artifact_dir, config.run.dir,
                             rows) for _ in range(repeats)]
    device = device_name()
    details = {key: runs[0][key] for key in ("rows", "batch_size", "max_new_tokens", "threads_per_actor")}
    details["rows_per_s"] = [run["rows_per_s"] for run in runs]
    return [
        measured("generation_scaling", "Generation (rows/s, 2 Ray Data actors / 1)",
                 [run["ratio_2_vs_1_actors"] for run in runs], "x", device, TARGETS["generation_scaling"], details),
        measured("generation_ray_vs_plain", "Generation (rows/s, Ray Data 1 actor / plain loop)",
                 [run["ratio_ray_1_actor_vs_plain"] for run in runs], "x", device, None, details),
    ]
