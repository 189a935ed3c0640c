"""The report's Human evaluation: sections and figures from `launch.study analyse` JSONs, marked as from people."""

import json
from pathlib import Path

import pytest

from tests.report.test_render import demo_like_runs
from tests.study.synthetic_study import write_study
from tide.report.collect import collect
from tide.report.human import FROM_PEOPLE, load_studies
from tide.report.render import write_report
from tide.study.analysis import analyse
from tide.study.responses import read_responses
from tide.study.spec import load_spec
from tide.study.summary import plain_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    root = tmp_path_factory.mktemp("human")
    real = analyse(read_responses([ROOT / "tests/fixtures/study/perceived_empathy_excerpt.csv"],
                                  load_spec(ROOT / "conf/study/specs/perceived_empathy.yaml")))
    paths = write_study(root / "synthetic", n_raters=12, items_per_rater=8)
    synthetic = analyse(read_responses([paths["responses"]], load_spec(paths["spec"])))
    files = [root / "perceived_empathy.json", root / "synthetic_study.json"]
    for path, result in zip(files, (real, synthetic)):
        path.write_text(json.dumps(plain_json(result)))
    return files


def test_the_human_evaluation_sections_and_figures(tmp_path, studies):
    data = collect([demo_like_runs(tmp_path / "runs")], n_boot=50)
    data.human_study = load_studies(studies)
    paths = write_report(data, tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text()
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "Findings from people are in the sections marked" in markdown
    for title in (f"{FROM_PEOPLE}: perceived_empathy", f"{FROM_PEOPLE}, moderation: perceived_empathy",
                  f"{FROM_PEOPLE}, ordinal robustness check: perceived_empathy",
                  f"{FROM_PEOPLE}: synthetic_study", f"{FROM_PEOPLE}, per-scenario gains: synthetic_study",
                  f"{FROM_PEOPLE}, agreement: synthetic_study"):
        assert f"## {title}" in markdown and f"<h2>{title}</h2>" in page
    assert "From people: 72 participants' 72 ratings" in markdown
    assert "label[human label] \\| source=human response" in markdown  # markdown escapes the bar in a cell
    assert "condition[finetuned] | model=tiny" in page
    names = sorted(Path(p).name for p in paths["figures"] if Path(p).name.startswith("human_"))
    assert names == sorted(["human_perceived_empathy_forest.png", "human_synthetic_study_forest.png",
                            "human_synthetic_study_scenarios.png", "human_synthetic_study_agreement.png",
                            *[f"human_perceived_empathy_moderation_{d}.png" for d in
                              ("age", "age_group", "gender", "education")],
                            *[f"human_synthetic_study_moderation_{d}.png" for d in
                              ("age_group", "gender", "education")]])
    # Each figure sits under its own section, after the section's table, not with the metric figures.
    section = markdown.index(f"## {FROM_PEOPLE}: perceived_empathy")
    assert section < markdown.index("![human_perceived_empathy_forest]") < markdown.index(
        f"## {FROM_PEOPLE}, moderation: perceived_empathy")
    assert markdown.index("![leaderboard]") < markdown.index("## Fine-tuned vs zero-shot")


def test_a_missing_analysis_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="report.human_study: no such analysis file: .*none.json"):
        load_studies([tmp_path / "none.json"])


def test_report_human_study_names_the_analyses_the_report_reads(tmp_path, studies):
    from tests.configs import config_for
    from tide.report.render import build_report

    config = config_for(**{"report.runs": [str(demo_like_runs(tmp_path / "runs"))], "report.out_dir": str(tmp_path / "out"),
                           "report.human_study": [str(studies[0])], "report.bootstrap_samples": 20})
    paths = build_report(config.report, seed=0)
    markdown = Path(paths["markdown"]).read_text()
    assert f"## {FROM_PEOPLE}: perceived_empathy" in markdown and "synthetic_study" not in markdown
