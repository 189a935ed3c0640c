"""The Human evaluation's figures; each returns (PNG path, caption, the title of the section it belongs under)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402

from tide.report.human import FROM_PEOPLE, agreement_rows, slug  # noqa: E402
from tide.report.plots import save_figure as _save  # noqa: E402


def _intervals(ax, terms: list[dict], label) -> None:
    """Estimates as points with horizontal 95% CI bars, top to bottom, and the zero line."""
    positions = range(len(terms))[::-1]
    ax.errorbar([t["estimate"] for t in terms], list(positions),
                xerr=[[t["estimate"] - t["ci_low"] for t in terms], [t["ci_high"] - t["estimate"] for t in terms]],
                fmt="o", color="#4c72b0", capsize=3)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(list(positions), [label(t) for t in terms], fontsize=8)


def forest_plot(study: dict, out_dir: Path) -> tuple[Path, str, str] | None:
    panels = [(outcome, [*found.get("effects", []), *found.get("simple_effects", [])])
              for outcome, found in study["outcomes"].items() if found.get("effects")]
    if not panels:
        return None
    rows = max(len(terms) for _, terms in panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 0.32 * rows * len(panels) + 1.0 * len(panels)), squeeze=False)
    for ax, (outcome, terms) in zip(axes[:, 0], panels):
        _intervals(ax, terms, lambda t: t["term"])
        ax.set_title(outcome, fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("difference in mean rating (95% CI)")
    name = study["name"]
    return (_save(fig, out_dir / f"human_{slug(name)}_forest.png"),
            f"From people ({study['n_participants']} participants, {name}): each effect and simple effect with its "
            f"95% CI; {study['model']}.", f"{FROM_PEOPLE}: {name}")


def interaction_plots(study: dict, out_dir: Path) -> list[tuple[Path, str, str]]:
    """One figure per demographic: mean rating per group, one line per level of the focal factor."""
    outcomes = [(o, f) for o, f in study["outcomes"].items() if f.get("interaction_means")]
    demographics = list(outcomes[0][1]["interaction_means"]) if outcomes else []
    figures = []
    for demographic in demographics:
        fig, axes = plt.subplots(1, len(outcomes), figsize=(3.6 * len(outcomes), 3.2), squeeze=False)
        for ax, (outcome, found) in zip(axes[0], outcomes):
            means = [m for m in found["interaction_means"][demographic] if m["n"]]
            groups = list(dict.fromkeys(m["group"] for m in means))
            for level in dict.fromkeys(m["level"] for m in means):
                cells = {m["group"]: m for m in means if m["level"] == level}
                xs = [i for i, g in enumerate(groups) if g in cells]
                ys = [cells[groups[i]]["mean"] for i in xs]
                low = [cells[groups[i]]["mean"] - cells[groups[i]]["ci_low"] for i in xs]
                high = [cells[groups[i]]["ci_high"] - cells[groups[i]]["mean"] for i in xs]
                ax.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=3, label=level)
            ax.set_xticks(range(len(groups)), groups, fontsize=8, rotation=20)
            ax.set(title=outcome, xlabel=demographic)
            ax.title.set_fontsize(9)
        axes[0, 0].set_ylabel("mean rating (95% CI)")
        axes[0, -1].legend(fontsize=7, title=study.get("focal"), title_fontsize=7)
        name = study["name"]
        figures.append((_save(fig, out_dir / f"human_{slug(name)}_moderation_{slug(demographic)}.png"),
                        f"From people ({name}): observed mean rating per {demographic} group and "
                        f"{study.get('focal')} level, 95% t intervals (numbers without groups: tertiles).",
                        f"{FROM_PEOPLE}, moderation: {name}"))
    return figures


def scenario_plot(study: dict, out_dir: Path) -> tuple[Path, str, str] | None:
    panels = [(o, f["scenarios"]) for o, f in study["outcomes"].items() if f.get("scenarios")]
    if not panels:
        return None
    rows = max(len(terms) for _, terms in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 0.35 * rows + 1.4), squeeze=False)
    for ax, (outcome, terms) in zip(axes[0], panels):
        _intervals(ax, terms, lambda t: f"{t['scenario']}: {t['gain'].split(' | ')[-1]}")
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel("gain in mean rating (95% CI)")
    name = study["name"]
    return (_save(fig, out_dir / f"human_{slug(name)}_scenarios.png"),
            f"From people ({name}): the gain ({panels[0][1][0]['gain'].split(' | ')[0]}) within each scenario.",
            f"{FROM_PEOPLE}, per-scenario gains: {name}")


def agreement_plot(study: dict, out_dir: Path) -> tuple[Path, str, str] | None:
    rows = [r for r in agreement_rows(study) if r["value"] is not None and r["ci"] and None not in r["ci"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(rows) + 1.2))
    terms = [{"estimate": r["value"], "ci_low": r["ci"][0], "ci_high": r["ci"][1], "label": r} for r in rows]
    _intervals(ax, terms, lambda t: f"{t['label']['outcome']}: {t['label']['compared']} ({t['label']['measure']})")
    ax.set_xlabel("agreement (95% CI)")
    name = study["name"]
    return (_save(fig, out_dir / f"human_{slug(name)}_agreement.png"),
            f"Agreement with people ({name}): raters among themselves, and judges and metrics with the raters' mean.",
            f"{FROM_PEOPLE}, agreement: {name}")


def human_figures(studies: list[dict], out_dir: Path) -> list[tuple[Path, str, str]]:
    figures = []
    for study in studies:
        figures += [f for f in (forest_plot(study, out_dir), scenario_plot(study, out_dir),
                                agreement_plot(study, out_dir)) if f is not None]
        figures += interaction_plots(study, out_dir)
    return figures
