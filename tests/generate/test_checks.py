"""Bad input fails before any generation starts, with a message that names the file or option."""

import json
import logging
import shutil

import pytest

from tests.configs import config_for
from tests.generate.stage import run_generation
from tide.config import ConfigError, ModelConfig, with_options
from tide.data.artifact import save_artifact
from tide.generate.checks import check_adapter


def model_cfg(tiny_varied_model_dir) -> ModelConfig:
    return with_options(config_for().model, {"name": "tiny", "path": str(tiny_varied_model_dir), "hf_id": None})


def test_adapter_of_another_shape_is_refused(tmp_path, tiny_varied_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tests.conftest import SMALL_ARCHITECTURE
    from tide.models.presets import config_from_architecture

    wider = config_from_architecture({**SMALL_ARCHITECTURE, "hidden_size": 48, "vocab_size": 1024})
    other = get_peft_model(AutoModelForCausalLM.from_config(wider), LoraConfig(r=4, target_modules=["q_proj"]))
    other.save_pretrained(tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"does not fit model 'tiny'.*q_proj\.lora_A\.weight has shape \(4, 48\), "
                                         r"but .*q_proj has in_features=32"):
        check_adapter(tmp_path / "adapter", model_cfg(tiny_varied_model_dir), str(tmp_path))


def test_adapter_targets_must_exist_and_a_renamed_base_only_warns(tmp_path, tiny_varied_model_dir, adapter_dir, caplog):
    shutil.copytree(adapter_dir, tmp_path / "adapter")
    config_path = tmp_path / "adapter" / "adapter_config.json"
    adapter_cfg = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**adapter_cfg, "base_model_name_or_path": "/elsewhere/tiny"}))
    with caplog.at_level(logging.WARNING):
        check_adapter(tmp_path / "adapter", model_cfg(tiny_varied_model_dir), str(tmp_path))
    assert "records base model '/elsewhere/tiny'" in caplog.text

    config_path.write_text(json.dumps({**adapter_cfg, "target_modules": ["q_proj", "w_gate"]}))
    with pytest.raises(ValueError, match=r"target_modules \['w_gate'\] are not modules of the base model"):
        check_adapter(tmp_path / "adapter", model_cfg(tiny_varied_model_dir), str(tmp_path))
    (tmp_path / "adapter" / "adapter_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="not a PEFT adapter \\(no adapter_model.safetensors"):
        check_adapter(tmp_path / "adapter", model_cfg(tiny_varied_model_dir), str(tmp_path))


def test_missing_run_directory_fails_before_any_condition_starts(tmp_path, make_config):
    config = make_config("missing", f"run.dir={tmp_path / 'no-such-run'}")
    with pytest.raises(FileNotFoundError, match=r"no adapter at .*no-such-run/adapter \(the run directory .*"
                                                r"no-such-run does not exist"):
        run_generation(config)
    assert not (tmp_path / "no-such-run").exists()  # zero_shot, listed first, did not start either


def test_empty_split_unknown_condition_and_bad_sampling(tmp_path, make_config):
    save_artifact(tmp_path / "data", {"train": [{"dialogue_id": "p1-c1", "persona_id": "p1"}], "val": [], "test": []},
                  {})
    with pytest.raises(ValueError, match=r"split 'test' \(generate.split\) has no dialogues"):
        run_generation(make_config("empty", f"data.artifact_dir={tmp_path / 'data'}"))
    # The options themselves are refused when the config is built, before generate() could start.
    with pytest.raises(ConfigError, match=r"generate.conditions: expected one of \['zero_shot', 'finetuned'\], "
                                          r"got 'tuned'"):
        make_config("typo", "generate.conditions=[zero_shot,tuned]")
    with pytest.raises(ConfigError, match=r"generate.conditions: name distinct conditions"):
        make_config("twice", "generate.conditions=[zero_shot,zero_shot]")
    with pytest.raises(ConfigError, match=r"generate.sampling.temperature: must be > 0, got 0.0"):
        make_config("cold", "generate.sampling.do_sample=true", "generate.sampling.temperature=0.0")
