"""What one condition generates with: the engine an actor loads, the columns its rows share, and the spec
that decides its replies (written to generations/<condition>/spec.json, the resume key).

`EngineSpec` is what crosses into the Ray Data actors (config slices, pickled with the actor's
arguments); `ConditionPlan` stays on the driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tide.config import GenerateConfig, ModelConfig, PromptConfig, SamplingConfig, to_plain
from tide.core.domain import FINETUNED
from tide.core.runtime import resolve_path
from tide.generate.checks import check_adapter, check_merged_dir


@dataclass(frozen=True)
class EngineSpec:
    """The model an actor loads: the base model (a merged model when `merged_dir` is set), plus a PEFT
    adapter when `adapter_dir` is set, decoding as `sampling` says."""
    model: ModelConfig
    sampling: SamplingConfig
    adapter_dir: str | None = None
    merged_dir: str | None = None
    precision: str = "auto"


@dataclass(frozen=True)
class ConditionPlan:
    condition: str
    output_dir: Path      # <generate.output_dir>/<condition>
    backend: str
    engine: EngineSpec
    row_fields: dict      # the columns every row of this condition shares (condition, model, adapter, ...)
    spec: dict            # everything that decides a reply: spec.json


def plan_condition(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, run_dir: str,
                   condition: str, data_fingerprint: str) -> ConditionPlan:
    """What one condition's actors load and what its rows record; checks the adapter or merged model.

    `run_dir` (run.dir) only names a missing run in the error when the fine-tuned weights are missing.
    """
    adapter_dir, merged_dir = finetuned_weights(generate, model, str(resolve_path(run_dir)), condition)
    weights = adapter_dir or merged_dir
    return ConditionPlan(
        condition=condition,
        output_dir=resolve_path(generate.output_dir) / condition,
        backend=generate.backend,
        engine=EngineSpec(model=model, sampling=generate.sampling, adapter_dir=adapter_dir, merged_dir=merged_dir,
                          precision=generate.precision),
        row_fields={"condition": condition, "model": model.name, "model_params_b": float(model.params_b),
                    "adapter": weights},
        spec=generation_spec(generate, model, prompt, condition, weights, data_fingerprint),
    )


def finetuned_weights(generate: GenerateConfig, model: ModelConfig, run_dir: str,
                      condition: str) -> tuple[str | None, str | None]:
    """(adapter_dir, merged_dir) of a condition, checked: both None for zero_shot; a merged model when
    generate.merged_dir is set, else the adapter."""
    if condition != FINETUNED:
        return None, None
    if generate.merged_dir:
        merged_dir = str(resolve_path(generate.merged_dir))
        check_merged_dir(merged_dir, run_dir)
        return None, merged_dir
    adapter_dir = str(resolve_path(generate.adapter_dir))
    check_adapter(adapter_dir, model, run_dir)
    return adapter_dir, None


def generation_spec(generate: GenerateConfig, model: ModelConfig, prompt: PromptConfig, condition: str,
                    weights: str | None, data_fingerprint: str) -> dict:
    """spec.json: the keys and values as the composed YAML spells them (to_plain), so a generation made
    before the typed configs still resumes under the same settings."""
    return {"condition": condition, "backend": generate.backend, "precision": generate.precision,
            "model": model.name, "model_source": model.path or model.hf_id,
            "adapter": weights, "adapter_fingerprint": weights_fingerprint(weights),
            "sampling": to_plain(generate.sampling), "system_prompt": prompt.system,
            "split": generate.split, "data_fingerprint": data_fingerprint, "limit": generate.limit}


def weights_fingerprint(weights_dir: str | None) -> str | None:
    """Adapter: a hash of its weights (small). Merged model: file names and sizes (hashing GBs is slow)."""
    if weights_dir is None:
        return None
    adapter_weights = Path(weights_dir) / "adapter_model.safetensors"
    if adapter_weights.is_file():
        return hashlib.sha256(adapter_weights.read_bytes()).hexdigest()
    listing = sorted((p.name, p.stat().st_size) for p in Path(weights_dir).iterdir() if p.is_file())
    return hashlib.sha256(repr(listing).encode()).hexdigest()
