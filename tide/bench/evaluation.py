"""Evaluation throughput for `make bench`: shared embeddings against separate encoders and a per-row loop.

    python -m tide.bench.evaluation [--rows 2000] [--naive-rows 200]

Three sides run the same RowScorer (every CPU metric: cosine, BERTScore, ROUGE-L, BLEU, chrF, METEOR,
distinct-n, length ratio, three-factor scores, EPITOME mechanism scores, safety) on synthetic rows shaped
like a run's evaluation (each dialogue answered zero-shot and fine-tuned, so each reference appears
twice); models and WordNet are loaded by a warm-up call first, so only scoring is timed.

- shared: all rows in one call; each distinct text through the encoder once, that pass shared by cosine,
  BERTScore, the factor and the mechanism scorers (the evaluation stage's path);
- separate: all rows in one call, but every scorer encodes for itself (cosine, bert_score's own
  BERTScorer, factor scorer, mechanism scorer): the pipeline's structure before sharing;
- naive: a per-row loop over the pipeline before sharing: the separate scorer called once per row, so
  every scorer encodes each row's texts for itself (the issue's naive loop: no batching, no sharing);
- shared per row: the shared scorer called once per row (a stricter baseline: sharing without batching).

A per-row loop's cost per row is constant, so both are timed on the first `naive_rows` rows only (a full
2,000-row naive loop takes many minutes on 2 cores).

Also timed: the factor + mechanism scorers alone on precomputed embeddings, and with the encoding of the
replies included (replies/s).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time

import pandas as pd

from tide.bench.results import measured
from tide.config import EvalConfig, TideConfig, with_options
from tide.core.domain import FINETUNED, ZERO_SHOT
from tide.core.telemetry import device_name

TARGETS = {
    "evaluation_speedup": {"op": ">=", "value": 5.0},
    "evaluation_sharing": {"op": ">=", "value": 3.0},
}


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
        for condition, reply in ((ZERO_SHOT, zero_shot), (FINETUNED, finetuned)):
            rows.append({"dialogue_id": record["dialogue_id"], "model": "bench", "condition": condition,
                         "client": record["client"], "reference": record["reference"], "reply": reply})
    return pd.DataFrame(rows[:n_rows])


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def scorer_throughput(scorer, replies: list[str]) -> dict:
    """Factor + mechanism scorers on these replies: replies/s without and with encoding the replies."""
    from tide.evaluate.embedding import TextEmbeddings
    from tide.evaluate.reference import load_encoder

    layers = scorer.mechanisms.layers
    encoded = _timed(lambda: TextEmbeddings(load_encoder(None), replies, layers=layers))
    embedded = TextEmbeddings(load_encoder(None), replies, layers=layers)
    sentences, layer_rows = embedded.numpy_rows(replies), embedded.layer_rows(replies)
    scoring = _timed(lambda: (scorer.factors.score(replies, sentences), scorer.mechanisms.score(replies, layer_rows)))
    return {"replies": len(replies), "scorers_replies_per_s": len(replies) / scoring,
            "scorers_with_encoding_replies_per_s": len(replies) / (scoring + encoded)}


def evaluation_throughput(eval: EvalConfig, n_rows: int = 2000, naive_rows: int = 200, seed: int = 0) -> dict:
    """Rows/s of the shared, separate, naive and shared-per-row sides for the full CPU metric set, and
    their ratios."""
    from tide.evaluate.scoring import RowScorer

    eval = with_options(eval, {"factors": True, "mechanisms": True, "safety": True}, path="eval")
    rows = benchmark_rows(n_rows, seed)
    shared, separate = RowScorer(eval), RowScorer(eval, share_embeddings=False)
    for scorer in (shared, separate):
        scorer(rows.head(4))  # warm-up: load the encoders and WordNet, outside the timings

    shared_s = _timed(lambda: shared(rows))
    separate_s = _timed(lambda: separate(rows))
    naive = rows.head(naive_rows)
    naive_s = _timed(lambda: [separate(naive.iloc[[i]]) for i in range(len(naive))])
    shared_per_row_s = _timed(lambda: [shared(naive.iloc[[i]]) for i in range(len(naive))])

    shared_rate, separate_rate, naive_rate = len(rows) / shared_s, len(rows) / separate_s, len(naive) / naive_s
    shared_per_row_rate = len(naive) / shared_per_row_s
    return {"rows": len(rows), "metrics": list(eval.metrics), "batched_s": shared_s,
            "batched_rows_per_s": shared_rate, "separate_s": separate_s, "separate_rows_per_s": separate_rate,
            "naive_rows": len(naive), "naive_s": naive_s, "naive_rows_per_s": naive_rate,
            "shared_per_row_s": shared_per_row_s, "shared_per_row_rows_per_s": shared_per_row_rate,
            "speedup": shared_rate / naive_rate, "sharing_speedup": shared_rate / separate_rate,
            "speedup_vs_shared_per_row": shared_rate / shared_per_row_rate,
            **scorer_throughput(shared, rows["reply"].tolist())}


def bench_evaluation(config: TideConfig, repeats: int, rows: int, naive_rows: int) -> list[dict]:
    """`make bench` entries: shared vs per-row loop, shared vs separate encoders, scorer replies/s."""
    eval, seed, device = config.eval, config.seed, device_name()
    runs = [evaluation_throughput(eval, rows, naive_rows, seed + repeat) for repeat in range(repeats)]
    return [
        measured("evaluation_speedup", f"Evaluation (rows/s, batched / per-row loop, {rows} rows)",
                 [run["speedup"] for run in runs], "x", device, TARGETS["evaluation_speedup"], {"runs": runs}),
        measured("evaluation_shared_per_row", f"Evaluation (rows/s, batched / shared scorer per row, {rows} rows)",
                 [run["speedup_vs_shared_per_row"] for run in runs], "x", device),
        measured("evaluation_sharing", f"Evaluation (rows/s, shared embeddings / separate encoders, {rows} rows)",
                 [run["sharing_speedup"] for run in runs], "x", device, TARGETS["evaluation_sharing"]),
        measured("scorer_throughput", "Factor + mechanism scorers (replies/s, encoding included)",
                 [run["scorers_with_encoding_replies_per_s"] for run in runs], "replies/s", device),
    ]


def main(argv=None) -> dict:
    from tide.config import compose_config
    from tide.core.runtime import apply_runtime_env

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--naive-rows", type=int, default=200)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. eval.batch_size=128")
    args = parser.parse_args(argv)
    apply_runtime_env(offline=True, wandb_mode="disabled")
    config = compose_config(args.overrides)
    result = evaluation_throughput(config.eval, args.rows, args.naive_rows, config.seed)
    print(f"evaluation: {result['batched_rows_per_s']:.1f} rows/s shared embeddings ({result['rows']} rows), "
          f"{result['separate_rows_per_s']:.1f} rows/s separate encoders ({result['sharing_speedup']:.1f}x), "
          f"{result['naive_rows_per_s']:.2f} rows/s per-row loop ({result['naive_rows']} rows; "
          f"{result['speedup']:.1f}x), {result['shared_per_row_rows_per_s']:.2f} rows/s shared scorer per row "
          f"({result['speedup_vs_shared_per_row']:.1f}x); scorers "
          f"{result['scorers_with_encoding_replies_per_s']:.0f} replies/s with encoding, "
          f"{result['scorers_replies_per_s']:.0f} without")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
