"""Build the HTML + Markdown report from evaluated runs.

    python -m launch.report                                   # every run under outputs/runs
    python -m launch.report 'report.runs=[/shared/tide/runs/a,/shared/tide/runs/b]'
    make report RUNS="outputs/runs/a outputs/runs/b"
"""

from __future__ import annotations

import hydra

from launch.common import CONFIG_PATH, setup_run


def run(config: dict) -> dict:
    from tide.report.collect import collect
    from tide.report.render import write_report

    report_cfg = config["report"]
    data = collect(report_cfg["runs"], report_cfg["primary_metric"], report_cfg["bootstrap_samples"], config["seed"])
    return write_report(data, report_cfg["out_dir"])


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
def main(cfg) -> None:
    paths = run(setup_run(cfg))
    print(f"report: {paths['html']}\n        {paths['markdown']} ({len(paths['figures'])} figures)")


if __name__ == "__main__":
    main()
