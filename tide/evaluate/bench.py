"""Evaluation throughput for `make bench`: the batched scorer against a naive per-row loop.

    python -m tide.evaluate.bench [--rows 2000] [--naive-rows 200]

Both sides run the same RowScorer (every CPU metric: cosine, BERTScore, ROUGE-L, BLEU, chrF, METEOR,
distinct-n, length ratio, three-factor scores, safety) on synthetic rows shaped like a run's evaluation
(each dialogue answered zero-shot and fine-tuned, so each reference appears twice); models and
WordNet are loaded by a warm-up call first, so only scoring is timed. The batched side scores all rows
in one call (encoder batches, each distinct text encoded once); the naive side calls it once per row.
The naive loop's cost per row is constant, so it is timed on the first `naive_rows` rows only (a full
2,000-row naive loop takes many minutes on 2 cores) and reported as rows/s like the batched side.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time

import pandas as pd


def benchmark_rows(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """n rows shaped like one run's evaluation: n/2 synthetic dialogues, each answered zero-shot (another
    dialogue's reply) and fine-tuned (the reference, one sentence dropped half of the time)."""
    from tide.data.reader import read_tide
    from tide.data.synthetic import write_synthetic_tide

    dialogues = max(1, n_rows // 2)
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_tide(f"{tmp}/tide", n_personas=max(1, -(-dialogues // 20)), conversations_per_persona=20,
                             seed=seed, self_harm_rate=0.05)
        records = read_tide(f"{tmp}/tide").records[:dialogues]
    rng = random.Random(seed)
    rows = []
    for i, record in enumerate(records):
        sentences = record["reference"].split(". ")
        finetuned = ". ".join(sentences[:-1] or sentences) if rng.random() < 0.5 else record["reference"]
        zero_shot = records[(i + 1) % len(records)]["reference"]
        for condition, reply in (("zero_shot", zero_shot), ("finetuned", finetuned)):
            rows.append({"dialogue_id": record["dialogue_id"], "model": "bench", "condition": condition,
                         "client": record["client"], "reference": record["reference"], "reply": reply})
    return pd.DataFrame(rows[:n_rows])


def evaluation_throughput(eval_cfg: dict, n_rows: int = 2000, naive_rows: int = 200, seed: int = 0) -> dict:
    """{"rows", "batched_rows_per_s", "naive_rows_per_s", "speedup"} for the full CPU metric set."""
    from tide.evaluate.pipeline import RowScorer

    rows = benchmark_rows(n_rows, seed)
    scorer = RowScorer(eval_cfg)
    scorer(rows.head(4))  # warm-up: load the encoders and WordNet, outside the timings

    start = time.perf_counter()
    scorer(rows)
    batched_s = time.perf_counter() - start

    naive = rows.head(naive_rows)
    start = time.perf_counter()
    for i in range(len(naive)):
        scorer(naive.iloc[[i]])
    naive_s = time.perf_counter() - start

    batched_rate, naive_rate = len(rows) / batched_s, len(naive) / naive_s
    return {"rows": len(rows), "metrics": list(eval_cfg["metrics"]), "batched_s": batched_s,
            "batched_rows_per_s": batched_rate, "naive_rows": len(naive), "naive_s": naive_s,
            "naive_rows_per_s": naive_rate, "speedup": batched_rate / naive_rate}


def main(argv=None) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from tide.runtime import CONF_DIR, apply_runtime_env

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--naive-rows", type=int, default=200)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. eval.batch_size=128")
    args = parser.parse_args(argv)
    apply_runtime_env(offline=True, wandb_mode="disabled")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = OmegaConf.to_container(compose("config", overrides=args.overrides), resolve=True)
    result = evaluation_throughput(config["eval"], args.rows, args.naive_rows, config["seed"])
    print(f"evaluation: {result['batched_rows_per_s']:.1f} rows/s batched ({result['rows']} rows), "
          f"{result['naive_rows_per_s']:.2f} rows/s per-row loop ({result['naive_rows']} rows): "
          f"{result['speedup']:.1f}x")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
