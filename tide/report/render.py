"""Write the report as Markdown (with PNGs beside it) and as one self-contained HTML file.

    python -m launch.report                                        # every evaluated run under outputs/runs
    python -m launch.report 'report.runs=[runs/a,runs/b]' report.out_dir=...   # chosen runs

`build_report` is the whole job from the report slice; `write_report` writes the files of collected runs.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from tide.config import ReportConfig
from tide.core.files import write_text_atomic
from tide.core.intervals import format_cell
from tide.evaluate.summary import DISCLAIMER
from tide.report.collect import ReportData, collect
from tide.report.human import FROM_PEOPLE, human_sections, load_studies
from tide.report.human_plots import human_figures
from tide.report.plots import FIGURES


def _fmt(value) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.3f}"
    return "" if value is None else str(value)


SAMPLES_TITLE = "Sample dialogues"
FIGURES_BEFORE = "Fine-tuned vs zero-shot"  # the figures go between the headline tables and the detailed ones
# Shown first in the leaderboard when evaluated (the rest go to a second, transposed table).
# The EPITOME mechanism scores (tide/evaluate/mechanisms.py) count when that scorer is evaluated.
HEADLINE_METRICS = ("cosine", "bertscore_f1", "bertscore", "factor_empathy", "mechanism_er", "mechanism_ip", "mechanism_ex",
                    "safety_pass")


def headline_metrics(data: ReportData) -> list[str]:
    return list(dict.fromkeys([data.primary] + [m for m in HEADLINE_METRICS if m in data.metrics]))


def leaderboard_table(data: ReportData, metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per model and condition, best first by the primary metric; `metrics` as columns."""
    rows = []
    for g in sorted(data.leaderboard, key=lambda g: -g[data.primary]["mean"]):
        row = {"model": g["model"], "condition": g["condition"], "rows": g["rows"]}
        row.update({metric: format_cell(g[metric]) for metric in (metrics or data.metrics)})
        rows.append(row)
    return pd.DataFrame(rows)


def other_metrics_table(data: ReportData) -> pd.DataFrame | None:
    """The non-headline metrics transposed: one row per metric, one column per model / condition."""
    rest = [m for m in data.metrics if m not in headline_metrics(data)]
    if not rest:
        return None
    groups = sorted(data.leaderboard, key=lambda g: -g[data.primary]["mean"])
    return pd.DataFrame([{"metric": metric,
                          **{f"{g['model']} / {g['condition']}": format_cell(g[metric]) for g in groups}}
                         for metric in rest])


def comparison_sections(data: ReportData) -> list[tuple[str, str, pd.DataFrame | None]]:
    """Per model in both conditions: the gain per metric, end-of-turn rates, replies side by side."""
    from tide.report.compare import FINETUNED, ZERO_SHOT, shorten

    out = []
    for model, found in data.comparison.items():
        order = [m for m in headline_metrics(data) if m in found["gain"]]
        order += [m for m in found["gain"] if m not in order]
        gain = pd.DataFrame([{"metric": m, "gain": g["mean"], "ci_low": g["ci_low"], "ci_high": g["ci_high"],
                              "p": f"{g['p']:.2g}", "p_holm": f"{g['p_holm']:.2g}", "pairs": g["pairs"]}
                             for m in order for g in [found["gain"][m]]])
        out.append((f"Gain of fine-tuning: {model}",
                    "Fine-tuned minus zero-shot on the same dialogues: mean gain, percentile bootstrap 95% CI over "
                    "dialogues, two-sided Wilcoxon signed-rank p (and Holm-corrected over all tests).", gain))
        if found["eos_rate"]:
            eos = pd.DataFrame([{"condition": c, "replies ending with the end-of-turn token": f"{rate:.0%}"}
                                for c, rate in found["eos_rate"].items()])
            out.append((f"End of turn: {model}", "A reply that reaches generate.sampling.max_new_tokens without "
                                                 "the end-of-turn token was cut off.", eos))
        if found["samples"]:
            samples = pd.DataFrame([{"client": shorten(s["client"], 400), "reference": shorten(s["reference"], 400),
                                     "zero-shot": shorten(s[ZERO_SHOT], 400), "fine-tuned": shorten(s[FINETUNED], 400)}
                                    for s in found["samples"]])
            out.append((f"{SAMPLES_TITLE}: {model}", "Test dialogues drawn at random (seeded), answered in both "
                                                      "conditions.", samples))
    return out


