"""Retrain the EPITOME mechanism scorers and write their grouped-CV figures (tide/evaluate/mechanism_training.py).

    python -m launch.train_scorer DIR                              # or: make scorer EPITOME=DIR
    python -m launch.train_scorer DIR --out /tmp/scorer --folds 5 --bootstrap 1000
    python -m launch.train_scorer DIR --embeddings-cache /tmp/epitome-minilm.npz   # encode once, rerun fast

DIR holds EPITOME's three CSVs (emotional-reactions-reddit.csv, interpretations-reddit.csv,
explorations-reddit.csv). Prints per mechanism the out-of-fold AUC, Spearman, F1 and Brier with 95% CIs;
writes mechanisms.npz + mechanisms.json (the scorer), cv_metrics.json and reliability.png into --out
(default: the shipped tide/evaluate/scorers/, whose README carries the data's licence notice).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tide.core.intervals import format_interval
from tide.evaluate.mechanisms import SCORER_DIR


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.train_scorer", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="an EPITOME-format directory")
    parser.add_argument("--out", type=Path, default=SCORER_DIR, help="where the scorer and figures go")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000, help="seeker-post bootstrap resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embeddings-cache", type=Path,
                        help="an .npz reused when it holds these responses' MiniLM embeddings (written otherwise)")
    return parser.parse_args(argv)


def _value(m: dict, name: str) -> str:
    return format_interval(m[name], *m[f"{name}_ci"])  # the value alone for the single heads (no CI)


def format_cv(cv: dict) -> str:
    lines = [f"EPITOME mechanism scorers: {cv['validation']}; {cv['seeker_posts']} seeker posts; 95% CIs "
             "(seeker-post bootstrap) for the shipped combination"]
    for report in cv["mechanisms"].values():
        for head, m in report["heads"].items():
            lines.append(f"  {report['short_name']} {head:<10} n {m['n']:>5}  AUC {_value(m, 'auc')}  Spearman "
                         f"{_value(m, 'spearman')}  F1@{m['threshold']:.2f} {_value(m, 'f1')}  Brier {_value(m, 'brier')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tide.evaluate.mechanism_training import TrainingConfig, train_scorer

    args = parse_args(argv)
    config = TrainingConfig(folds=args.folds, bootstrap_samples=args.bootstrap, seed=args.seed)
    cv = train_scorer(args.directory, args.out, config, embeddings_cache=args.embeddings_cache)
    print(format_cv(cv))
    print(f"  scorer and figures: {args.out} (mechanisms.npz, mechanisms.json, cv_metrics.json, reliability.png)")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.train_scorer", main))
