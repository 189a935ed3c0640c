"""`make demo`: SmolLM2-135M-Instruct zero-shot vs LoRA fine-tuned on synthetic TIDE, end to end, offline.

    python -m launch.demo                         # data -> the demo sweep -> report -> comparison + summary
    python -m launch.demo train.max_steps=4       # Hydra overrides reach every stage
    python -m launch.demo --spec sweeps/demo.yaml --experiment demo

Runs the public entry points one after the other, as a user would: `python -m launch.data
experiment=demo` (synthetic TIDE; converts the model's GGUF on first use), `python -m launch.sweep
sweeps/demo.yaml` (two trials, each a whole pipeline, zero-shot and fine-tuned), then builds the report of
those trials and prints the fine-tuned minus zero-shot gain per metric (95% CI, paired test), the share
of replies ending with the end-of-turn token and a few dialogues side by side. Writes
${paths.outputs}/demo/summary.json and the report under ${paths.outputs}/sweeps/<spec name>/report/.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import launch.common  # noqa: F401  (makes TIDE_OUTPUTS absolute before the config is composed)
from tide.core.runtime import PROJECT_ROOT, apply_runtime_env


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.demo", description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every stage (key=value)")
    parser.add_argument("--spec", type=Path, default=PROJECT_ROOT / "sweeps" / "demo.yaml")
    parser.add_argument("--experiment", default="demo", help="conf/experiment preset of the data stage and report")
    parser.add_argument("--samples", type=int, default=3, help="dialogues shown side by side")
    return parser.parse_args(argv)


def run_entry_point(module: str, *args: str) -> dict:
    """`python -m module args` in the foreground (its output is the user's): its wall time, CPU time and load.

    CPU seconds (user + system of the process and every descendant, Ray's raylet and workers included,
    sampled every second) do not depend much on what else runs on the machine; wall seconds do, so both
    are kept with the load average, to size the demo for 2 idle cores from a run on a busy one.
    """
    import psutil

    load_before, started = os.getloadavg()[0], time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=PROJECT_ROOT)
    cpu_by_pid: dict[int, float] = {}
    while process.poll() is None:
        try:
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for member in tree:
            try:
                times = member.cpu_times()
                cpu_by_pid[member.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
        time.sleep(1.0)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, [sys.executable, "-m", module, *args])
    return {"wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(sum(cpu_by_pid.values()), 1),
            "load_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def prepare_model(model) -> dict:
    """The model directory, converted from its GGUF on first use (here, so a bad file stops the demo in one line)."""
    from tide.models.loading import resolve_model_source

    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    directory = resolve_model_source(model)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(time.perf_counter() - started, 1), "cpu_s": round(cpu, 1), "directory": directory,
            "load_1min": [round(os.getloadavg()[0], 1)]}


def run(args: argparse.Namespace) -> dict:
    from tide.config import compose_config
    from tide.report.demo import DemoSetup, build_demo_report, format_demo, trial_seconds
    from tide.sweep.spec import load_spec

    started = time.perf_counter()
    overrides = [f"experiment={args.experiment}", *args.overrides]
    config = compose_config(overrides)
    apply_runtime_env(offline=config.runtime.offline, ray_usage_stats=config.runtime.ray_usage_stats,
                      wandb_mode=config.logger.mode)
    stages = {"model": prepare_model(config.model)}
    stages["data"] = run_entry_point("launch.data", *overrides)
    stages["sweep"] = run_entry_point("launch.sweep", str(args.spec), *args.overrides)
    sweep_dir = Path(config.paths.outputs) / "sweeps" / load_spec(args.spec).name
    report_started = time.perf_counter()
    setup = DemoSetup(config.model, config.data, config.train, config.generate.sampling, config.report, config.seed)
    summary, paths = build_demo_report(setup, sweep_dir / "trials", sweep_dir / "report", args.samples)
    stages["report"] = {"wall_s": round(time.perf_counter() - report_started, 1)}
    summary["stages"] = {**stages, **trial_seconds(sweep_dir / "trials")}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["report"] = paths

    from tide.core.files import write_json_atomic

    out = Path(config.paths.outputs) / "demo" / "summary.json"
    write_json_atomic(out, summary)
    print(format_demo(summary, out))
    return summary


def main(argv=None) -> int:
    from tide.config import ConfigError
    from tide.models.loading import ModelNotAvailableError

    try:
        run(parse_args(argv))
    except (ModelNotAvailableError, ConfigError) as error:  # a missing, truncated or unsupported GGUF among them
        print(f"demo: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"demo: `{' '.join(error.cmd[1:])}` failed (exit {error.returncode}); its output is above",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.demo", main))
