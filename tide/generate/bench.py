"""Generation throughput on this machine: Ray Data with 1 and 2 actors vs a plain single-process loop.

Each measurement is end to end for the same rows (zero-shot condition, nothing written): model load
included, because a job pays it too. The plain loop gets the threads of one actor (cpus_per_actor), so
"Ray 1 actor vs plain" is Ray Data's overhead and "2 vs 1 actors" its scaling. Run through `make bench`
or `python -m launch.bench_generate`.
"""

from __future__ import annotations

import time


def bench_generation(config: dict, rows: int = 64) -> dict:
    """rows/s for a plain loop, Ray Data with 1 actor and with 2 actors, and their ratios."""
    import torch

    from tide.generate.pipeline import load_prompts, local_generations, plan_condition, stream_generations

    gen_cfg = config["generate"]
    prompts, data_fingerprint = load_prompts(config)
    prompts = prompts[:rows]
    plan = plan_condition(config, "zero_shot", data_fingerprint)
    runs = {
        "plain_loop": lambda: local_generations(prompts, plan, gen_cfg),
        "ray_1_actor": lambda: stream_generations(prompts, plan, gen_cfg, concurrency=1),
        "ray_2_actors": lambda: stream_generations(prompts, plan, gen_cfg, concurrency=2),
    }
    rates, threads = {}, torch.get_num_threads()
    torch.set_num_threads(int(gen_cfg["cpus_per_actor"]))  # Ray gives each actor as many
    try:
        for name, run in runs.items():
            start = time.perf_counter()
            done = sum(len(shard) for shard in run())
            rates[name] = done / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return {
        "rows": len(prompts), "batch_size": gen_cfg["batch_size"],
        "max_new_tokens": gen_cfg["sampling"]["max_new_tokens"], "threads_per_actor": int(gen_cfg["cpus_per_actor"]),
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
