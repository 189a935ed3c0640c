"""The evaluation stage end to end on fake generations built from the synthetic references."""

import json
from pathlib import Path

import pandas as pd
import pytest

from launch.evaluate import format_summary
from tests.evaluate.conftest import fake_generations, write_generations
from tide.config import ConfigError, with_options
from tide.evaluate.inputs import EvaluationInputError
from tide.evaluate.pipeline import evaluate
from tide.evaluate.ratings import RatingsFormatError, synthetic_ratings
from tide.evaluate.scoring import score_rows
from tide.evaluate.tracking import log_evaluation


class RecordingTracker:
    """Stands in for the stage's tide.track.TrackedRun: keeps what is logged into it."""

    def __init__(self, active: bool = True):
        self.active, self.tables, self.logged, self.summaries = active, {}, [], {}

    def table(self, key, frame):
        self.tables[key] = frame

    def log(self, metrics, step=None):
        self.logged.append(metrics)

    def summary(self, values):
        self.summaries.update(values)


def run(config, eval, tracker=None, judge_model=None) -> dict:
    """The evaluation of `eval` on the fixture's data artifact, as the evaluate stage calls it."""
    return evaluate(eval, config.data.artifact_dir, config.generate, tracker or RecordingTracker(active=False),
                    judge_model=judge_model)


@pytest.fixture(scope="module")
def evaluated(eval_inputs, tmp_path_factory):
    config, references = eval_inputs
    generations = fake_generations(references)
    # One failed generation: kept in the rows, left out of the statistics.
    generations.loc[0, ["reply", "finish_reason", "error"]] = [None, "error", "RuntimeError: out of memory"]
    failed_dir = tmp_path_factory.mktemp("run-with-failure")
    write_generations(failed_dir, generations)
    ratings = synthetic_ratings(generations.rename(columns={"dialogue_id": "item_id"}), n_raters=12,
                                items_per_rater=10, seed=0)
    ratings_csv = tmp_path_factory.mktemp("ratings") / "ratings.csv"
    ratings.to_csv(ratings_csv, index=False)
    eval = with_options(config.eval, {"ratings": str(ratings_csv), "judge.limit": 10,
                                      "generations_dir": str(failed_dir / "generations")})
    tracker = RecordingTracker()
    return eval, run(config, eval, tracker, judge_model=alternating_judge), tracker


def alternating_judge(prompts, attempt):
    """A fake judge: valid answers for every other prompt on the first attempt, for all on a retry."""
    valid = "emotion_recognition: 4\ndistress_normalization: 3\nsupportive_reflection: 4\noverall: 4"
    return [valid if attempt or i % 2 else "I am not sure." for i in range(len(prompts))]


def test_writes_per_row_metrics_and_summary(evaluated):
    eval, summary, _ = evaluated
    eval_dir = Path(eval.output_dir)
    rows = pd.read_parquet(eval_dir / "metrics.parquet")
    assert len(rows) == summary["rows"] == 80 and summary["failed_generations"] == 1
    rows = rows[rows["error"].isna()]
    for column in ("cosine", "bertscore_f1", "rouge_l", "bleu", "chrf", "meteor", "distinct_1", "length_ratio",
                   "factor_emotion_recognition", "factor_empathy", "mechanism_er", "mechanism_ip_level", "mechanism_ex",
                   "client_at_risk", "safety_pass", "reference"):
        assert rows[column].notna().all(), column
    assert {"mechanism_er", "mechanism_ex_level", "factor_empathy"} <= set(summary["metrics"])  # leaderboard, tests
    assert "EPITOME" in summary["metrics_info"]["mechanisms"]
    assert json.loads((eval_dir / "summary.json").read_text())["rows"] == 80
    assert not [p for p in eval_dir.iterdir() if p.name.startswith(".")]  # no temp files left
    assert "all-MiniLM-L6-v2" in summary["metrics_info"]["bertscore_encoder"]
    assert rows["judge_overall"].notna().sum() == 10 and rows["judge_attempts"].max() == 2
    assert summary["judge"] == {"replies": 10, "scored": 10, "invalid_after_retries": 0, "invalid_answers": 5,
                                "retries": 5, "limit": 10}
    assert "supplement, never replace" in summary["disclaimer"]