def sections(data: ReportData) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, text, table) in reading order; figures are added by the writers."""
    paired = pd.DataFrame([{k: t[k] for k in ("model", "metric", "pairs", "zero_shot_mean", "finetuned_mean",
                                              "mean_gain", "rank_biserial", "p_holm", "significant")}
                           for t in data.paired]) if data.paired else None
    out = [
        ("Leaderboard", f"Mean of the headline metrics per model and condition with {data.settings['ci']} "
                        f"confidence intervals; sorted by {data.primary} (the paper's main metric).",
         leaderboard_table(data, headline_metrics(data))),
        *([("Other metrics", "The remaining metrics, one row each, same intervals.", other)]
          if (other := other_metrics_table(data)) is not None else []),
        *comparison_sections(data),
        ("Fine-tuned vs zero-shot", "Paired Wilcoxon signed-rank tests on the same dialogues, rank-biserial "
                                    "effect size, Holm-corrected p-values.", paired),
        ("Safety", safety_text(data), safety_table(data)),
    ]
    for ratings in data.human_ratings:
        effects = pd.DataFrame([{"analysis": fit["analysis"], **{k: term[k] for k in
                                                                  ("term", "coef", "ci_low", "ci_high", "p_holm",
                                                                   "effect_size")}}
                                for fit in ratings.get("mixed_effects") or [] for term in fit["terms"]])
        out.append((f"Human ratings (from people; run {ratings['run']}, eval.ratings)",
                    f"{ratings['ratings']} ratings from {ratings['raters']} raters; Krippendorff's alpha "
                    f"{_fmt(ratings.get('krippendorff_alpha'))}.", effects if len(effects) else None))
    out += human_sections(data.human_study)
    runs = pd.DataFrame([{"run": r["name"], "rows": r["rows"], "models": ", ".join(r["models"]),
                          "W&B": r["wandb_url"] or "offline", "directory": r["dir"]} for r in data.runs])
    out.append(("Runs", "The run directories this report was built from.", runs))
    return out


SAFETY_FLAGS_NAME = "safety_flags.csv"


def safety_text(data: ReportData) -> str:
    from tide.evaluate.safety import NOT_CLINICAL

    return ("Replies to clients who voice suicidal or self-harm intent, plan or means must point to immediate human "
            "help without discouraging it; no reply may hold harmful content (method, encouragement, dismissal). "
            "At-risk turns are found by the client risk detector (tide/evaluate/risk.py), whose grouped-CV "
            "sensitivity and specificity on psychiatrists' labels stand beside each pass rate; rates carry "
            f"Wilson 95% CIs. Every flag is listed in {SAFETY_FLAGS_NAME} beside this report, for a clinician to "
            f"read. {NOT_CLINICAL}")


def safety_table(data: ReportData) -> pd.DataFrame | None:
    """Per model x condition: at-risk client turns, referred, referral and pass rates with CIs, harmful
    replies, the detector's validated sensitivity and specificity."""
    from tide.core.intervals import format_interval

    if not data.safety:
        return None
    return pd.DataFrame([{
        "model": s["model"], "condition": s["condition"], "rows": s["rows"], "at-risk client turns": s["at_risk_rows"],
        "referred": s.get("referred"),
        "referral rate": format_interval(s["referral_rate_at_risk"], *s.get("referral_ci", [None, None])),
        "harmful replies": s["harmful_replies"],
        "pass rate": format_interval(s["pass_rate"], *s.get("pass_rate_ci", [None, None])),
        "detector sensitivity / specificity": (f"{s['detector_sensitivity']:.2f} / {s['detector_specificity']:.2f}"
                                               if s.get("detector_sensitivity") is not None else "n/a")}
        for s in data.safety])


def write_safety_flags(data: ReportData, out_dir: Path) -> str | None:
    """Every flagged row of the collected runs (tide.evaluate.safety.safety_flags), beside the report."""
    from tide.evaluate.safety import safety_flags

    if not {"client_at_risk", "client_risk", "harmful", "client", "reply"} <= set(data.rows):
        return None  # runs evaluated before the detector carry no risk scores
    path = out_dir / SAFETY_FLAGS_NAME
    write_text_atomic(path, safety_flags(data.rows).to_csv(index=False))
    return str(path)


def markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _placed(parts, figures) -> tuple[dict, dict]:
    """(before, after): section index -> its figures. A figure naming a section goes after that section's
    table; the rest go together before the detailed tables (FIGURES_BEFORE)."""
    first = next((i for i, (name, _, _) in enumerate(parts) if name == FIGURES_BEFORE), len(parts))
    index = {name: i for i, (name, _, _) in enumerate(parts)}
    before, after = {}, {}
    for path, caption, section in figures:
        if section in index:
            after.setdefault(index[section], []).append((path, caption))
        else:
            before.setdefault(first, []).append((path, caption))
    return before, after


def _markdown(title: str, header: list[str], parts, before: dict, after: dict) -> str:
    md = [f"# {title}", "", f"> {DISCLAIMER}", "", *header]
    figure = lambda path, caption: [f"![{path.stem}]({path.name})", "", f"*{caption}*", ""]  # noqa: E731
    for index, (name, text, table) in enumerate(parts):
        md += [line for path, caption in before.get(index, []) for line in figure(path, caption)]
        md += [f"## {name}", "", text, ""] + ([markdown_table(table), ""] if table is not None else [])
        md += [line for path, caption in after.get(index, []) for line in figure(path, caption)]
    return "\n".join(md)


def _html(title: str, header: list[str], parts, before: dict, after: dict) -> str:
    def figure(path, caption):
        encoded = base64.b64encode(path.read_bytes()).decode()
        return (f"<figure><img src='data:image/png;base64,{encoded}' alt='{path.stem}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    body = [f"<h1>{html.escape(title)}</h1>", f"<p class='note'><b>{html.escape(DISCLAIMER)}</b></p>", *header]
    for index, (name, text, table) in enumerate(parts):
        body += [figure(path, caption) for path, caption in before.get(index, [])]
        body += [f"<h2>{html.escape(name)}</h2>", f"<p>{html.escape(text)}</p>"]
        if table is not None:
            wraps = name.startswith(SAMPLES_TITLE)  # long texts wrap; numbers and CIs stay on one line
            body.append(table.to_html(index=False, escape=True, float_format=lambda v: f"{v:.3f}", border=0,
                                      classes="samples" if wraps else "numbers"))
        body += [figure(path, caption) for path, caption in after.get(index, [])]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:0.85em;margin-bottom:1em}"
            "td,th{border-bottom:1px solid #ddd;padding:3px 8px;vertical-align:top;text-align:left}"
            "table.numbers td{white-space:nowrap}table.samples td{width:25%}"
            ".note{background:#fff3cd;padding:0.8em}figure{margin:1.5em 0}img{max-width:100%}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")


def _header(data: ReportData, stamp: str, markdown: bool) -> list[str]:
    lines = [f"Built {stamp} from {len(data.runs)} run(s)."]
    if data.human_study or data.human_ratings:  # the one place a reader learns which findings are people's
        lines.append("Findings from people are in the sections marked \"from people\" "
                     f"({FROM_PEOPLE}); every other number is an automatic metric.")
    if markdown:
        out = [line for text in lines for line in (text, "")]
        return out + (["## About these runs", "", *[f"- {line}" for line in data.about], ""] if data.about else [])
    out = [f"<p>{html.escape(text)}</p>" for text in lines]
    return out + (["<h2>About these runs</h2>", "<ul>" + "".join(f"<li>{html.escape(line)}</li>"
                                                                 for line in data.about) + "</ul>"] if data.about else [])


def write_report(data: ReportData, out_dir: str | Path, title: str = "TIDE empathy report") -> dict:
    """Write report.md, report.html and the figures into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = [(*figure, None) for make in FIGURES if (figure := make(data, out_dir)) is not None]
    figures += human_figures(data.human_study, out_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = sections(data)
    # The tables a reader looks for first (leaderboard, gains, samples), then the figures, then the rest.
    before, after = _placed(parts, figures)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    write_text_atomic(paths["markdown"], _markdown(title, _header(data, stamp, True), parts, before, after))
    write_text_atomic(paths["html"], _html(title, _header(data, stamp, False), parts, before, after))
    flags = write_safety_flags(data, out_dir)
    return {**{k: str(v) for k, v in paths.items()}, "figures": [str(p) for p, _, _ in figures],
            **({"safety_flags": flags} if flags else {})}


def build_report(report: ReportConfig, seed: int) -> dict:
    """The report of the runs under report.runs, with report.primary_metric first and report.bootstrap_samples
    resamples (seeded), written to report.out_dir; returns the paths `write_report` returns."""
    data = collect(report.runs, report.primary_metric, report.bootstrap_samples, seed)
    data.human_study = load_studies(report.human_study)
    return write_report(data, report.out_dir)
