"""The demo's summary and terminal output from evaluated trials (tide/report/demo.py)."""

import json

from tests.configs import config_for
from tests.report.records import record_stage
from tests.report.test_render import demo_like_runs
from tide.report.demo import DemoSetup, build_demo_report, format_demo, trial_seconds


def demo_setup(tmp_path) -> DemoSetup:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "conversion.json").write_text(json.dumps({"parameters": 134515008}))
    config = config_for(**{"seed": 0, "model.name": "m", "model.path": str(model_dir), "model.params_b": 0.135,
                           "model.source": "a PyPI wheel", "report.primary_metric": "cosine",
                           "report.bootstrap_samples": 200, "data.name": "synthetic-500x20-s0",
                           "train.lora.r": 16, "train.max_steps": 12, "train.learning_rate": 1e-3,
                           "generate.sampling.do_sample": False, "generate.sampling.max_new_tokens": 112})
    return DemoSetup(config.model, config.data, config.train, config.generate.sampling, config.report, config.seed)


def test_summary_has_the_gain_with_ci_and_p_and_the_eos_rates(tmp_path):
    trials = demo_like_runs(tmp_path / "trials")
    (trials / "finetuned" / "pipeline.json").write_text(json.dumps({"condition": "finetuned", "seconds": 300.0}))
    (trials / "finetuned" / "train_summary.json").write_text(json.dumps({"step_time_s": 20.0, "steps": 12,
                                                                          "torch_threads_per_worker": [1, 1]}))
    record_stage(trials / "finetuned", "train", {"summary": trials / "finetuned" / "train_summary.json"})
    summary, paths = build_demo_report(demo_setup(tmp_path), trials, tmp_path / "report", samples=2)
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
    (trials / "finetuned" / "stages" / "train.json").unlink()  # the summary is read through the train stage's record
    assert "trial finetuned: training steps" not in trial_seconds(trials)
    text = format_demo({**summary, "seconds": 600.0, "report": paths,
                        "stages": {"data": {"wall_s": 30.0, "cpu_s": 40.0, "load_1min": [1.0, 2.0]}, **stages}},
                       tmp_path / "summary.json")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("metric"))
    assert lines[header + 1].split()[0] == "cosine"  # the primary metric first
    assert "zero_shot 0%, finetuned 100%" in text and "fine-tuned:" in text
