"""What every Hydra entry point does first: hermetic environment, absolute output paths, typed slices.

`setup_run` is the launch boundary: the composed Hydra config becomes one `TideConfig` of frozen,
checked slices here, and nowhere else; a bad option stops the command in one line naming it.
`run_stage_command` is what `python -m launch.<stage>` does: that stage (and the earlier ones it reads
from) through the same runner as the pipeline.
"""

from __future__ import annotations

import os
import sys

from tide.core.runtime import CONF_DIR, apply_runtime_env, resolve_path

# Hydra resolves ${paths.outputs} (and its own run directory) before our code runs; making it
# absolute here (relative = from the project root) keeps every output independent of the cwd.
os.environ["TIDE_OUTPUTS"] = str(resolve_path(os.environ.get("TIDE_OUTPUTS", "outputs")))

CONFIG_PATH = str(CONF_DIR)


def fail(command: str, error: BaseException) -> None:
    """One line on stderr naming what is wrong (no traceback), exit status 2."""
    print(f"{command}: {error}", file=sys.stderr)
    sys.exit(2)


def setup_run(cfg, command: str = "tide"):
    """Apply the run's environment and return the config as typed slices (exits in one line when bad)."""
    from omegaconf import OmegaConf

    from tide.config import ConfigError, build_config

    apply_runtime_env(offline=cfg.runtime.offline, ray_usage_stats=cfg.runtime.ray_usage_stats,
                      wandb_mode=cfg.logger.mode)
    try:
        return build_config(OmegaConf.to_container(cfg, resolve=True))
    except ConfigError as error:
        fail(command, error)


def command_overrides() -> list[str]:
    """The command line's Hydra overrides (inside a @hydra.main app)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task)


def with_judge(config):
    """eval.judge.model_cfg from the preset eval.judge.model names (composed here, where Hydra is)."""
    from tide.config import compose_mapping, with_options

    judge = config.eval.judge
    if judge.model is None or judge.model_cfg is not None:
        return config
    preset = compose_mapping([f"model={judge.model}"])["model"]
    return with_options(config, {"eval.judge.model_cfg": preset})


def run_stage_command(cfg, command: str, target: str | None) -> dict:
    """Run `target` (None: the whole pipeline) through the stage runner; bad input exits in one line."""
    from tide.config import ConfigError, to_plain
    from tide.models.loading import ModelNotAvailableError
    from tide.stages import StageConflict, run_pipeline
    from tide.track import override_params

    config = with_judge(setup_run(cfg, command))
    try:
        return run_pipeline(config, params=override_params(command_overrides(), to_plain(config)), target=target)
    except (StageConflict, ConfigError, ModelNotAvailableError, ValueError, FileNotFoundError) as error:
        fail(command, error)


def stage_main(command: str, target: str | None, format_output):
    """The Hydra `main` of `python -m launch.<stage>`: `target` (None: every stage) through the runner, then
    `format_output(result)` printed (result: what run_pipeline returns; outputs through the stage records)."""
    import hydra

    @hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
    def main(cfg) -> None:
        print(format_output(run_stage_command(cfg, command, target)))

    return main


def stage_summary(result: dict, stage: str) -> dict:
    """A stage's JSON summary output, found through its record in the run's directory."""
    from tide.stages import read_stage_json

    return read_stage_json(result["run_dir"], stage, "summary")
