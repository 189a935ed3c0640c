"""The generation stage called as tide.stages calls it: the slices of one composed config."""

from tide.config import TideConfig
from tide.generate.pipeline import generate


def run_generation(config: TideConfig) -> dict:
    return generate(config.generate, config.model, config.prompt, config.data.artifact_dir, config.run.dir)
