"""The tiny model: a few-million-parameter Llama with a tokenizer trained on the synthetic corpus.

It is saved exactly like a downloaded model (config, safetensors, tokenizer files with a chat
template), so every stage loads it with `from_pretrained(out_dir)` and no code path is tiny-specific.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from tide.config import TokenizerConfig, to_plain
from tide.core.files import staged_dir
from tide.models.presets import config_from_architecture

PAD_BOS = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [PAD_BOS, IM_START, IM_END]

# ChatML, as Qwen2.5 and SmolLM2 use it: every turn ends with <|im_end|>, the eos token, so generation
# stops where a real instruct model stops.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

BUILD_FILE = "tide_build.json"


def build_tiny_model(
    out_dir, texts: Iterable[str], architecture: dict, tokenizer: TokenizerConfig, seed: int = 0
) -> Path:
    """Train a tokenizer on `texts`, build a seeded random model, save both into `out_dir`.

    `architecture` is the preset's config.json dimensions (model.architecture), `tokenizer` its
    model.tokenizer. Skipped when `out_dir` already holds a build of the same inputs; the directory
    appears complete or not at all (built in a staging sibling, then swapped in).
    """
    out_dir = Path(out_dir)
    texts = list(texts)  # read twice: once for the hash, once for training
    build_hash = _build_hash(architecture, tokenizer, seed, texts)
    if existing_build_hash(out_dir) == build_hash:
        return out_dir

    with staged_dir(out_dir) as staging:
        trained = _train_tokenizer(texts, tokenizer, architecture["max_position_embeddings"])
        model = _build_model(architecture, trained, seed)
        trained.save_pretrained(staging)
        model.save_pretrained(staging)
        (staging / BUILD_FILE).write_text(
            json.dumps({"hash": build_hash, "architecture": dict(architecture),
                        "tokenizer": to_plain(tokenizer), "seed": seed,
                        "parameters": model.num_parameters()}, indent=2)
        )
    return out_dir


def _build_hash(architecture: dict, tokenizer: TokenizerConfig, seed: int, texts: list[str]) -> str:
    texts_hash = hashlib.sha256()
    for text in texts:
        texts_hash.update(text.encode())
        texts_hash.update(b"\0")  # so ["ab", "c"] and ["a", "bc"] differ
    # The plain form keeps the hash (and so earlier builds' reuse) what it was when this took a dict.
    key = {"architecture": dict(architecture), "tokenizer": to_plain(tokenizer), "seed": seed,
           "texts": texts_hash.hexdigest()}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def existing_build_hash(out_dir) -> str | None:
    """The build hash of the tiny model in `out_dir` (None: none there), what a rebuild with other inputs changes."""
    try:
        return json.loads((Path(out_dir) / BUILD_FILE).read_text())["hash"]
    except (OSError, ValueError, KeyError):
        return None


def _train_tokenizer(texts: list[str], tokenizer: TokenizerConfig, max_length: int) -> PreTrainedTokenizerFast:
    # Byte-level BPE like GPT-2/Qwen: any text encodes, nothing maps to an unknown token.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=tokenizer.vocab_size,
        min_frequency=tokenizer.min_frequency,
        special_tokens=SPECIAL_TOKENS,  # ids 0, 1, 2
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=PAD_BOS,
        pad_token=PAD_BOS,
        eos_token=IM_END,
        additional_special_tokens=[IM_START],
        chat_template=CHAT_TEMPLATE,
        model_max_length=max_length,
    )


def _build_model(architecture: dict, tokenizer, seed: int):
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    config = config_from_architecture(
        {"model_type": "llama", **architecture, "vocab_size": len(tokenizer), **ids}
    )
    # Seed a forked RNG so the weights depend only on `seed` and the caller's RNG stream is untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    for key, value in ids.items():
        setattr(model.generation_config, key, value)
    return model
