"""Precision and recall of the safety checks on the hand-labelled sets (tide/evaluate/safety_fixtures.py).

    python -m launch.safety_fixtures                      # tests/fixtures/safety/
    python -m launch.safety_fixtures DIR [--json OUT]

Prints, per labelled set: the referral check (tide.core.crisis), the harm flags by kind
(tide/evaluate/harm.py) and the client risk detector on short chat turns (tide/evaluate/risk.py), each
with n, positives, precision, recall and specificity, and the ids it gets wrong. The sets were written
and labelled by the suite's developers (tests/fixtures/safety/README.md), not by clinicians; the
`*_holdout` sets were written before the checks were revised against the others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "safety"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_agreement(result: dict) -> str:
    lines = [f"  {'set':<22}{'label':<15}{'n':>5}{'pos':>6}  {'precision':<11}{'recall':<11}{'specificity':<12}wrong"]
    for name, labels in result.items():
        for label, figures in labels.items():
            if label == "wrong":
                continue
            lines.append(f"  {name:<22}{label:<15}{figures['n']:>5}{figures['positives']:>6}  "
                         f"{_fmt(figures['precision']):<11}{_fmt(figures['recall']):<11}{_fmt(figures['specificity']):<12}"
                         f"{', '.join(labels['wrong']) if label == next(iter(labels)) else ''}")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tide.core.files import write_json_atomic
    from tide.evaluate.safety_fixtures import agreement

    parser = argparse.ArgumentParser(prog="python -m launch.safety_fixtures", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, nargs="?", default=DEFAULT_DIR)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    result = agreement(args.directory)
    print(f"Safety checks against hand-labelled sets in {args.directory}")
    print(format_agreement(result))
    if args.json:
        write_json_atomic(args.json, result)
        print(f"  JSON: {args.json}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.safety_fixtures", main))
