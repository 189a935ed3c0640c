"""Running `make gpu-check`'s checks: each within its own time budget, its peak GPU memory sampled, its
outcome turned into a status (ok, failed, timeout, missing: a package it needs is not installed, skipped:
no time left), and the table and plan the command prints. The checks themselves: tide/bench/gpu_check.py.
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from tide.bench.gpu import GPU_TARGETS
from tide.bench.results import target_met

# What every check needs (the script composes conf/, builds the data artifact and loads models); the checks'
# own `needs` list what they add. A GPU machine with only torch preinstalled lacks some of these.
GPU_CHECK_BASE_PACKAGES = ("hydra", "omegaconf", "datasets", "transformers", "peft", "accelerate", "tokenizers",
                           "pyarrow", "pandas")


class CheckFailed(AssertionError):
    """A check ran and its result is wrong (a non-finite loss, no adapter, replies that disagree)."""


class CheckTimeout(Exception):
    """A check ran past its budget."""


@dataclass(frozen=True)
class Check:
    name: str
    what: str                    # printed as the plan, and with the result
    needs: tuple[str, ...]       # packages beyond the CPU stack
    budget_s: int
    run: Callable[[object], dict]  # GpuCheckSetup -> measurements


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


def run_check(check: Check, setup, seconds_left: float, min_budget_s: float = 10) -> dict:
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
        if time.perf_counter() - start >= budget:  # the alarm landed inside C code, which re-raised it as another error
            record.update(status="timeout", error=f"over its {budget:.0f} s budget ({type(error).__name__})")
        else:
            record.update(status="failed", error=f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
                          if str(error).strip() else type(error).__name__)
    record.update(seconds=time.perf_counter() - start, peak_memory_gib=memory.peak_gib)
    return record


def run_gpu_checks(setup, checks: list[Check], budget_s: float, started: float) -> list[dict]:
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
    """One line per check, then each target of docs/benchmarks.md against every check that measured it."""
    rows = [("check", "status", "s", "peak GiB", "measured")]
    for r in records:
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else "-"
        rows.append((r["name"], r["status"], f"{r['seconds']:.0f}", memory, r["error"] or _numbers(r["results"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"gpu-check on {device}"] + ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
                                          for row in rows]
    for name, key in (("lora_mfu", "mfu"), ("suite_vs_hf_trainer", "suite_vs_hf_trainer"),
                      ("vllm_vs_hf_generate", "vllm_vs_hf_generate")):
        target = GPU_TARGETS[name]
        measured = [(r["name"], r["results"][key]) for r in records if r["results"].get(key) is not None]
        for check, value in measured or [(None, None)]:
            verdict = "not measured" if value is None else ("met" if target_met(value, target) else "MISSED")
            lines.append(f"target {name} {target['op']} {target['value']}{f' ({check})' if check else ''}: "
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
        lines.append(f"  {check.name:<18} {check.budget_s:>4} s  {check.what}"
                     + (f"  [missing here: {', '.join(missing)}]" if missing else ""))
    return "\n".join(lines)