def test_finetuned_beats_zero_shot_and_the_ceiling_shows(evaluated):
    _, summary, _ = evaluated
    tests = {(t["model"], t["metric"]): t for t in summary["paired_tests"]}
    assert tests[("small", "cosine")]["pairs"] == 19 and tests[("large", "cosine")]["pairs"] == 20
    for model in ("small", "large"):
        for metric in ("cosine", "bertscore_f1", "rouge_l", "meteor"):
            test = tests[(model, metric)]
            assert test["mean_gain"] > 0 and test["significant"] and test["rank_biserial"] > 0.5, test
    ceiling = summary["transfer_ceiling"]
    assert [p["model"] for p in ceiling["models"]] == ["small", "large"]
    assert ceiling["models"][0]["gain"] > ceiling["models"][1]["gain"]  # planted: the larger zero-shot is better
    groups = {(g["model"], g["condition"]): g for g in summary["by_model_condition"]}
    cosine = groups[("small", "finetuned")]["cosine"]
    assert cosine["ci_low"] <= cosine["mean"] <= cosine["ci_high"]
    assert {g["scenario"] for g in summary["by_scenario"]} > {"(none)"} or len(summary["by_scenario"]) > 4


def test_safety_factor_and_ratings_reports(evaluated):
    _, summary, _ = evaluated
    safety = {(r["model"], r["condition"]): r for r in summary["safety"]}
    at_risk = safety[("small", "finetuned")]["at_risk_rows"]
    assert at_risk > 0 and all(r["at_risk_rows"] == at_risk for r in safety.values())
    # Zero-shot replies are other dialogues' references: they miss the crisis referral the client needed.
    assert safety[("small", "zero_shot")]["referral_rate_at_risk"] < 1.0
    assert safety[("small", "zero_shot")]["pass_rate"] < 1.0
    factors = summary["factor_scorer"]
    assert factors["replies"] == 20 and all(factors[f]["auc"] > 0.6 for f in
                                            ("emotion_recognition", "distress_normalization", "supportive_reflection"))
    ratings = summary["human_ratings"]
    condition = ratings["mixed_effects"][0]["terms"][0]
    assert condition["term"] == "condition=finetuned" and condition["coef"] > 0 and condition["p_holm"] < 0.05
    assert ratings["metric_correlations"]["cosine"]["rho"] > 0
    assert -1 <= ratings["krippendorff_alpha"] <= 1


def test_prints_the_comparison(evaluated):
    _, summary, _ = evaluated
    text = format_summary(summary)
    assert "TIDE evaluation: 80 replies" in text and "fine-tuned vs zero-shot" in text
    assert "safety:" in text and "factor scorer vs the references' recorded spans" in text
    assert "self-consistency check, not a validation" in text
    assert "Krippendorff" in text and "supplement, never replace, clinical care" in text


def test_logs_into_the_stages_tracker(evaluated):
    eval, summary, tracker = evaluated
    samples = tracker.tables["eval/samples"]
    assert len(samples) == eval.sample_table_rows == 50
    assert {"reply", "reference", "cosine", "mechanism_er", "judge_overall"} <= set(samples.columns)
    assert len(tracker.logged) == 1 and tracker.logged[0]["eval/rows"] == 80
    assert tracker.logged[0]["eval/finetuned/cosine"] > tracker.logged[0]["eval/zero_shot/cosine"]
    # the summary's JSON, cut to W&B's size for a summary value
    assert tracker.summaries["eval/summary_json"] == json.dumps(summary)[:100_000]
    # An evaluation that is already complete logs the same from its files (the stage's log_complete).
    eval_dir = Path(eval.output_dir)
    again = RecordingTracker()
    log_evaluation(eval, json.loads((eval_dir / "summary.json").read_text()),
                   pd.read_parquet(eval_dir / "metrics.parquet"), again)
    fresh = {key: value for key, value in tracker.logged[0].items() if value == value}  # NaN is null in JSON
    assert again.logged == [fresh]
    pd.testing.assert_frame_equal(again.tables["eval/samples"], samples)
    quiet = RecordingTracker(active=False)  # logger=none, or not the process that logs
    log_evaluation(eval, summary, samples, quiet)
    assert not quiet.tables and not quiet.logged and not quiet.summaries


def test_generations_without_references_name_the_file(eval_inputs, tmp_path):
    config, references = eval_inputs
    generations = fake_generations(references)
    generations.loc[generations.index[:3], "dialogue_id"] = ["999-1", "999-2", "999-3"]
    write_generations(tmp_path, generations)
    eval = with_options(config.eval, {"generations_dir": str(tmp_path / "generations"),
                                      "output_dir": str(tmp_path / "eval")})
    with pytest.raises(EvaluationInputError, match=r"3 generation row\(s\) have no reference in .* split 'test': "
                                                   r"finetuned/part-00000\.parquet \(e\.g\. \['999-2'\]\)"):
        run(config, eval)
    assert not (tmp_path / "eval").exists()  # nothing half-written


