"""Typed config slices (frozen dataclasses, one per Hydra group), built once at the launch boundary.

    from tide.config import compose_config, TrainConfig
    config = compose_config(["experiment=smoke"])
    train(config.train, ...)        # a function takes the slices it needs, never the whole tree
"""

from tide.config.fields import ConfigError, with_options
from tide.config.load import build_config, compose_config, compose_mapping, to_plain
from tide.config.schema import (BertScoreConfig, ClusterConfig, DataConfig, DeepSpeedConfig, EvalConfig,
                                GenerateConfig, GGUFWheelConfig, HubConfig, JudgeConfig, LoggerConfig, LoraConfig,
                                ModelConfig, PathsConfig, PipelineConfig, PromptConfig, ReportConfig, RunConfig,
                                RuntimeConfig, SamplingConfig, SplitConfig, SyntheticConfig, TideConfig,
                                TokenizerConfig, TrainConfig, VLLMConfig, WatchdogConfig)

__all__ = ["BertScoreConfig", "ClusterConfig", "ConfigError", "DataConfig", "DeepSpeedConfig", "EvalConfig",
           "GGUFWheelConfig", "GenerateConfig", "HubConfig", "JudgeConfig", "LoggerConfig", "LoraConfig",
           "ModelConfig", "PathsConfig", "PipelineConfig", "PromptConfig", "ReportConfig", "RunConfig",
           "RuntimeConfig", "SamplingConfig", "SplitConfig", "SyntheticConfig", "TideConfig", "TokenizerConfig",
           "TrainConfig", "VLLMConfig", "WatchdogConfig", "build_config", "compose_config", "compose_mapping",
           "to_plain", "with_options"]
