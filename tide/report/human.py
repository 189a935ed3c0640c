"""The report's Human evaluation: what people's ratings show, kept apart from what the metrics show.

Reads the JSON `python -m launch.study analyse ... --json FILE` writes (report.human_study lists such
files) and gives the sections (effects, moderation, per-scenario gains, the ordinal robustness check,
agreement) and their figures: a forest plot of the effects, an interaction plot per demographic, the
per-scenario gains and the agreement of raters, judges and metrics. Every title says the findings are
from people (`FROM_PEOPLE`); agreement rows say which rater or metric is compared with them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from tide.core.intervals import format_interval

FROM_PEOPLE = "Human evaluation (from people)"


def load_studies(paths) -> list[dict]:
    """Each analysis JSON with its name (the file's stem); a missing file stops in one line."""
    studies = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"report.human_study: no such analysis file: {path} (write one with "
                                    "python -m launch.study analyse RATINGS --spec SPEC.yaml --json FILE)")
        studies.append({**json.loads(path.read_text(encoding="utf-8")), "name": path.stem, "file": str(path)})
    return studies


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)


def _interval(term: dict) -> str:
    return format_interval(term["estimate"], term["ci_low"], term["ci_high"], signed=True)


def _terms_table(study: dict, families: tuple[str, ...], extra: tuple[str, ...] = ()) -> pd.DataFrame | None:
    rows = [{"outcome": outcome, **({"family": family.replace("_", " ")} if len(families) > 1 else {}),
             **{key: t.get(key, "") for key in extra}, "term": t["term"], "estimate [95% CI]": _interval(t),
             "p": f"{t['p']:.2g}", "p (Holm)": f"{t['p_holm']:.2g}"}
            for outcome, found in study["outcomes"].items() for family in families for t in found.get(family) or []]
    return pd.DataFrame(rows) if rows else None


def _ordinal_table(study: dict) -> pd.DataFrame | None:
    rows = []
    for outcome, found in study["outcomes"].items():
        linear = {t["term"]: t for t in found.get("effects") or []}
        for t in (found.get("ordinal") or {}).get("effects") or []:
            same = linear.get(t["term"])
            agrees = "" if same is None else ("yes" if (same["estimate"] > 0) == (t["estimate"] > 0)
                                              and (same["p_holm"] < 0.05) == (t["p_holm"] < 0.05) else "no")
            rows.append({"outcome": outcome, "term": t["term"], "log-odds [95% CI]": _interval(t),
                         "p (Holm)": f"{t['p_holm']:.2g}", "agrees with the linear model": agrees})
    return pd.DataFrame(rows) if rows else None


def agreement_rows(study: dict) -> list[dict]:
    """One row per agreement figure: raters' alpha, each judge and each metric against the people."""
    rows = []
    for outcome, found in study["outcomes"].items():
        alpha = found.get("alpha") or {}
        if alpha.get("alpha") is not None:
            rows.append({"outcome": outcome, "compared": "raters with each other", "measure": "Krippendorff's alpha",
                         "value": alpha["alpha"], "ci": alpha["ci"], "n": alpha["units"]})
        judged = found.get("judges") or {}
        for person, a in judged.get("humans", {}).items():
            rows.append({"outcome": outcome, "compared": f"human {person} vs the other humans",
                         "measure": "Spearman", "value": a["rho"], "ci": a["ci"], "n": a["n"]})
        for judge, a in judged.get("judges", {}).items():
            rows.append({"outcome": outcome, "compared": f"{judge} vs the humans", "measure": "Spearman",
                         "value": a["rho"], "ci": a["ci"], "n": a["n"]})
        for metric, a in (found.get("metrics") or {}).items():
            rows.append({"outcome": outcome, "compared": f"{a['kind']} {metric} vs the humans (all runs)",
                         "measure": "Spearman", "value": a["rho"], "ci": a["ci"], "n": a["n"]})
    return rows


def _agreement_table(study: dict) -> pd.DataFrame | None:
    rows = [{**{k: r[k] for k in ("outcome", "compared", "measure")},
             "value [95% CI]": format_interval(r["value"], *(r["ci"] or [None, None])), "n": r["n"]}
            for r in agreement_rows(study)]
    return pd.DataFrame(rows) if rows else None


def describe(study: dict) -> str:
    references = ", ".join(f"{name}: {f['reference']}" for name, f in study.get("factors", {}).items())
    return (f"From people: {study['n_participants']} participants' {study['n_ratings']} ratings "
            f"({len(study['excluded'])} more participants excluded by the quality rules, {len(study['flagged'])} "
            f"flagged and kept), {study['file']}. Design: {study['design']}; {study['model']}. "
            f"Effects of {study['effects_formula'] or 'no factor'} against the reference levels ({references or 'none'}), "
            "95% CIs, p Holm-corrected within each family. None of this comes from the automatic metrics.")


def human_sections(studies: list[dict]) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, text, table) for each study, in reading order."""
    out = []
    for study in studies:
        name = study["name"]
        out.append((f"{FROM_PEOPLE}: {name}", describe(study),
                    _terms_table(study, ("effects", "simple_effects"))))
        parts = [("moderation", "Each demographic x each effect (one fit per demographic); a numeric demographic "
                                "is centred, per its spec unit.", _terms_table(study, ("moderation",), ("demographic",))),
                 ("per-scenario gains", "The focal effect within each scenario.", _terms_table(study, ("scenarios",))),
                 ("ordinal robustness check", "The same terms in a proportional-odds model (log-odds).",
                  _ordinal_table(study)),
                 ("agreement", "Krippendorff's alpha among raters (bootstrap CI over items); Spearman of judges, "
                               "metrics and each human with the humans' mean per item (CI: bootstrap over dialogues).",
                  _agreement_table(study))]
        out += [(f"{FROM_PEOPLE}, {what}: {name}", text, table) for what, text, table in parts if table is not None]
    return out
