"""Write the report as Markdown (with PNGs beside it) and as one self-contained HTML file.

    python -m launch.report outputs/runs            # every evaluated run below
    python -m launch.report runs/a runs/b out=...   # chosen runs
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from tide.data.artifact import write_text_atomic
from tide.evaluate.pipeline import DISCLAIMER
from tide.report.collect import ReportData
from tide.report.plots import FIGURES


def _fmt(value) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.3f}"
    return "" if value is None else str(value)


def leaderboard_table(data: ReportData) -> pd.DataFrame:
    rows = []
    for g in sorted(data.leaderboard, key=lambda g: -g[data.primary]["mean"]):
        row = {"model": g["model"], "condition": g["condition"], "rows": g["rows"]}
        for metric in data.metrics:
            row[metric] = f"{g[metric]['mean']:.3f} [{g[metric]['ci_low']:.3f}, {g[metric]['ci_high']:.3f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def sections(data: ReportData) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, text, table) in reading order; figures are added by the writers."""
    paired = pd.DataFrame([{k: t[k] for k in ("model", "metric", "pairs", "zero_shot_mean", "finetuned_mean",
                                              "mean_gain", "rank_biserial", "p_holm", "significant")}
                           for t in data.paired]) if data.paired else None
    out = [
        ("Leaderboard", f"Mean of each metric per model and condition with {data.settings['ci']} confidence "
                        f"intervals; sorted by {data.primary} (the paper's main metric).", leaderboard_table(data)),
        ("Fine-tuned vs zero-shot", "Paired Wilcoxon signed-rank tests on the same dialogues, rank-biserial "
                                    "effect size, Holm-corrected p-values.", paired),
        ("Safety", "Clients voicing self-harm must be pointed to immediate human help; harmful replies are "
                   "flagged by documented patterns (tide/evaluate/safety.py).",
         pd.DataFrame(data.safety) if data.safety else None),
    ]
    for ratings in data.human_ratings:
        effects = pd.DataFrame([{"analysis": fit["analysis"], **{k: term[k] for k in
                                                                  ("term", "coef", "ci_low", "ci_high", "p_holm",
                                                                   "effect_size")}}
                                for fit in ratings.get("mixed_effects") or [] for term in fit["terms"]])
        out.append((f"Human ratings ({ratings['run']})",
                    f"{ratings['ratings']} ratings from {ratings['raters']} raters; Krippendorff's alpha "
                    f"{_fmt(ratings.get('krippendorff_alpha'))}.", effects if len(effects) else None))
    runs = pd.DataFrame([{"run": r["name"], "rows": r["rows"], "models": ", ".join(r["models"]),
                          "W&B": r["wandb_url"] or "offline", "directory": r["dir"]} for r in data.runs])
    out.append(("Runs", "The run directories this report was built from.", runs))
    return out


def markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "---|" * len(table.columns)
    body = ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_report(data: ReportData, out_dir: str | Path, title: str = "TIDE empathy report") -> dict:
    """Write report.md, report.html and the figures into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = [figure for make in FIGURES if (figure := make(data, out_dir)) is not None]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = sections(data)

    md = [f"# {title}", "", f"> {DISCLAIMER}", "", f"Built {stamp} from {len(data.runs)} run(s).", ""]
    for path, caption in figures:
        md += [f"![{path.stem}]({path.name})", "", f"*{caption}*", ""]
    for name, text, table in parts:
        md += [f"## {name}", "", text, ""] + ([markdown_table(table), ""] if table is not None else [])

    body = [f"<h1>{html.escape(title)}</h1>", f"<p class='note'><b>{html.escape(DISCLAIMER)}</b></p>",
            f"<p>Built {stamp} from {len(data.runs)} run(s).</p>"]
    for path, caption in figures:
        encoded = base64.b64encode(path.read_bytes()).decode()
        body.append(f"<figure><img src='data:image/png;base64,{encoded}' alt='{path.stem}'>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    for name, text, table in parts:
        body += [f"<h2>{html.escape(name)}</h2>", f"<p>{html.escape(text)}</p>"]
        if table is not None:
            body.append(table.to_html(index=False, escape=True, float_format=lambda v: f"{v:.3f}", border=0))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:0.85em}td,th{border-bottom:1px solid #ddd;padding:3px 8px}"
            ".note{background:#fff3cd;padding:0.8em}figure{margin:1.5em 0}img{max-width:100%}"
            "</style></head><body>" + "\n".join(body) + "</body></html>")

    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    write_text_atomic(paths["markdown"], "\n".join(md))
    write_text_atomic(paths["html"], page)
    return {**{k: str(v) for k, v in paths.items()}, "figures": [str(p) for p, _ in figures]}
