"""The report as a person reads it: figures sized to their content, headline metrics first, the demo sections."""

import json
import re

import numpy as np
import pandas as pd
from matplotlib.image import imread

from tests.report.records import record_evaluation
from tide.report.collect import collect
from tide.report.render import write_report

SCENARIOS = [f"scenario number {i}" for i in range(12)]
METRICS = ["cosine", "bertscore", "rouge_l", "bleu", "chrf", "meteor", "distinct_1", "length_ratio"]


def demo_like_runs(root):
    """Two runs (one per condition) of one model: 12 scenarios, 8 metrics, replies and finish reasons."""
    rng = np.random.default_rng(0)
    for condition, shift in (("zero_shot", 0.0), ("finetuned", 0.1)):
        rows = [{"dialogue_id": f"d{i}", "model": "m", "model_params_b": 0.135, "condition": condition,
                 "scenario": SCENARIOS[i % 12], "client": f"client {i}", "reference": f"reference {i}",
                 "reply": f"{condition} {i}", "finish_reason": "eos" if condition == "finetuned" else "length",
                 **{m: rng.uniform(0.2, 0.4) + (shift if m == "cosine" else 0.0) for m in METRICS}}
                for i in range(48)]
        eval_dir = root / condition / "eval"
        eval_dir.mkdir(parents=True)
        pd.DataFrame(rows).to_parquet(eval_dir / "metrics.parquet")
        (eval_dir / "summary.json").write_text(json.dumps({"rows": 48, "models": ["m"], "conditions": [condition],
                                                           "metrics": METRICS}))
        record_evaluation(root / condition)
    return root


def test_figures_fit_their_content_and_headline_metrics_come_first(tmp_path):
    data = collect([demo_like_runs(tmp_path / "runs")], n_boot=100)
    data.about = ["Model: m (1M parameters), from nowhere."]
    paths = write_report(data, tmp_path / "report")
    heatmap = imread(next(p for p in paths["figures"] if p.endswith("scenario_heatmap.png")))
    assert heatmap.shape[0] >= 12 * 35  # at least ~35 px per scenario row at the report's dpi
    assert not any(p.endswith("gain_vs_size.png") for p in paths["figures"])  # one model size: no trend to draw
    page = (tmp_path / "report" / "report.html").read_text()
    leaderboard = page[page.index("<h2>Leaderboard</h2>"):page.index("<h2>Other metrics</h2>")]
    assert "cosine" in leaderboard and "bertscore" in leaderboard and "meteor" not in leaderboard
    for section in ("About these runs", "Other metrics", "Gain of fine-tuning: m", "End of turn: m",
                    "Sample dialogues: m"):
        assert section in page
    assert page.index("Sample dialogues: m") < page.index("<figure>")  # tables first, figures after
    # Each sample row is one dialogue: its client turn, reference and both replies.
    assert len(re.findall(r"<td>client (\d+)</td>\s*<td>reference \1</td>\s*<td>zero_shot \1</td>\s*"
                          r"<td>finetuned \1</td>", page)) == 3
    assert "100%" in page and "0%" in page  # end-of-turn rates of the two conditions
