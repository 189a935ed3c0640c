"""`make bench`: throughput, scaling and padding on this machine, as one table of ratios (and JSON).

    python -m launch.bench                                   # the whole suite (27 min on 2 loaded cores; sized for ~10 idle)
    python -m launch.bench --only padding training           # some benchmarks
    python -m launch.bench --repeats 5 --eval-rows 2000      # tighter spreads, the full-size evaluation bench
    python -m launch.bench --gpu-presets qwen2_5_1_5b qwen2_5_3b   # on a GPU machine (skipped without CUDA)

Every ratio is measured within one repeat (both sides back to back) and reported as the median with its
min-max over the repeats, next to its target; a missed target is printed as MISSED. Writes
${paths.outputs}/bench/bench.json and, when the GPU benchmarks ran, throughput.json (single-GPU tokens/s
per model, which `make sweep DRY_RUN=1` uses for its time estimate). Needs the data artifact and the tiny
model (`python -m launch.data`; `make bench` runs it first). Trailing key=value arguments are Hydra
overrides of the composed config (conf/).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import launch.common  # noqa: F401  (makes TIDE_OUTPUTS absolute before the config is composed)
from tide.config import TideConfig
from tide.core.runtime import apply_runtime_env

BENCHMARKS = ("padding", "training", "generation", "evaluation", "reader", "smollm2", "gpu")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.bench", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (key=value)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--repeats", type=int, default=3, help="repeats per benchmark (median and min-max)")
    parser.add_argument("--train-steps", type=int, default=10, help="optimizer steps per training run")
    parser.add_argument("--gen-rows", type=int, default=32, help="test dialogues per generation run")
    parser.add_argument("--gen-new-tokens", type=int, default=32)
    parser.add_argument("--eval-rows", type=int, default=200, help="rows the batched evaluation scores")
    parser.add_argument("--eval-naive-rows", type=int, default=20, help="rows the per-row loop scores")
    # tide/bench/smollm2.py: the demo's model (experiment=demo), suite vs plain HF code; one repeat by default
    parser.add_argument("--smollm2-steps", type=int, default=3, help="LoRA steps per training run")
    parser.add_argument("--smollm2-rows", type=int, default=256, help="test rows per generation run (quick: 32)")
    parser.add_argument("--smollm2-new-tokens", type=int, default=16)
    parser.add_argument("--smollm2-repeats", type=int, default=1)
    parser.add_argument("--reader-dialogues", type=int, default=10_000, help="dialogues per shape, reader bench")
    parser.add_argument("--gpu-presets", nargs="+", default=["qwen2_5_1_5b", "qwen2_5_3b"],
                        help="conf/model presets for the GPU benchmarks (random weights, real shapes)")
    parser.add_argument("--gpu-steps", type=int, default=30)
    parser.add_argument("--gpu-batch-size", type=int, default=16)
    parser.add_argument("--gpu-gen-rows", type=int, default=256)
    parser.add_argument("--out", type=Path, help="the JSON file (default ${paths.outputs}/bench/bench.json)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def compose(overrides: list[str], command: str = "launch.bench") -> TideConfig:
    """The typed config for these Hydra overrides (conf/); a bad option raises ConfigError naming it (one line
    from the error boundary)."""
    from tide.config import compose_config

    return compose_config(overrides)


def run(args: argparse.Namespace) -> list[dict]:
    from tide.bench.results import format_table, write_results

    config = compose([f"generate.sampling.max_new_tokens={args.gen_new_tokens}", *args.overrides])
    apply_runtime_env(offline=config.runtime.offline, ray_usage_stats=config.runtime.ray_usage_stats,
                      wandb_mode="disabled")
    bench_dir = Path(config.paths.outputs) / "bench"
    if {"training", "generation", "smollm2"} & set(args.only):
        from tide.train.trainer import connect_ray

        connect_ray(config.cluster)
    started, results = time.perf_counter(), []
    stages = bench_stages(config, args, bench_dir)
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    for name in args.only:
        print(f"bench: {name} ...", flush=True)
        results += stages[name]()
        seconds = time.perf_counter() - started
        # After every stage: an interrupted suite keeps what it measured.
        out = write_results(args.out or bench_dir / "bench.json", results, {
            "host": platform.node(), "seconds": seconds, "settings": settings,
            "complete": name == args.only[-1]})
    print(format_table(results))
    print(f"({seconds / 60:.1f} min; {out})")
    return results


def bench_stages(config: TideConfig, args: argparse.Namespace, bench_dir: Path) -> dict:
    """{stage name: a call returning its results}; each stage module takes the config it runs on."""
    from tide.bench import cpu
    from tide.bench.evaluation import bench_evaluation
    from tide.bench.generation import bench_generation_scaling
    from tide.bench.reader import bench_reader
    from tide.bench.smollm2 import bench_smollm2

    return {
        "padding": lambda: cpu.bench_padding(config, args.repeats),
        "training": lambda: cpu.bench_training(config, args.repeats, args.train_steps, bench_dir),
        "generation": lambda: bench_generation_scaling(config, args.repeats, args.gen_rows),
        "evaluation": lambda: bench_evaluation(config, args.repeats, args.eval_rows, args.eval_naive_rows),
        "reader": lambda: bench_reader(args.repeats, args.reader_dialogues),  # tide/bench/reader.py
        "smollm2": lambda: bench_smollm2(compose(["experiment=demo", f"generate.sampling.max_new_tokens="
                                                  f"{args.smollm2_new_tokens}", *args.overrides]),
                                         args.smollm2_repeats, args.smollm2_steps, args.smollm2_rows, bench_dir),
        "gpu": lambda: gpu_results(config, args, bench_dir),
    }


def gpu_results(config: TideConfig, args: argparse.Namespace, bench_dir: Path) -> list[dict]:
    from tide.bench.gpu import GPU_TARGETS, bench_gpu, gpu_unavailable
    from tide.bench.results import skipped
    from tide.core.domain import BENCH_THROUGHPUT_FILE
    from tide.core.files import write_json_atomic

    reason = gpu_unavailable()
    if reason:
        print(f"bench: GPU benchmarks skipped: {reason}", flush=True)
        return [skipped(name, f"GPU: {name}", reason, target, unit="" if name == "lora_mfu" else "x")
                for name, target in GPU_TARGETS.items()]
    presets = {name: compose([f"model={name}"]).model for name in args.gpu_presets}
    zero2 = compose(["deepspeed=zero2"]).deepspeed
    results, throughput = bench_gpu(config, presets, zero2, args.repeats, args.gpu_steps, args.gpu_batch_size,
                                    args.gpu_gen_rows, bench_dir)
    write_json_atomic(Path(config.paths.outputs) / BENCH_THROUGHPUT_FILE, throughput)  # the sweep planner reads it
    return results


def main(argv=None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.bench", main))
