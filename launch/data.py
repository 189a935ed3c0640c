"""The data stage (and, for now, `make demo`): TIDE files -> validated, split Parquet artifact.

    python -m launch.data                                   # synthetic TIDE + tiny model, offline
    python -m launch.data data=tide data.dir=/data/TIDE     # real TIDE from a local copy
    python -m launch.data data=tide data.lenient=true       # skip bad records, report them

Prints a summary (dialogues per split, scenario mix, token lengths) and writes it next to the
artifact as summary.json.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra

from launch.common import CONFIG_PATH, setup_run

log = logging.getLogger(__name__)


def run(config: dict) -> dict:
    """The stage itself, on a plain dict; returns the summary it prints."""
    from tide.data.artifact import load_split, write_json_atomic
    from tide.data.lengths import token_length_percentiles
    from tide.data.prepare import prepare_dataset, split_summary

    data_cfg, model_cfg = config["data"], config["model"]
    manifest = prepare_dataset(data_cfg)
    artifact_dir = Path(data_cfg["artifact_dir"])
    summary = {"manifest": manifest, "artifact_dir": str(artifact_dir), **split_summary(artifact_dir)}

    train = load_split(artifact_dir, "train")
    if model_cfg.get("tokenizer"):  # a model built here (tiny), its tokenizer trained on the train split
        from tide.models.tiny import build_tiny_model

        texts = [text for row in train for text in (row["client"], row["reference"])]
        build_tiny_model(model_cfg["path"], texts, model_cfg["architecture"], model_cfg["tokenizer"],
                         seed=config["seed"])
    tokenizer = _tokenizer_or_none(model_cfg)
    if tokenizer is not None:
        summary["tokens"] = token_length_percentiles(
            train, tokenizer, config["prompt"]["system"], config["prompt"]["max_length"], model_cfg["stop_token"])
        summary["model"] = {"name": model_cfg["name"], "source": model_cfg["path"] or model_cfg["hf_id"]}
    write_json_atomic(artifact_dir / "summary.json", summary)
    return summary


def _tokenizer_or_none(model_cfg: dict):
    from tide.models.loading import ModelNotAvailableError, load_tokenizer

    try:
        return load_tokenizer(model_cfg)
    except ModelNotAvailableError as error:
        log.warning("token lengths skipped: %s", error)
        return None


def format_summary(summary: dict) -> str:
    manifest = summary["manifest"]
    reader, corpus = manifest["reader"], manifest["corpus"]
    lines = [
        f"TIDE data ({manifest['source']}): {reader['dialogues']} dialogues, {reader['personas']} personas, "
        f"fingerprint {manifest['fingerprint'][:16]}{' (reused)' if manifest.get('reused') else ''}",
        f"  read {reader['root']} ({reader['layout']} layout); client key {reader['client_key']}, "
        f"reply key {reader['reply_key']}; skipped {reader['skipped']}",
        "",
        f"  {'split':<8}{'personas':>10}{'dialogues':>11}",
    ]
    for name, split in manifest["splits"].items():
        lines.append(f"  {name:<8}{split['personas']:>10}{split['dialogues']:>11}")
    names = list(manifest["splits"])
    scenarios = sorted({s for counts in summary["scenarios"].values() for s in counts}, key=str)
    width = max([len(str(s)) for s in scenarios] + [8])
    lines += ["", "  " + f"{'scenario':<{width}}" + "".join(f"{n:>8}" for n in names)]
    for scenario in scenarios:
        lines.append("  " + f"{str(scenario):<{width}}" + "".join(
            f"{summary['scenarios'][n].get(scenario, 0):>8}" for n in names))
    if "tokens" in summary:
        tokens, columns = summary["tokens"], ("p50", "p90", "p99", "max")
        lines += ["", f"  tokens, {summary['model']['name']} tokenizer, train split",
                  f"  {'':<8}" + "".join(f"{c:>7}" for c in columns)]
        for part in ("prompt", "reply", "total"):
            lines.append(f"  {part:<8}" + "".join(f"{tokens[part][c]:>7}" for c in columns))
        lines.append(f"  longer than prompt.max_length={tokens['max_length']}: {tokens['over_max_length']}")
    lines += [
        "",
        f"  corpus: distinct-1 {corpus['distinct_1']:.3f}, distinct-2 {corpus['distinct_2']:.3f}, "
        f"unique replies {corpus['unique_texts']}/{corpus['texts']}, self-harm clients {corpus['self_harm_clients']}",
        f"  artifact: {summary['artifact_dir']}",
    ]
    if "model" in summary:
        lines.append(f"  model: {summary['model']['source']}")
    return "\n".join(lines)


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
def main(cfg) -> None:
    config = setup_run(cfg)
    summary = run(config)
    print(format_summary(summary))


if __name__ == "__main__":
    main()
