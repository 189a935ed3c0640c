"""Agreement of the client risk detector with psychiatrists' labels (tide/evaluate/risk_validation.py).

    python -m launch.validate_safety DIR [--json OUT]             # or: make validate-safety DIR=...
    python -m launch.validate_safety DIR --detector /tmp/risk --bootstrap 2000

DIR holds Reddit C-SSRS's 500_Reddit_users_posts_labels.csv. Scores every post with the shipped detector
and prints, with 95% CIs over user resamples: AUC, sensitivity and specificity at the shipped threshold for
at-risk users (Ideation, Behavior, Attempt) against Supportive ones, per user (a user is flagged when any
post is) and per post, and the Indicator users' flag rate; --json writes them as
{"user_level": {"auc", "sensitivity", "specificity", "threshold", "n"}, "post_level": {...},
"indicator_flag_rate"} (each rate {"value", "ci_low", "ci_high"}); what the reader repaired is printed.
On users the detector was trained on this is not a validation, and it says so. Bad input: one line on
stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NOT_CLINICAL = ("A classifier validated on Reddit posts is not a clinical instrument: these figures say how it "
                "agrees with psychiatrists' ratings of Reddit users, not how it would find people at risk in a chat.")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.validate_safety", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="a directory holding the C-SSRS CSV")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--detector", type=Path, help="a retrained detector directory (default: the shipped one)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="user resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _ci(figure: dict) -> str:
    from tide.core.intervals import format_interval

    return format_interval(figure["value"], figure["ci_low"], figure["ci_high"])


def format_figures(figures: dict) -> str:
    lines = [f"  {'level':<7}{'n':>6}{'at risk':>9}{'supportive':>12}  {'AUC':<24}{'sensitivity':<24}"
             f"{'specificity':<24}threshold"]
    for level in ("user_level", "post_level"):
        f = figures[level]
        lines.append(f"  {level.split('_')[0]:<7}{f['n']:>6}{f['at_risk']:>9}{f['supportive']:>12}  {_ci(f['auc']):<24}"
                     f"{_ci(f['sensitivity']):<24}{_ci(f['specificity']):<24}{f['threshold']:.4f}")
    indicator = figures["indicator_flag_rate"]
    lines.append(f"  Indicator users flagged (risk indicators without ideation; n {indicator['n']}): {_ci(indicator)}")
    return "\n".join(lines)


def format_reader(report: dict) -> str:
    malformed = report["malformed_lists"]
    undone = ", ".join(f"{k} ({v})" for k, v in list(report["substitutions_undone"].items())[:6])
    return (f"C-SSRS: {report['users']} users, {report['posts']} posts, labels {report['labels']}\n"
            f"  malformed Post lists: {malformed['rows']} rows ({malformed['handling']})\n"
            f"  concept substitutions mapped back: {sum(report['substitutions_undone'].values())} ({undone}, ...)")


def format_validation(result: dict) -> str:
    lines = [format_reader(result["reader"]),
             f"Client risk detector {result['detector']} on {result['data']} (95% CIs over "
             f"{result['bootstrap_samples']} user resamples)", format_figures(result)]
    overlap = result["training_overlap"]
    if overlap["users"]:
        lines.append(f"  NOTE: {overlap['users']} of {overlap['of']} users were in the detector's training data: "
                     f"{overlap['note']}")
        if result.get("cv"):
            lines += ["  the detector's grouped cross-validation (out-of-fold) on its development split:",
                      format_figures(result["cv"])]
    lines.append(f"  {NOT_CLINICAL}")
    return "\n".join(lines)


LEVEL_KEYS = ("auc", "sensitivity", "specificity", "threshold", "n")


def figures_json(result: dict) -> dict:
    """The issue's shape exactly: {"user_level": {auc, sensitivity, specificity, threshold, n}, "post_level":
    {...}, "indicator_flag_rate"}; each rate {"value", "ci_low", "ci_high"} (the flag rate with its n)."""
    return {**{level: {key: result[level][key] for key in LEVEL_KEYS} for level in ("user_level", "post_level")},
            "indicator_flag_rate": result["indicator_flag_rate"]}


def main(argv=None) -> int:
    from tide.core.files import write_json_atomic
    from tide.evaluate.risk_validation import validate_directory
    from tide.evaluate.summary import json_safe

    args = parse_args(argv)
    result = validate_directory(args.directory, args.detector, args.bootstrap, args.seed)
    print(format_validation(result))
    if args.json:
        write_json_atomic(args.json, json_safe(figures_json(result)))
        print(f"  JSON: {args.json}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.validate_safety", main))
