"""How far Reddit C-SSRS lets a client risk detector go (tide/evaluate/risk_ceiling.py).

    python -m launch.risk_ceiling DIR [--json OUT]                # or: make risk-ceiling CSSRS=DIR
    python -m launch.risk_ceiling DIR --embeddings-cache /tmp/cssrs-minilm.npz    # the train_risk cache
    python -m launch.risk_ceiling DIR --encoder /models/all-mpnet-base-v2          # another encoder's embeddings

DIR holds Reddit C-SSRS's 500_Reddit_users_posts_labels.csv. Prints one row per way of scoring a user
(the shipped heads' post scores pooled by max, top-3 mean and mean; a user-level model that reads all of a
user's posts at once) with the grouped-CV AUC and its 95% CI, and the specificity at 90% sensitivity,
against issue 20's targets (AUC >= 0.90; specificity >= 0.60 at sensitivity 0.90). Writes nothing but
--json. `--encoder` (a sentence-transformers model directory) puts its sentence embeddings where the MiniLM
layers were, to ask whether a stronger encoder would close the gap (not cached: minutes). Bad input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TARGET_AUC, TARGET_SPECIFICITY = 0.90, 0.60


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launch.risk_ceiling", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="a directory holding the C-SSRS CSV")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=1000, help="user resamples for the CIs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embeddings-cache", type=Path, help="an .npz of the posts' MiniLM layer features")
    parser.add_argument("--encoder", type=Path, help="a sentence-transformers model directory whose sentence "
                        "embeddings replace the MiniLM layers")
    return parser.parse_args(argv)


def format_ceiling(result: dict) -> str:
    from tide.core.intervals import format_interval

    lines = [f"Client risk ceiling on {result['users']} users ({result['at_risk']} at risk): {result['validation']}",
             f"  text features: {result['features']}",
             f"  {'user score':24s} {'one turn':9s} {'AUC':24s} {'spec. at sens. 0.90':20s} targets "
             f"(AUC >= {TARGET_AUC:.2f}, spec. >= {TARGET_SPECIFICITY:.2f})"]
    for row in result["rows"]:
        auc, specificity = row["auc"], row["specificity_at_90_sensitivity"]
        met = auc["value"] >= TARGET_AUC and specificity >= TARGET_SPECIFICITY
        lines.append(f"  {row['pooling']:24s} {'yes' if row['scores_one_turn'] else 'no':9s} "
                     f"{format_interval(auc['value'], auc['ci_low'], auc['ci_high']):24s} {specificity:<20.3f} "
                     f"{'met' if met else 'missed'}")
    lines.append("  the specificity is read at a threshold chosen on the same scores: optimistic, a ceiling")
    return "\n".join(lines)


def encoder_features(texts: list[str], directory: Path):
    """Normalised sentence embeddings of `directory`'s encoder, reading at most 256 tokens as MiniLM does."""
    from tide.evaluate.reference import load_encoder
    from tide.evaluate.risk import sentence_vectors

    if not (directory / "modules.json").is_file() and not (directory / "config.json").is_file():
        raise FileNotFoundError(f"--encoder {directory}: not a sentence-transformers model directory")
    encoder = load_encoder(str(directory))
    encoder.max_seq_length = min(encoder.max_seq_length or 256, 256)
    return sentence_vectors(encoder)(texts)


def main(argv=None) -> int:
    from tide.core.files import write_json_atomic
    from tide.evaluate.cssrs import read_cssrs
    from tide.evaluate.risk_ceiling import risk_ceiling
    from tide.evaluate.risk_lexicon import RiskLexicon, package_lexicon
    from tide.evaluate.risk_training import PostTable, RiskTrainingConfig, embed_posts

    args = parse_args(argv)
    config = RiskTrainingConfig(folds=args.folds, bootstrap_samples=args.bootstrap, seed=args.seed)
    table = PostTable.of(read_cssrs(args.directory))
    lexicon_features = RiskLexicon(package_lexicon()).features(table.texts)
    if args.encoder:
        features, source = encoder_features(table.texts, args.encoder), f"sentence embeddings of {args.encoder}"
    else:
        features = embed_posts(table.texts, tuple(config.layers), config.batch_size, args.embeddings_cache)
        source = f"MiniLM mean-pooled layers {', '.join(map(str, config.layers))} (the shipped detector's)"
    result = {**risk_ceiling(table, lexicon_features, features, config), "features": source}
    print(format_ceiling(result))
    if args.json:
        write_json_atomic(args.json, result)
        print(f"  written: {args.json}")
    return 0


if __name__ == "__main__":
    from launch.errors import run_command

    sys.exit(run_command("launch.risk_ceiling", main))