def test_bad_inputs_fail_before_any_work(eval_inputs, tmp_path):
    config, references = eval_inputs
    with pytest.raises(EvaluationInputError, match="no generation files"):
        run(config, with_options(config.eval, {"generations_dir": str(tmp_path / "none")}))
    broken = tmp_path / "broken" / "zero_shot"
    broken.mkdir(parents=True)
    fake_generations(references).drop(columns=["reply"]).to_parquet(broken / "part-0.parquet")
    with pytest.raises(EvaluationInputError, match=r"part-0\.parquet: missing column\(s\) \['reply'\]"):
        run(config, with_options(config.eval, {"generations_dir": str(tmp_path / "broken")}))
    # An unknown metric is refused when the config is built, before any evaluation can start.
    with pytest.raises(ConfigError, match=r"eval\.metrics: expected one of .*got 'bleurt'"):
        with_options(config.eval, {"metrics": ["cosine", "bleurt"]}, path="eval")
    bad_ratings = tmp_path / "ratings.csv"
    bad_ratings.write_text("rater_id,item_id,model,condition,empathy\nr1,d1,small,zero_shot,9\n")
    with pytest.raises(RatingsFormatError, match=r"(?s)ratings\.csv: 1 problem.*line 2, column 'empathy': '9'"):
        run(config, with_options(config.eval, {"ratings": str(bad_ratings)}))


@pytest.mark.slow
def test_ray_data_shards_give_the_same_scores(eval_inputs, ray_local):
    config, references = eval_inputs
    frame = fake_generations(references).head(24).merge(
        references[["dialogue_id", "reference", "client", "extra"]], on="dialogue_id")
    eval = with_options(config.eval, {"metrics": ["cosine", "rouge_l", "bleu"], "concurrency": 2})
    local = score_rows(frame, eval)
    sharded = score_rows(frame, with_options(eval, {"shard_rows": 8}))
    # Values must agree; string dtypes differ after the trip through Arrow blocks (object vs str).
    pd.testing.assert_frame_equal(local, sharded, check_exact=False, atol=1e-5, check_dtype=False)


@pytest.mark.slow
def test_command_line(eval_inputs, tmp_path):
    import os
    import subprocess
    import sys

    from tide.core.runtime import PROJECT_ROOT

    import shutil

    config, _ = eval_inputs
    outputs = Path(config.paths.outputs)
    # Replies generated elsewhere (not by this run's generate stage): an input path, so the command runs
    # the data and evaluate stages only.
    imported = tmp_path / "imported" / "generations"
    shutil.copytree(Path(config.run.dir) / "generations", imported)
    env = {**os.environ, "TIDE_OUTPUTS": str(outputs)}
    done = subprocess.run([sys.executable, "-m", "launch.evaluate", "logger=none", "eval.metrics=[cosine,rouge_l]",
                           "data.synthetic.n_personas=40", "data.synthetic.conversations_per_persona=5",
                           "data.synthetic.self_harm_rate=0.1", f"eval.output_dir={tmp_path / 'eval'}",
                           f"eval.generations_dir={imported}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TIDE evaluation: 80 replies" in done.stdout and (tmp_path / "eval" / "summary.json").is_file()
    assert not (PROJECT_ROOT / "eval").exists()
    from tide.stages import read_record

    record = read_record(config.run.dir, "evaluate")
    assert record["inputs"]["generations"] == str(imported) and list(record["after"]) == ["data"]


def test_one_shared_encoder_pass_gives_the_scores_of_separate_passes(eval_inputs):
    from tide.evaluate.mechanisms import SCORE_COLUMNS
    from tide.evaluate.scoring import RowScorer

    config, references = eval_inputs
    eval = with_options(config.eval, {"factors": True, "mechanisms": True, "safety": True})
    # 6 dialogues, each answered zero-shot (another dialogue's reference) and fine-tuned (one sentence dropped)
    rows = fake_generations(references).head(12).merge(references[["dialogue_id", "reference", "client"]],
                                                       on="dialogue_id")
    shared, separate = RowScorer(eval)(rows), RowScorer(eval, share_embeddings=False)(rows)
    compared = ["cosine", "bertscore_f1", "rouge_l", "meteor", "factor_empathy", *SCORE_COLUMNS]
    assert set(compared) <= set(shared.columns)
    pd.testing.assert_frame_equal(shared[compared], separate[compared], atol=1e-4)


def test_rows_do_not_depend_on_how_replies_fell_into_shards(eval_inputs, tmp_path):
    """Shards hold whichever rows an actor finished together; the evaluation (and its bootstrap) must not care."""
    from tide.evaluate.inputs import load_generations

    _, references = eval_inputs
    generations = fake_generations(references)
    write_generations(tmp_path / "a", generations)
    write_generations(tmp_path / "b", generations.sample(frac=1.0, random_state=7))  # other shard contents
    first, second = load_generations(tmp_path / "a" / "generations"), load_generations(tmp_path / "b" / "generations")
    columns = [c for c in first.columns if c != "source_file"]
    assert first[columns].equals(second[columns])
    assert first[["model", "condition", "dialogue_id"]].equals(
        first[["model", "condition", "dialogue_id"]].sort_values(["model", "condition", "dialogue_id"]))
