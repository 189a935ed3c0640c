"""Benchmark results: samples -> median and spread, compared with a target, printed as one table and JSON.

A result is a plain dict, so the JSON file is the table: name, label, unit, the samples (one per
repeat, each a ratio measured within that repeat), their median/min/max, the target and whether the
median meets it, the device, and the raw measurements behind the ratios. A benchmark that could not
run is a result too, with `skipped` saying why.
"""

from __future__ import annotations

import statistics
from pathlib import Path

COMPARISONS = {">=": lambda value, target: value >= target, "<=": lambda value, target: value <= target}


def target_met(value: float, target: dict | None) -> bool | None:
    """None when there is no target; otherwise whether `value` meets {"op": ">=" | "<=", "value": x}."""
    if target is None:
        return None
    if target["op"] not in COMPARISONS:
        raise ValueError(f"target op {target['op']!r}: expected one of {sorted(COMPARISONS)}")
    return COMPARISONS[target["op"]](value, target["value"])


def measured(name: str, label: str, samples: list[float], unit: str, device: str, target: dict | None = None,
             details: dict | None = None) -> dict:
    if not samples:
        raise ValueError(f"benchmark {name}: no samples")
    median = statistics.median(samples)
    return {"name": name, "label": label, "unit": unit, "device": device, "samples": list(samples),
            "median": median, "min": min(samples), "max": max(samples), "target": target,
            "met": target_met(median, target), "skipped": None, "details": details or {}}


def skipped(name: str, label: str, reason: str, target: dict | None = None, unit: str = "x") -> dict:
    return {"name": name, "label": label, "unit": unit, "device": None, "samples": [], "median": None,
            "min": None, "max": None, "target": target, "met": None, "skipped": reason, "details": {}}


def _verdict(result: dict) -> str:
    if result["skipped"]:
        return f"skipped: {result['skipped']}"
    return {True: "met", False: "MISSED", None: "(no target)"}[result["met"]]


def _number(value: float, unit: str) -> str:
    return f"{value:.2f}x" if unit == "x" else f"{value:.3g} {unit}".rstrip()


def format_table(results: list[dict]) -> str:
    """One line per benchmark: median [min-max] over n repeats, target, met / MISSED / skipped."""
    rows = [("benchmark", "median", "spread (min-max, n)", "target", "device", "verdict")]
    for r in results:
        target = f"{r['target']['op']} {_number(r['target']['value'], r['unit'])}" if r["target"] else "-"
        if r["skipped"]:
            rows.append((r["label"], "-", "-", target, "-", _verdict(r)))
            continue
        spread = f"{_number(r['min'], r['unit'])}-{_number(r['max'], r['unit'])}, n={len(r['samples'])}"
        rows.append((r["label"], _number(r["median"], r["unit"]), spread, target, r["device"], _verdict(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    missed = [r["label"] for r in results if r["met"] is False]
    lines.append("")
    lines.append(f"targets missed: {', '.join(missed)}" if missed else
                 "every measured target met" if any(r["met"] for r in results) else "no target measured")
    return "\n".join(lines)


def write_results(path: Path, results: list[dict], meta: dict) -> Path:
    from tide.core.files import write_json_atomic

    write_json_atomic(Path(path), {**meta, "results": results})
    return Path(path)
