"""The demo's summary and terminal output from evaluated trials (tide/report/demo.py)."""

import json

from tests.report.test_render import demo_like_runs
from tide.report.demo import build_demo_report, format_demo, trial_seconds


def demo_config(tmp_path) -> dict:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "conversion.json").write_text(json.dumps({"parameters": 134515008}))
    return {"seed": 0, "model": {"name": "m", "path": str(model_dir), "params_b": 0.135, "source": "a PyPI wheel"},
            "report": {"primary_metric": "cosine", "bootstrap_samples": 200},
            "data": {"name": "synthetic-500x20-s0"},
            "train": {"lora": {"r": 16}, "max_steps": 12, "learning_rate": 1e-3},
            "generate": {"sampling": {"do_sample": False, "max_new_tokens": 112}}}


def test_summary_has_the_gain_with_ci_and_p_and_the_eos_rates(tmp_path):
    trials = demo_like_runs(tmp_path / "trials")
    (trials / "finetuned" / "pipeline.json").write_text(json.dumps({"condition": "finetuned", "seconds": 300.0}))
    (trials / "finetuned" / "train_summary.json").write_text(json.dumps({"step_time_s": 20.0, "steps": 12,
                                                                          "torch_threads_per_worker": [1, 1]}))
    summary, paths = build_demo_report(demo_config(tmp_path), trials, tmp_path / "report", samples=2)
    assert summary["rows"] == 48 and summary["model"]["parameters"] == 134515008
    cosine = summary["gain"]["cosine"]
    assert 0 < cosine["ci_low"] < cosine["mean"] < cosine["ci_high"] and cosine["p"] < 1e-3
    assert summary["eos_rate"] == {"zero_shot": 0.0, "finetuned": 1.0}
    assert len(summary["samples"]) == 2
    page = open(paths["html"]).read()
    assert "134.5M parameters" in page and "a PyPI wheel" in page and "real TIDE" in page

    stages = trial_seconds(trials)
    assert stages["trial finetuned"] == {"wall_s": 300.0}
    assert stages["trial finetuned: training steps"]["wall_s"] == 240.0
    text = format_demo({**summary, "seconds": 600.0, "report": paths,
                        "stages": {"data": {"wall_s": 30.0, "cpu_s": 40.0, "load_1min": [1.0, 2.0]}, **stages}},
                       tmp_path / "summary.json")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("metric"))
    assert lines[header + 1].split()[0] == "cosine"  # the primary metric first
    assert "zero_shot 0%, finetuned 100%" in text and "fine-tuned:" in text
