import hashlib
import json
import random

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.configs import config_for
from tide.config import with_options
from tide.models import tiny
from tide.models.presets import count_parameters
from tide.models.tiny import BUILD_FILE, build_tiny_model

TINY_MODEL = config_for("model=tiny").model  # conf/model/tiny.yaml, composed
TINY_ARCH = TINY_MODEL.architecture
TINY_TOKENIZER = TINY_MODEL.tokenizer
# Most builds use a smaller shape: the behaviour under test does not depend on the size.
SMALL_ARCH = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 256,
              "tie_word_embeddings": True}
SMALL_TOKENIZER = with_options(TINY_TOKENIZER, {"vocab_size": 512, "min_frequency": 2})

WORDS = ("i feel scared tired alone angry when night comes the memories return and cannot sleep "
         "it is understandable that you this way are not thank for sharing your feelings matter").split()


def make_corpus(n=300, seed=0):
    rng = random.Random(seed)
    return [
        "<|im_start|>user\n" + " ".join(rng.choices(WORDS, k=rng.randint(5, 15))) + "<|im_end|>\n"
        "<|im_start|>assistant\n" + " ".join(rng.choices(WORDS, k=rng.randint(5, 15))) + "<|im_end|>\n"
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def corpus():
    return make_corpus()


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, corpus):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny", corpus, TINY_ARCH, TINY_TOKENIZER)


@pytest.fixture(scope="module")
def tokenizer(tiny_dir):
    return AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture(scope="module")
def model(tiny_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_dir)


def test_loads_back_with_expected_size(tokenizer, model):
    assert 300 < len(tokenizer) <= TINY_TOKENIZER.vocab_size
    assert model.config.vocab_size == len(tokenizer)
    assert model.num_parameters() == count_parameters({**TINY_ARCH, "vocab_size": len(tokenizer)})
    assert 1_000_000 < model.num_parameters() < 10_000_000


def test_special_tokens(tokenizer, model):
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.bos_token == tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") != tokenizer.unk_token_id
    for config in (model.config, model.generation_config):
        assert config.eos_token_id == tokenizer.eos_token_id
        assert config.bos_token_id == tokenizer.bos_token_id
        assert config.pad_token_id == tokenizer.pad_token_id


def test_chat_template(tokenizer):
    messages = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "I cannot sleep."}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert prompt == ("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nI cannot sleep.<|im_end|>\n"
                      "<|im_start|>assistant\n")
    full = tokenizer.apply_chat_template(
        messages + [{"role": "assistant", "content": "That sounds hard."}], tokenize=False)
    assert full.endswith("<|im_start|>assistant\nThat sounds hard.<|im_end|>\n")
    # Special tokens are single ids, and the text round-trips through the byte-level BPE.
    ids = tokenizer(prompt)["input_ids"]
    assert ids[0] == tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(tokenizer.eos_token_id) == 2
    assert tokenizer.decode(ids) == prompt


def test_forward_and_generate(tokenizer, model):
    messages = [{"role": "user", "content": "i feel alone"}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], len(tokenizer))
    out = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert inputs["input_ids"].shape[1] < out.shape[1] <= inputs["input_ids"].shape[1] + 5


def _weights(path):
    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def test_same_seed_same_build(tmp_path, corpus):
    a = build_tiny_model(tmp_path / "a", corpus, SMALL_ARCH, SMALL_TOKENIZER, seed=0)
    b = build_tiny_model(tmp_path / "b", corpus, SMALL_ARCH, SMALL_TOKENIZER, seed=0)
    c = build_tiny_model(tmp_path / "c", corpus, SMALL_ARCH, SMALL_TOKENIZER, seed=1)
    assert (a / "tokenizer.json").read_text() == (b / "tokenizer.json").read_text()
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_rebuild_only_when_inputs_change(tmp_path, corpus):
    out = tmp_path / "m"
    build_tiny_model(out, corpus, SMALL_ARCH, SMALL_TOKENIZER)
    stamp = (out / "model.safetensors").stat().st_mtime_ns

    build_tiny_model(out, iter(corpus), SMALL_ARCH, SMALL_TOKENIZER)  # any iterable, same texts
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp

    build_tiny_model(out, corpus, {**SMALL_ARCH, "num_hidden_layers": 3}, SMALL_TOKENIZER)
    assert AutoModelForCausalLM.from_pretrained(out).config.num_hidden_layers == 3

    build_tiny_model(out, corpus[:-1], {**SMALL_ARCH, "num_hidden_layers": 3}, SMALL_TOKENIZER)
    assert (out / "model.safetensors").stat().st_mtime_ns != stamp
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary or old directories left


def test_failed_build_leaves_nothing(tmp_path, corpus, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(tiny, "_build_model", fail)
    with pytest.raises(RuntimeError, match="mid-build"):
        build_tiny_model(tmp_path / "m", corpus, SMALL_ARCH, SMALL_TOKENIZER)
    assert list(tmp_path.iterdir()) == []


def test_build_record_keeps_the_plain_options(tmp_path, corpus):
    """tide_build.json holds the tokenizer options as the YAML wrote them (and the hash made from them)."""
    out = build_tiny_model(tmp_path / "m", corpus, SMALL_ARCH, SMALL_TOKENIZER, seed=3)
    record = json.loads((out / BUILD_FILE).read_text())
    assert record["tokenizer"] == {"vocab_size": 512, "min_frequency": 2}
    assert record["architecture"] == SMALL_ARCH and record["seed"] == 3
    # The hash as it was made when the tokenizer options came as a dict: earlier builds are still reused.
    texts = hashlib.sha256(b"".join(text.encode() + b"\0" for text in corpus)).hexdigest()
    key = {"architecture": SMALL_ARCH, "tokenizer": {"vocab_size": 512, "min_frequency": 2}, "seed": 3, "texts": texts}
    assert record["hash"] == hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
