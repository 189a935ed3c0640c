"""The report's figures: each returns (PNG path, caption naming the settings that produced it)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tide.core.files import write_atomic  # noqa: E402
from tide.report.collect import ReportData  # noqa: E402


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    write_atomic(path, lambda temp: fig.savefig(temp, dpi=110, format="png"))  # never half a figure
    plt.close(fig)
    return path


save_figure = _save  # the Human evaluation's figures (tide/report/human_plots.py) are saved the same way


def _settings(data: ReportData) -> str:
    s = data.settings
    return f"{s['ci']} ({s['bootstrap_samples']} resamples, seed {s['seed']}); {s['rows']} rows from {s['runs']} run(s)"


def leaderboard_plot(data: ReportData, out_dir: Path) -> tuple[Path, str]:
    table = pd.DataFrame([{"label": f"{g['model']} / {g['condition']}", **g[data.primary]} for g in data.leaderboard])
    table = table.sort_values("mean")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.2))
    errors = [table["mean"] - table["ci_low"], table["ci_high"] - table["mean"]]
    ax.barh(table["label"], table["mean"], xerr=errors, color="#4c72b0", capsize=3)
    ax.set_xlabel(f"mean {data.primary}")
    return _save(fig, out_dir / "leaderboard.png"), f"Mean {data.primary} per model and condition; {_settings(data)}."


def scenario_heatmap(data: ReportData, out_dir: Path) -> tuple[Path, str]:
    table = pd.DataFrame([{"column": f"{g['model']}\n{g['condition']}", "scenario": g["scenario"],
                           "mean": g[data.primary]["mean"]} for g in data.by_scenario])
    # Scenarios down the side (a dozen, with long names, read horizontally) and one column per model and
    # condition; the figure grows with both, so cells stay legible however few the runs.
    grid = table.pivot(index="scenario", columns="column", values="mean")
    label_width = 0.075 * max(len(str(s)) for s in grid.index)
    fig, ax = plt.subplots(figsize=(label_width + 1.3 * grid.shape[1] + 1.6, 1.3 + 0.38 * grid.shape[0]))
    values = grid.to_numpy(dtype=float)
    image = ax.imshow(values, aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), grid.columns, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    middle = np.nanmean(values)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7,
                color="black" if value > middle else "white")
    bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03)
    bar.locator = matplotlib.ticker.MaxNLocator(5)
    bar.update_ticks()
    bar.ax.tick_params(labelsize=7)
    bar.set_label(f"mean {data.primary}", fontsize=8)
    return (_save(fig, out_dir / "scenario_heatmap.png"),
            f"Mean {data.primary} per emotional scenario (rows) for each model and condition (columns); "
            f"{_settings(data)}.")


def gain_vs_size(data: ReportData, out_dir: Path) -> tuple[Path, str] | None:
    points = (data.ceiling or {}).get("models") or []
    if len(points) < 2:  # one size says nothing about how the gain changes with size
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes, gains = [p["params_b"] for p in points], [p["gain"] for p in points]
    ax.plot(sizes, gains, "o-", color="#dd8452")
    for p in points:
        ax.annotate(p["model"], (p["params_b"], p["gain"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (billions, log scale)")
    ax.set_ylabel(f"fine-tuned - zero-shot {data.primary}")
    rho = data.ceiling.get("spearman_gain_vs_size")
    note = f" Spearman rho {rho['rho']:.2f} (p={rho['p']:.3f})." if rho else ""
    return (_save(fig, out_dir / "gain_vs_size.png"),
            f"Mean paired gain in {data.primary} against model size (the knowledge-transfer ceiling).{note}")


def correlation_matrix(data: ReportData, out_dir: Path) -> tuple[Path, str] | None:
    if data.correlations is None:
        return None
    matrix = data.correlations
    fig, ax = plt.subplots(figsize=(1.5 + 0.55 * len(matrix), 1.2 + 0.5 * len(matrix)))
    image = ax.imshow(matrix.to_numpy(), vmin=-1, vmax=1, cmap="coolwarm")
    ax.set_xticks(range(len(matrix)), matrix.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=8)
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="Spearman rho")
    return (_save(fig, out_dir / "metric_correlations.png"),
            f"Spearman correlation between per-reply metrics over {data.settings['rows']} rows.")


FIGURES = (leaderboard_plot, scenario_heatmap, gain_vs_size, correlation_matrix)
