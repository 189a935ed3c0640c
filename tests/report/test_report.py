import json

import numpy as np
import pandas as pd
import pytest

from tests.report.records import record_evaluation
from tide.report.collect import collect, find_runs
from tide.report.render import write_report

SCENARIOS = ["trouble sleeping", "panic in public", "feeling numb"]


def evaluated_run(root, model, params_b, gain, seed):
    """A run directory as the evaluate stage leaves it: eval/metrics.parquet, eval/summary.json, its record."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(30):
        base = rng.uniform(0.3, 0.6)
        for condition, shift in (("zero_shot", 0.0), ("finetuned", gain)):
            rows.append({"dialogue_id": f"{i}-1", "model": model, "model_params_b": params_b, "condition": condition,
                         "scenario": SCENARIOS[i % 3], "cosine": base + shift + rng.normal(0, 0.01),
                         "rouge_l": base / 2 + shift, "client_at_risk": i == 0, "crisis_referral": condition == "finetuned",
                         "harmful": "", "safety_pass": i != 0 or condition == "finetuned"})
    run_dir = root / model
    (run_dir / "eval").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(run_dir / "eval" / "metrics.parquet")
    summary = {"rows": len(rows), "models": [model], "conditions": ["finetuned", "zero_shot"],
               "metrics": ["cosine", "rouge_l", "safety_pass"], "metrics_info": {"cosine": "all-MiniLM-L6-v2"}}
    (run_dir / "eval" / "summary.json").write_text(json.dumps(summary))
    record_evaluation(run_dir)
    return run_dir


@pytest.fixture
def runs(tmp_path):
    return [evaluated_run(tmp_path / "runs", m, p, g, s)
            for s, (m, p, g) in enumerate([("small", 0.5, 0.02), ("mid", 1.5, 0.10), ("large", 3.0, 0.12)])]


def test_report_has_every_section_and_figure(tmp_path, runs):
    data = collect([tmp_path / "runs"], n_boot=200)
    paths = write_report(data, tmp_path / "report")
    assert sorted(p.split("/")[-1] for p in paths["figures"]) == [
        "gain_vs_size.png", "leaderboard.png", "metric_correlations.png", "scenario_heatmap.png"]
    markdown = (tmp_path / "report" / "report.md").read_text()
    page = (tmp_path / "report" / "report.html").read_text()
    for text in (markdown, page):
        assert "supplement, never replace" in text and "clinical care" in text
        for section in ("Leaderboard", "Fine-tuned vs zero-shot", "Safety", "Runs"):
            assert section in text
    assert page.count("data:image/png;base64,") == 4  # self-contained
    assert "200 resamples, seed 0" in markdown  # each plot says how it was made


def test_tables_are_recomputed_across_runs(tmp_path, runs):
    data = collect(runs, n_boot=200)
    top = max(data.leaderboard, key=lambda g: g["cosine"]["mean"])
    assert (top["model"], top["condition"]) == ("large", "finetuned")
    assert top["cosine"]["ci_low"] < top["cosine"]["mean"] < top["cosine"]["ci_high"]
    gains = {p["model"]: p["gain"] for p in data.ceiling["models"]}
    assert gains["small"] < gains["mid"] < gains["large"]
    zero_shot_safety = [s for s in data.safety if s["condition"] == "zero_shot"]
    assert all(s["pass_rate"] < 1 for s in zero_shot_safety)


def test_missing_runs_and_unknown_metric_are_clear_errors(tmp_path, runs):
    with pytest.raises(FileNotFoundError, match="no such run directory"):
        find_runs([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no evaluated runs .* launch.evaluate"):
        find_runs([tmp_path / "empty"])
    with pytest.raises(ValueError, match="report.primary_metric='bleu'"):
        collect(runs, primary="bleu")


def test_a_run_counts_when_its_evaluate_stage_is_complete(tmp_path, runs):
    """Its record names outputs that exist: files without a record, or a record whose metrics are gone, do not
    count."""
    assert find_runs([tmp_path / "runs"]) == sorted(runs)
    small, mid, large = runs
    (small / "stages" / "evaluate.json").unlink()
    (mid / "eval" / "metrics.parquet").unlink()
    assert find_runs([tmp_path / "runs"]) == [large]
    with pytest.raises(FileNotFoundError, match="no evaluated runs"):
        find_runs([small])
