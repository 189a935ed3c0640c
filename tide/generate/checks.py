"""Checks that run before any generation starts: bad inputs fail in seconds, naming what is wrong.

Only what needs the environment is checked here (the fine-tuned weights exist and fit the base model);
the options themselves (conditions, sampling bounds) are checked when the config is built
(tide/config/schema.py).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tide.config import ModelConfig

log = logging.getLogger(__name__)


def check_merged_dir(merged_dir: str, run_dir: str) -> None:
    if not (Path(merged_dir) / "config.json").is_file():
        raise FileNotFoundError(f"generate.merged_dir: {merged_dir} is not a model directory (no config.json)"
                                + _missing_run_hint(run_dir))


def check_adapter(adapter_dir: str, model: ModelConfig, run_dir: str) -> dict:
    """The adapter's config, after checking it is a LoRA adapter whose every weight fits the base model.

    Shapes decide (lora_A is r x in_features, lora_B is out_features x r of the module it adapts); the
    base model name recorded in the adapter only warns, because the same model often lives under
    another path on another machine.
    """
    adapter_dir = Path(adapter_dir)
    config_path, weights_path = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    if not adapter_dir.is_dir():
        raise FileNotFoundError(f"generate.adapter_dir: no adapter at {adapter_dir}" + _missing_run_hint(run_dir))
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(f"generate.adapter_dir: {adapter_dir} is not a PEFT adapter (no {path.name}; "
                                    "expected the output of save_pretrained)")
    adapter_cfg = json.loads(config_path.read_text(encoding="utf-8"))
    if adapter_cfg.get("peft_type") != "LORA":
        raise ValueError(f"{config_path}: peft_type {adapter_cfg.get('peft_type')!r}; "
                         "generation supports LoRA adapters")

    modules = _base_modules(model)
    where = (f"{adapter_dir} does not fit model {model.name!r} "
             f"(adapter trained on {adapter_cfg.get('base_model_name_or_path')!r})")
    targets = adapter_cfg.get("target_modules") or []
    if isinstance(targets, list):
        missing = [t for t in targets if not any(name.split(".")[-1] == t for name in modules)]
        if missing:
            raise ValueError(f"{where}: target_modules {missing} are not modules of the base model")
    for key, shape in _lora_shapes(weights_path).items():
        name, kind = _module_of(key)
        module = modules.get(name)
        if module is None:
            raise ValueError(f"{where}: weight {key} adapts {name}, which the base model lacks")
        expected = getattr(module, "in_features", None) if kind == "A" else getattr(module, "out_features", None)
        actual = shape[1] if kind == "A" else shape[0]
        if expected != actual:
            raise ValueError(f"{where}: {key} has shape {tuple(shape)}, but {name} has "
                             f"{'in' if kind == 'A' else 'out'}_features={expected}")
    recorded = adapter_cfg.get("base_model_name_or_path")
    if recorded not in {model.hf_id, model.path, None}:
        log.warning("adapter %s records base model %r, the config names %r (%s); the shapes fit, so going on",
                    adapter_dir, recorded, model.name, model.path or model.hf_id)
    return adapter_cfg


def _base_modules(model: ModelConfig) -> dict:
    """The base model's modules by name, built on the meta device: shapes only, no weights read."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from tide.models.loading import resolve_model_source

    with torch.device("meta"):
        base = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(resolve_model_source(model)))
    return dict(base.named_modules())


def _lora_shapes(weights_path: Path) -> dict[str, list[int]]:
    from safetensors import safe_open

    with safe_open(str(weights_path), framework="pt") as weights:
        return {key: weights.get_slice(key).get_shape() for key in weights.keys()
                if ".lora_A." in key or ".lora_B." in key}


def _module_of(key: str) -> tuple[str, str]:
    """'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' -> ('model.layers.0.self_attn.q_proj', 'A')."""
    name, _, rest = key.removeprefix("base_model.model.").partition(".lora_")
    return name, rest[0]


def _missing_run_hint(run_dir: str) -> str:
    if Path(run_dir).is_dir():
        return ""
    return (f" (the run directory {run_dir} does not exist: train this run first with `python -m launch.train`, "
            "point generate.adapter_dir at another run's adapter, or set generate.conditions=[zero_shot])")
