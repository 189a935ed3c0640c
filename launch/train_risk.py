"""Retrain the client risk detector and write its grouped-CV figures (tide/evaluate/risk_training.py).

    python -m launch.train_risk DIR                               # or: make risk-detector CSSRS=DIR
    python -m launch.train_risk DIR --out /tmp/risk --folds 5 --bootstrap 1000
    python -m launch.train_risk DIR --embeddings-cache /tmp/cssrs-minilm.npz    # encode once, rerun fast

DIR holds Reddit C-SSRS's 500_Reddit_users_posts_labels.csv. Prints what the reader repaired, then the
out-of-fold figures (user and post level AUC, sensitivity and specificity at the chosen threshold, with
95% CIs; the Indicator users' flag rate; each head alone; the cross-fitted check) and writes risk.npz +
risk.json into --out (default: the shipped tide/evaluate/scorers/). Bad input: one line, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tide.evaluate.risk import SCORER_DIR


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.train_risk", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="a directory holding the C-SSRS CSV")
    parser.add_argument("--out", type=Path, default=SCORER_DIR, help="where risk.npz and risk.json go")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000, help="user resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embeddings-cache", type=Path, help="an .npz of the posts' MiniLM layer features")
    return parser.parse_args(argv)


def format_report(report: dict) -> str:
    from launch.validate_safety import format_figures, format_reader

    cv = report["cv"]
    lines = [format_reader(report["reader"]), f"Client risk detector: {report['validation']}"]
    lines.append(format_figures(cv))
    lines.append("  each head alone (AUC user / post): " + ", ".join(
        f"{head} {h['user_auc']:.3f} / {h['post_auc']:.3f}" for head, h in cv["heads"].items()))
    if cv["sensitivity_threshold"] < cv["threshold"]:
        lines.append(f"  threshold: {cv['threshold']:.2f}, the gate's split; {report['settings']['target_sensitivity']:.0%} "
                     f"sensitivity would need {cv['sensitivity_threshold']:.2f}, which flags texts that voice no risk")
    check = cv["cross_fitted"]
    lines.append(f"  cross-fitted threshold (each fold's from the other folds): sensitivity "
                 f"{check['sensitivity']:.3f}, specificity {check['specificity']:.3f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tide.evaluate.risk_training import RiskTrainingConfig, train_detector

    args = parse_args(argv)
    config = RiskTrainingConfig(folds=args.folds, bootstrap_samples=args.bootstrap, seed=args.seed)
    report = train_detector(args.directory, args.out, config, embeddings_cache=args.embeddings_cache)
    print(format_report(report))
    print(f"  detector: {args.out} (risk.npz, risk.json)")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.train_risk", main))
