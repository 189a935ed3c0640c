"""Scoring: evaluation rows -> the per-reply metrics frame (eval/metrics.parquet's columns).

Every row is scored by one `RowScorer` (reference metrics, three-factor scores, EPITOME mechanism scores,
safety). Up to eval.shard_rows rows that happens in this process in large batches; beyond it the rows are
sharded over Ray Data actors, each holding its own encoders. The optional LLM judge adds its columns to
the first eval.judge.limit rows (`judge_rows`).
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from tide.config import EvalConfig, GenerateConfig, JudgeConfig
from tide.core.domain import FACTORS

log = logging.getLogger(__name__)

FACTOR_SCORE_COLUMNS = tuple(f"factor_{name}" for name in (*FACTORS, "empathy"))
# mechanism_<er|ip|ex> (P present) and mechanism_<er|ip|ex>_level: tide.evaluate.mechanisms.SCORE_COLUMNS
SAFETY_COLUMNS = ("client_risk", "client_at_risk", "crisis_referral", "harmful", "safety_pass")
# What a RowScorer reads of a row; the rest of the row is joined back after scoring.
SCORED_INPUTS = ("dialogue_id", "model", "condition", "reply", "reference", "client")
ROW_KEYS = ["dialogue_id", "model", "condition"]


class RowScorer:
    """Reference metrics, factor, mechanism and safety columns for a batch of rows (a Ray Data actor, too).

    Each distinct reply and reference goes through the encoder once (tide/evaluate/embedding.py); cosine
    similarity, BERTScore (same encoder), the factor scorer and the mechanism scorers share that pass, and
    so do the client turns the risk detector reads (their layers 3-6).
    share_embeddings=False lets every scorer encode for itself (the pipeline before sharing; `make bench`
    compares the two)."""

    def __init__(self, eval: EvalConfig, share_embeddings: bool = True):
        from tide.evaluate.reference import ReferenceScorer, load_encoder

        self.eval, self.share_embeddings = eval, share_embeddings
        self.reference = ReferenceScorer(eval.metrics, eval.embedder, eval.bertscore.model,
                                         eval.bertscore.num_layers, eval.batch_size)
        self.factors = self.mechanisms = None
        if eval.factors:
            from tide.evaluate.factors import FactorScorer

            self.factors = FactorScorer(load_encoder(eval.embedder), eval.factor_threshold, eval.batch_size)
        if eval.mechanisms:
            from tide.evaluate.mechanisms import MechanismScorer

            self.mechanisms = MechanismScorer()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from tide.evaluate.safety import check_safety

        replies = batch["reply"].fillna("").astype(str).tolist()
        references = batch["reference"].tolist()
        clients = batch["client"].fillna("").astype(str).tolist()
        embedded = None
        if self.share_embeddings:  # client turns join the pass when the risk detector reads its layers
            embedded = self.reference.embed([*replies, *references, *(clients if self._risk_shares() else [])],
                                            self._shared_layers())
        out = batch.copy()
        for column, values in self.reference.score(replies, references, embedded,
                                                   separate=not self.share_embeddings).items():
            out[column] = values
        if self.factors is not None:
            reply_rows = embedded.numpy_rows(replies) if embedded is not None else None
            for name, values in self.factors.score(replies, reply_rows).items():
                out[f"factor_{name}"] = values
        if self.mechanisms is not None:
            for column, values in self.mechanisms.score(replies, self._mechanism_embeddings(replies, embedded)).items():
                out[column] = values
        if self.eval.safety:
            client_layers = embedded.layer_rows(clients) if embedded is not None and self._risk_shares() else None
            for column, values in check_safety(clients, replies, client_layers).items():
                out[column] = values
        return out

    def _risk_shares(self) -> bool:
        """The client risk detector reads the same MiniLM layers the shared pass pools (tide/evaluate/risk.py)."""
        from tide.evaluate.risk import default_detector

        return bool(self.eval.safety and self._shared_layers()
                    and tuple(default_detector().layers) == tuple(self._shared_layers()))

    def _shared_layers(self) -> tuple[int, ...]:
        """The hidden layers the shared pass pools for the mechanism scorers (none when they need their
        own MiniLM pass because eval.embedder is another encoder)."""
        if self.mechanisms is None or self.eval.embedder is not None:
            return ()
        return self.mechanisms.layers

    def _mechanism_embeddings(self, replies: list[str], embedded):
        """The mechanism scorers read MiniLM layer features: the shared pass's, unless eval.embedder is
        another encoder."""
        from tide.evaluate.embedding import TextEmbeddings
        from tide.evaluate.reference import load_encoder

        if embedded is None or not self._shared_layers():
            embedded = TextEmbeddings(load_encoder(None), replies, self.eval.batch_size,
                                      layers=self.mechanisms.layers)
        return embedded.layer_rows(replies)


def score_rows(frame: pd.DataFrame, eval: EvalConfig) -> pd.DataFrame:
    """All rows scored, in this process or (more than eval.shard_rows rows) over Ray Data actors."""
    inputs = frame[list(SCORED_INPUTS)].reset_index(drop=True)
    if len(inputs) <= eval.shard_rows:
        scored = RowScorer(eval)(inputs)
    else:
        scored = _score_with_ray(inputs, eval)
    metric_columns = [c for c in scored.columns if c not in inputs.columns]
    return frame.merge(scored[ROW_KEYS + metric_columns], on=ROW_KEYS, how="left", validate="one_to_one")


def _score_with_ray(inputs: pd.DataFrame, eval: EvalConfig) -> pd.DataFrame:
    import ray

    shards = math.ceil(len(inputs) / eval.shard_rows)
    actors = max(1, min(eval.concurrency, shards))
    log.info("scoring %d rows in %d shards over %d Ray Data actors", len(inputs), shards, actors)
    # from_items, not from_pandas: Ray 2.60's from_pandas cannot split a pandas 3 frame into blocks.
    dataset = ray.data.from_items(inputs.to_dict("records"), override_num_blocks=shards).map_batches(
        RowScorer, fn_constructor_kwargs={"eval": eval}, batch_size=eval.shard_rows,
        batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=eval.cpus_per_actor)
    return dataset.to_pandas()


def judge_rows(scored: pd.DataFrame, judge: JudgeConfig, generate: GenerateConfig,
               judge_model=None) -> tuple[pd.DataFrame, dict]:
    """The judge's columns (judge_<score>, judge_attempts) for the first judge.limit rows, and its counters.

    judge_model: a tide.evaluate.judge.JudgeModel; None runs judge.model_cfg through the generation path
    with `generate`'s backend, precision and actor pool.
    """
    from tide.evaluate.judge import generation_judge_model, judge_columns, judge_replies

    if judge_model is None:
        judge_model = generation_judge_model(judge, generate)
    limit = judge.limit if judge.limit is not None else len(scored)
    subset = scored.iloc[:limit]
    result = judge_replies(subset["client"].tolist(), subset["reply"].fillna("").tolist(), judge_model,
                           judge.max_retries)
    # float columns: rows beyond the limit, and replies never validly judged, are NaN
    columns = pd.DataFrame(judge_columns(result), index=subset.index, dtype=float)
    return scored.join(columns), {**result["counts"], "limit": judge.limit}


def is_metric(column: str) -> bool:
    """A column the statistics summarise: reference metrics, factor, mechanism and judge scores, safety_pass."""
    from tide.evaluate.judge import JUDGE_SCORES
    from tide.evaluate.mechanisms import SCORE_COLUMNS as MECHANISM_COLUMNS
    from tide.evaluate.reference import METRIC_COLUMNS

    return (any(column in columns for columns in METRIC_COLUMNS.values()) or column in FACTOR_SCORE_COLUMNS
            or column in MECHANISM_COLUMNS
            or column in {f"judge_{name}" for name in JUDGE_SCORES} or column == "safety_pass")


def metric_columns(scored: pd.DataFrame) -> list[str]:
    """The scored frame's metric columns that hold at least one value, in column order."""
    return [c for c in scored.columns if is_metric(c) and scored[c].notna().any()]


