"""Generation fixtures: an adapter on the tiny model and a config factory."""

import pytest

from tests.configs import config_under
from tide.config import TideConfig

# Small and fast: ~20 test dialogues, a few new tokens, batches and shards of a few rows.
FAST = ["generate.sampling.max_new_tokens=6", "generate.batch_size=4", "generate.shard_rows=4",
        "generate.sampling.do_sample=false"]


@pytest.fixture(scope="session")
def adapter_dir(tmp_path_factory, tiny_varied_model_dir):
    """A LoRA adapter on the tiny model with random (non-zero) B matrices, so its replies differ from the base's."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_varied_model_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        generator = torch.Generator().manual_seed(0)
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
    out = tmp_path_factory.mktemp("run") / "adapter"
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def make_config(tmp_path_factory, tiny_varied_model_dir, data_artifact, adapter_dir):
    """make(run_name, *overrides): the composed config whose run.dir holds the adapter; overrides come last.

    Hydra overrides, not `with_options`: run.dir, generate.adapter_dir and generate.output_dir follow
    run.name through the conf's interpolations.
    """
    import shutil

    outputs = tmp_path_factory.mktemp("outputs")

    def make(run_name: str, *overrides) -> TideConfig:
        run_dir = outputs / "runs" / run_name
        if not run_dir.exists():
            shutil.copytree(adapter_dir, run_dir / "adapter")
        return config_under(outputs, "data=tide", f"data.artifact_dir={data_artifact}",
                            f"model.path={tiny_varied_model_dir}", f"run.name={run_name}", *FAST, *overrides)

    return make
