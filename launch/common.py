"""What every Hydra entry point does first: hermetic environment, absolute output paths, typed slices.

`setup_run` is the launch boundary: the composed Hydra config becomes one `TideConfig` of frozen,
checked slices here, and nowhere else; a bad option raises ConfigError, which the error boundary
(launch/errors.py) turns into one line naming it. `run_stage_command` is what `python -m launch.<stage>`
does: that stage (and the earlier ones it reads from) through the same runner as the pipeline.
"""

from __future__ import annotations

import os

from tide.core.runtime import CONF_DIR, apply_runtime_env, resolve_path

# Hydra resolves ${paths.outputs} (and its own run directory) before our code runs; making it
# absolute here (relative = from the project root) keeps every output independent of the cwd.
os.environ["TIDE_OUTPUTS"] = str(resolve_path(os.environ.get("TIDE_OUTPUTS", "outputs")))

CONFIG_PATH = str(CONF_DIR)


def setup_run(cfg, command: str = "tide"):
    """Apply the run's environment and return the config as typed slices (ConfigError names a bad option).
    `command` is kept for callers that name themselves; the boundary names the command."""
    from omegaconf import OmegaConf

    from tide.config import build_config

    config = build_config(OmegaConf.to_container(cfg, resolve=True))   # checked before the environment changes
    apply_runtime_env(offline=config.runtime.offline, ray_usage_stats=config.runtime.ray_usage_stats,
                      wandb_mode=config.logger.mode)
    return config


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
    """Run `target` (None: the whole pipeline) through the stage runner; bad input raises, and the
    boundary (launch/errors.py) reports it in one line."""
    from tide.config import to_plain
    from tide.stages import run_pipeline
    from tide.track import override_params

    config = with_judge(setup_run(cfg, command))
    check_named_files(config, target)
    return run_pipeline(config, params=override_params(command_overrides(), to_plain(config)), target=target)


def check_named_files(config, target: str | None) -> None:
    """The files the options name, read before any stage runs, so that a bad one is refused before any work
    (a truncated GGUF once let the data stage finish with only a warning; bad ratings were found after
    training and generation): model.gguf_file, and eval.ratings when the command evaluates."""
    from pathlib import Path

    model = config.model
    if model.gguf_file and not model.path:   # model.path set: the GGUF is not used
        from tide.models.gguf import inspect_gguf

        inspect_gguf(Path(model.gguf_file).expanduser().resolve())
    if config.eval.ratings and target in (None, "evaluate"):
        from tide.evaluate.ratings import import_ratings

        # Replies made elsewhere are final, so the rated items are checked against them now; this run's own
        # may still be (re)generated, and the evaluation checks the items against them before scoring.
        replies = Path(config.eval.generations_dir)
        elsewhere = not replies.resolve().is_relative_to(Path(config.run.dir).resolve())
        import_ratings(config.eval.ratings, config.eval.ratings_scale, replies if elsewhere else None)


def stage_main(command: str, target: str | None, format_output):
    """The entry point of `python -m launch.<stage>`: `target` (None: every stage) through the runner, then
    `format_output(result)` printed (result: what run_pipeline returns; outputs through the stage records),
    inside the error boundary."""
    import hydra

    from launch.errors import guarded, hydra_command

    @hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
    @guarded(command)
    def main(cfg) -> None:
        print(format_output(run_stage_command(cfg, command, target)))

    return hydra_command(command, main)


def stage_summary(result: dict, stage: str) -> dict:
    """A stage's JSON summary output, found through its record in the run's directory."""
    from tide.stages import read_stage_json

    return read_stage_json(result["run_dir"], stage, "summary")