def describe_metrics(eval: EvalConfig) -> dict:
    """What produced the numbers (encoders, layers, METEOR's WordNet), without loading any model."""
    from tide.evaluate.reference import ReferenceScorer

    info = ReferenceScorer(eval.metrics, eval.embedder, eval.bertscore.model, eval.bertscore.num_layers).describe()
    if eval.factors:
        info["factors"] = (f"tide.evaluate.factors: example similarity + cue lexicons, "
                           f"threshold {eval.factor_threshold} (not trained; EPITOME agreement in "
                           "docs/evaluation.md)")
    if eval.safety:
        from tide.evaluate.risk import default_detector, risk_fingerprint

        detector = default_detector()
        user = detector.meta["cv"]["user_level"]
        info["safety"] = (f"tide.evaluate.risk: client risk detector trained on Reddit C-SSRS (threshold "
                          f"{detector.threshold:.2f}; grouped-CV user-level sensitivity {user['sensitivity']['value']:.2f},"
                          f" specificity {user['specificity']['value']:.2f}; not a clinical instrument), "
                          f"detector sha256 {risk_fingerprint()[:12]}; referral and harm patterns: tide.core.crisis, "
                          "tide.evaluate.harm")
    if eval.mechanisms:
        from tide.evaluate.mechanisms import scorer_fingerprint

        info["mechanisms"] = ("tide.evaluate.mechanisms: EPITOME ER/IP/EX scorers trained on human labels "
                              "(grouped-CV agreement in tide/evaluate/scorers/cv_metrics.json), "
                              f"scorer sha256 {scorer_fingerprint()[:12]}")
    return info
