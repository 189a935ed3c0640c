"""The evaluation stage: a run's generations + the data artifact's references -> per-row metrics + summary.

    <run.dir>/generations/<condition>/*.parquet   (tide.generate)      --\
    <data.artifact_dir>/<split>.parquet           (tide.data)           --> <run.dir>/eval/metrics.parquet
                                                                             <run.dir>/eval/summary.json

Every row is scored by one `RowScorer` (reference metrics, three-factor scores, safety). Up to
eval.shard_rows rows that happens in this process in large batches; beyond it the rows are sharded
over Ray Data actors, each holding its own encoders. Then statistics (bootstrap CIs, paired tests, the
size ceiling), the factor scorer's accuracy on the references' recorded spans, the optional judge and
human ratings are added, and both files are written (temp name + rename; the summary last, so a
summary means a complete evaluation). One process logs the summary and a table of sample replies.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tide.core.domain import FACTORS

log = logging.getLogger(__name__)

DISCLAIMER = ("These scores describe model replies for research. Language models can supplement, never replace, "
              "clinical care; a person in crisis needs a human: a crisis line, emergency services or a clinician.")
GENERATION_COLUMNS = ("dialogue_id", "condition", "model", "reply")
FACTOR_SCORE_COLUMNS = tuple(f"factor_{name}" for name in (*FACTORS, "empathy"))
# mechanism_<er|ip|ex> (P present) and mechanism_<er|ip|ex>_level: tide.evaluate.mechanisms.SCORE_COLUMNS
SAFETY_COLUMNS = ("client_at_risk", "crisis_referral", "harmful", "safety_pass")
SAMPLE_COLUMNS = ("dialogue_id", "model", "condition", "scenario", "client", "reply", "reference")


class EvaluationInputError(ValueError):
    """Generations or references that cannot be evaluated; the message names the file and the fix."""


# ---------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------


def load_generations(generations_dir: str | Path) -> pd.DataFrame:
    """Every `<condition>/*.parquet` under generations_dir, checked for the columns evaluation needs."""
    generations_dir = Path(generations_dir)
    files = sorted(generations_dir.glob("*/*.parquet"))
    if not files:
        raise EvaluationInputError(f"{generations_dir}: no generation files (<condition>/*.parquet); "
                                   "run `python -m launch.generate` first or set eval.generations_dir")
    frames = []
    for path in files:
        frame = pd.read_parquet(path)
        missing = [c for c in GENERATION_COLUMNS if c not in frame.columns]
        if missing:
            raise EvaluationInputError(f"{path}: missing column(s) {missing} (docs/artifacts.md, generation rows)")
        frames.append(frame.assign(source_file=str(path.relative_to(generations_dir))))
    frame = pd.concat(frames, ignore_index=True)
    duplicated = frame.duplicated(["dialogue_id", "model", "condition"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise EvaluationInputError(f"{generations_dir}: {int(duplicated.sum())} duplicate (dialogue_id, model, "
                                   f"condition) rows, e.g. {first['dialogue_id']!r} in {first['source_file']}")
    return frame


def attach_references(frame: pd.DataFrame, artifact_dir: str | Path, split: str) -> pd.DataFrame:
    """Add reference, client, scenario and extra from the data artifact; every row must find its reference."""
    from tide.data.artifact import load_split

    references = load_split(artifact_dir, split).to_pandas().set_index("dialogue_id")
    unknown = ~frame["dialogue_id"].isin(references.index)
    if unknown.any():
        missing = frame[unknown]
        by_file = missing.groupby("source_file")["dialogue_id"].apply(lambda ids: list(ids)[:3]).to_dict()
        raise EvaluationInputError(
            f"{int(unknown.sum())} generation row(s) have no reference in {artifact_dir} split {split!r}: "
            + "; ".join(f"{file} (e.g. {ids})" for file, ids in by_file.items())
            + ". Point data.artifact_dir and eval.references_split at the data the replies were generated from.")
    joined = frame.drop(columns=[c for c in ("scenario", "client", "reference", "extra") if c in frame])
    return joined.join(references[["scenario", "client", "reference", "extra"]], on="dialogue_id")


# ---------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------


class RowScorer:
    """Reference metrics, factor, mechanism and safety columns for a batch of rows (a Ray Data actor, too).

    Each distinct reply and reference goes through the encoder once (tide/evaluate/embedding.py); cosine
    similarity, BERTScore (same encoder), the factor scorer and the mechanism scorers share that pass.
    share_embeddings=False lets every scorer encode for itself (the pipeline before sharing; `make bench`
    compares the two)."""

    def __init__(self, eval_cfg: dict, share_embeddings: bool = True):
        from tide.evaluate.reference import ReferenceScorer, load_encoder

        self.eval_cfg, self.share_embeddings = eval_cfg, share_embeddings
        self.reference = ReferenceScorer(eval_cfg["metrics"], eval_cfg["embedder"], eval_cfg["bertscore"]["model"],
                                         eval_cfg["bertscore"]["num_layers"], eval_cfg["batch_size"])
        self.factors = self.mechanisms = None
        if eval_cfg["factors"]:
            from tide.evaluate.factors import FactorScorer

            self.factors = FactorScorer(load_encoder(eval_cfg["embedder"]), eval_cfg["factor_threshold"],
                                        eval_cfg["batch_size"])
        if eval_cfg["mechanisms"]:
            from tide.evaluate.mechanisms import MechanismScorer

            self.mechanisms = MechanismScorer()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from tide.evaluate.safety import check_safety

        replies = batch["reply"].fillna("").astype(str).tolist()
        references = batch["reference"].tolist()
        embedded = None
        if self.share_embeddings:
            embedded = self.reference.embed([*replies, *references], self._shared_layers())
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
        if self.eval_cfg["safety"]:
            for column, values in check_safety(batch["client"].tolist(), replies).items():
                out[column] = values
        return out

    def _shared_layers(self) -> tuple[int, ...]:
        """The hidden layers the shared pass pools for the mechanism scorers (none when they need their
        own MiniLM pass because eval.embedder is another encoder)."""
        if self.mechanisms is None or self.eval_cfg["embedder"] is not None:
            return ()
        return self.mechanisms.layers

    def _mechanism_embeddings(self, replies: list[str], embedded):
        """The mechanism scorers read MiniLM layer features: the shared pass's, unless eval.embedder is
        another encoder."""
        from tide.evaluate.embedding import TextEmbeddings
        from tide.evaluate.reference import load_encoder

        if embedded is None or not self._shared_layers():
            embedded = TextEmbeddings(load_encoder(None), replies, self.eval_cfg["batch_size"],
                                      layers=self.mechanisms.layers)
        return embedded.layer_rows(replies)


def score_rows(frame: pd.DataFrame, eval_cfg: dict) -> pd.DataFrame:
    """All rows scored, in this process or (more than eval.shard_rows rows) over Ray Data actors."""
    inputs = frame[["dialogue_id", "model", "condition", "reply", "reference", "client"]].reset_index(drop=True)
    if len(inputs) <= eval_cfg["shard_rows"]:
        scored = RowScorer(eval_cfg)(inputs)
    else:
        scored = _score_with_ray(inputs, eval_cfg)
    metric_columns = [c for c in scored.columns if c not in inputs.columns]
    keys = ["dialogue_id", "model", "condition"]
    return frame.merge(scored[keys + metric_columns], on=keys, how="left", validate="one_to_one")


def _score_with_ray(inputs: pd.DataFrame, eval_cfg: dict) -> pd.DataFrame:
    import ray

    shards = math.ceil(len(inputs) / eval_cfg["shard_rows"])
    actors = max(1, min(eval_cfg["concurrency"], shards))
    log.info("scoring %d rows in %d shards over %d Ray Data actors", len(inputs), shards, actors)
    # from_items, not from_pandas: Ray 2.60's from_pandas cannot split a pandas 3 frame into blocks.
    dataset = ray.data.from_items(inputs.to_dict("records"), override_num_blocks=shards).map_batches(
        RowScorer, fn_constructor_kwargs={"eval_cfg": eval_cfg}, batch_size=eval_cfg["shard_rows"],
        batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=eval_cfg["cpus_per_actor"])
    return dataset.to_pandas()


# ---------------------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------------------


def evaluate(config: dict, judge_model=None, tracker=None) -> dict:
    """Score a run's generations; write eval/metrics.parquet and eval/summary.json; return the summary.

    judge_model: a tide.evaluate.judge.JudgeModel; None builds one from eval.judge.model_cfg when that is set.
    tracker: the pipeline's tide.track.TrackedRun to log into; None makes this call's own W&B run.
    """
    from tide.evaluate.reference import WORDNET_MISSING, check_metrics

    from tide.evaluate.ratings import read_ratings

    eval_cfg = config["eval"]
    check_metrics(eval_cfg["metrics"])
    # Everything that can be wrong with the inputs is checked before the expensive scoring.
    ratings = read_ratings(eval_cfg["ratings"], eval_cfg["ratings_scale"]) if eval_cfg["ratings"] else None
    started = time.perf_counter()
    frame = load_generations(eval_cfg["generations_dir"])
    frame = attach_references(frame, config["data"]["artifact_dir"], eval_cfg["references_split"])
    failed = frame["reply"].isna()
    if "error" in frame:
        failed |= frame["error"].notna()
    failed = failed.to_numpy()
    scored = score_rows(frame, eval_cfg)
    scoring_s = time.perf_counter() - started

    info = describe_metrics(eval_cfg)
    judge_counts = None
    if judge_model is not None or eval_cfg["judge"]["model_cfg"] is not None:
        scored, judge_counts = _judge(scored, config, judge_model)

    metrics = [c for c in scored.columns if _is_metric(c) and scored[c].notna().any()]
    # Failed generations are scored (their rows are kept) but left out of every statistic.
    usable = scored[~failed]
    unavailable = {"meteor": WORDNET_MISSING} if "meteor" in scored and scored["meteor"].isna().all() else {}
    summary = {
        "disclaimer": DISCLAIMER,
        "rows": int(len(scored)), "failed_generations": int(failed.sum()),
        "models": sorted(scored["model"].unique().tolist()), "conditions": sorted(scored["condition"].unique().tolist()),
        "metrics": metrics, "metrics_info": info, "unavailable": unavailable,
        **statistics(usable, metrics, eval_cfg),
        "factor_scorer": _factor_report(frame, eval_cfg),
        "judge": judge_counts,
        "human_ratings": _ratings_report(ratings, usable, metrics, eval_cfg) if ratings is not None else None,
        "timing": {"scoring_s": scoring_s, "rows_per_s": len(scored) / scoring_s if scoring_s else None},
    }
    out_dir = Path(eval_cfg["output_dir"])
    summary["outputs"] = {"metrics": str(out_dir / "metrics.parquet"), "summary": str(out_dir / "summary.json")}
    _write_parquet_atomic(scored, out_dir / "metrics.parquet")
    from tide.core.files import write_json_atomic

    write_json_atomic(out_dir / "summary.json", json_safe(summary))
    log_evaluation(config, summary, scored, tracker)
    return json_safe(summary)


def describe_metrics(eval_cfg: dict) -> dict:
    """What produced the numbers (encoders, layers, METEOR's WordNet), without loading any model."""
    from tide.evaluate.reference import ReferenceScorer

    info = ReferenceScorer(eval_cfg["metrics"], eval_cfg["embedder"], eval_cfg["bertscore"]["model"],
                           eval_cfg["bertscore"]["num_layers"]).describe()
    if eval_cfg["factors"]:
        info["factors"] = (f"tide.evaluate.factors: example similarity + cue lexicons, "
                           f"threshold {eval_cfg['factor_threshold']} (not trained; EPITOME agreement in "
                           "docs/evaluation.md)")
    if eval_cfg["mechanisms"]:
        from tide.evaluate.mechanisms import scorer_fingerprint

        info["mechanisms"] = ("tide.evaluate.mechanisms: EPITOME ER/IP/EX scorers trained on human labels "
                              "(grouped-CV agreement in tide/evaluate/scorers/cv_metrics.json), "
                              f"scorer sha256 {scorer_fingerprint()[:12]}")
    return info


def _is_metric(column: str) -> bool:
    from tide.evaluate.judge import JUDGE_SCORES
    from tide.evaluate.reference import METRIC_COLUMNS

    from tide.evaluate.mechanisms import SCORE_COLUMNS as MECHANISM_COLUMNS

    return (any(column in columns for columns in METRIC_COLUMNS.values()) or column in FACTOR_SCORE_COLUMNS
            or column in MECHANISM_COLUMNS
            or column in {f"judge_{name}" for name in JUDGE_SCORES} or column == "safety_pass")


def statistics(scored: pd.DataFrame, metrics: list[str], eval_cfg: dict) -> dict:
    from tide.evaluate.safety import pass_rates
    from tide.evaluate.stats import group_means, paired_tests, transfer_ceiling

    frame = scored.assign(safety_pass=scored["safety_pass"].astype(float)) if "safety_pass" in scored else scored
    boot, seed = eval_cfg["bootstrap_samples"], eval_cfg["seed"]
    out = {
        "by_model_condition": group_means(frame, metrics, ("model", "condition"), boot, seed),
        "by_scenario": group_means(frame.assign(scenario=frame["scenario"].fillna("(none)")), metrics,
                                   ("model", "condition", "scenario"), boot, seed),
        "paired_tests": paired_tests(frame, [m for m in metrics if m != "safety_pass"], eval_cfg["alpha"]),
    }
    primary = eval_cfg["primary_metric"]
    if "model_params_b" in frame and primary in metrics:
        out["transfer_ceiling"] = transfer_ceiling(frame, primary)
    if "safety_pass" in scored:
        out["safety"] = pass_rates(scored)
    return out


def _factor_report(frame: pd.DataFrame, eval_cfg: dict) -> dict | None:
    """The factor scorer's accuracy on the evaluated dialogues' references, when they carry factor spans."""
    from tide.evaluate.factors import FactorScorer, factor_accuracy, has_factor_spans
    from tide.evaluate.reference import load_encoder

    if not eval_cfg["factors"]:
        return None
    references = frame.drop_duplicates("dialogue_id")
    if not has_factor_spans(references["extra"]):
        return {"unavailable": "the references carry no factor_spans (only the synthetic data records them)"}
    scorer = FactorScorer(load_encoder(eval_cfg["embedder"]), eval_cfg["factor_threshold"], eval_cfg["batch_size"])
    return factor_accuracy(scorer, references["reference"].tolist(), references["extra"].tolist())


def _judge(scored: pd.DataFrame, config: dict, judge_model) -> tuple[pd.DataFrame, dict]:
    from tide.evaluate.judge import generation_judge_model, judge_columns, judge_replies

    judge_cfg = config["eval"]["judge"]
    if judge_model is None:
        judge_model = generation_judge_model(judge_cfg["model_cfg"], config["generate"], judge_cfg)
    limit = judge_cfg["limit"] if judge_cfg["limit"] is not None else len(scored)
    subset = scored.iloc[:limit]
    result = judge_replies(subset["client"].tolist(), subset["reply"].fillna("").tolist(), judge_model,
                           judge_cfg["max_retries"])
    # float columns: rows beyond the limit, and replies never validly judged, are NaN
    columns = pd.DataFrame(judge_columns(result), index=subset.index, dtype=float)
    return scored.join(columns), {**result["counts"], "limit": judge_cfg["limit"]}


def _ratings_report(ratings: pd.DataFrame, scored: pd.DataFrame, metrics: list[str], eval_cfg: dict) -> dict:
    from tide.evaluate.ratings import analyse_ratings, krippendorff_alpha, metric_correlations

    return {"file": str(eval_cfg["ratings"]), "ratings": int(len(ratings)),
            "raters": int(ratings["rater_id"].nunique()),
            "krippendorff_alpha": krippendorff_alpha(ratings, "empathy", eval_cfg["ratings_scale"]),
            "mixed_effects": analyse_ratings(ratings),
            "metric_correlations": metric_correlations(ratings, scored, [m for m in metrics if m != "safety_pass"])}


# ---------------------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------------------


def json_safe(value):
    """NaN and infinities -> None, numpy scalars -> Python: strict JSON that W&B and browsers read."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    from tide.core.files import write_atomic

    write_atomic(path, lambda temp: frame.to_parquet(temp, index=False))


def sample_table(scored: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n rows (seeded) with their texts and main scores, for the W&B table."""
    columns = [c for c in (*SAMPLE_COLUMNS, "cosine", "bertscore_f1", "rouge_l", "factor_empathy", "mechanism_er",
                           "mechanism_ip", "mechanism_ex", "safety_pass", "judge_overall") if c in scored]
    return scored.sample(n=min(n, len(scored)), random_state=seed)[columns].sort_values(["dialogue_id", "condition"])


def log_evaluation(config: dict, summary: dict, scored: pd.DataFrame, tracker=None) -> None:
    """Into `tracker` (the pipeline's run), or a W&B run of its own (standalone `make evaluate`): the
    model-independent summary keys (tide/track/keys.py) and a table of sample dialogues with their scores."""
    from tide.track import start_run
    from tide.track.keys import evaluation_keys

    run = tracker
    if run is None:
        run = start_run(config["logger"], config, name=config["run"]["name"], job_type="evaluate",
                        tags=[config["model"]["name"]])
    if not run.active:
        return
    samples = sample_table(scored, config["eval"]["sample_table_rows"], config["eval"]["seed"])
    run.table("eval/samples", samples)
    run.log(evaluation_keys(summary))
    run.summary({"eval/summary_json": json.dumps(json_safe(summary))[:100_000]})
    if tracker is None:
        run.finish()
