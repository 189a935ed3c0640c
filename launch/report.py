"""Build the HTML + Markdown report from evaluated runs.

    python -m launch.report                                   # every run under outputs/runs
    python -m launch.report 'report.runs=[/shared/tide/runs/a,/shared/tide/runs/b]'
    make report RUNS="outputs/runs/a outputs/runs/b"
"""

from __future__ import annotations

import hydra

from launch.common import CONFIG_PATH, setup_run
from launch.errors import guarded, hydra_command
from tide.config import TideConfig


def run(config: TideConfig) -> dict:
    from tide.report.render import build_report

    return build_report(config.report, config.seed)


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
@guarded("launch.report")
def hydra_main(cfg) -> None:
    paths = run(setup_run(cfg, "launch.report"))
    print(f"report: {paths['html']}\n        {paths['markdown']} ({len(paths['figures'])} figures)")


main = hydra_command("launch.report", hydra_main)


if __name__ == "__main__":
    main()
