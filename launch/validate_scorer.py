"""Agreement of the shipped empathy scores with EPITOME's human labels (tide/evaluate/validation.py).

    python -m launch.validate_scorer DIR [--json PATH]            # or: make validate-scorer DIR=...
    python -m launch.validate_scorer DIR --scorer /tmp/scorer --bootstrap 2000

DIR holds EPITOME-format CSVs (emotional-reactions-reddit.csv, interpretations-reddit.csv,
explorations-reddit.csv). Prints per mechanism n, AUC, Spearman with the level, F1 at the threshold and
Brier score, each with a 95% CI, and the three-factor scorer's AUC against the mechanisms its factors map
to; --json writes the same as JSON. Unreadable input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tide.core.intervals import format_interval


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.validate_scorer", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="an EPITOME-format directory")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--scorer", type=Path, help="a retrained scorer directory (default: the shipped one)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="seeker-post bootstrap resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _ci(m: dict, name: str) -> str:
    return format_interval(m[name], *m[f"{name}_ci"])


def format_validation(result: dict) -> str:
    from tide.evaluate.epitome import SHORT_NAMES

    lines = [f"EPITOME agreement: {result['data']} (95% CIs over {result['bootstrap_samples']} seeker-post resamples)",
             f"  {'mechanism':<22}{'n':>6}  {'AUC':<22}{'Spearman':<22}{'F1 @ threshold':<28}{'Brier':<22}"]
    for mechanism, m in result["mechanisms"].items():
        name = f"{mechanism} ({SHORT_NAMES[mechanism]})"
        lines.append(f"  {name:<22}{m['n']:>6}  {_ci(m, 'auc'):<22}{_ci(m, 'spearman'):<22}"
                     f"{_ci(m, 'f1') + ' @ ' + format(m['threshold'], '.2f'):<28}{_ci(m, 'brier'):<22}")
    lines.append("  three-factor scorer (tide/evaluate/factors.py), AUC against the mechanisms its factors map to:")
    for factor, mapped in result["factors"].items():
        lines += [f"    {factor:<24} vs {mechanism:<20} {_ci(a, 'auc')}" for mechanism, a in mapped.items()]
    overlap = result["training_overlap"]
    if overlap["pairs"]:
        lines.append(f"  NOTE: {overlap['pairs']} of {overlap['of']} pairs were in the scorer's training data: "
                     f"{overlap['note']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tide.core.files import write_json_atomic
    from tide.evaluate.summary import json_safe
    from tide.evaluate.validation import validate_directory

    args = parse_args(argv)
    result = validate_directory(args.directory, args.scorer, args.bootstrap, args.seed)
    print(format_validation(result))
    if args.json:
        write_json_atomic(args.json, json_safe(result))
        print(f"  JSON: {args.json}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.validate_scorer", main))
