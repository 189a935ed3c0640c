import pytest
from transformers import AutoTokenizer

from tide.data.chat import IGNORE_INDEX, encode_example, encode_prompt, render_prompt

SYSTEM = "You are a supportive listener."
CLIENT = "Since the accident I freeze whenever I hear brakes screech."
REPLY = "It sounds frightening to feel your body react before you can think. Many survivors notice this."


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_labels_cover_exactly_the_reply_and_eos(tokenizer):
    example = encode_example(tokenizer, SYSTEM, CLIENT, REPLY)
    labels, ids = example["labels"], example["input_ids"]
    start = example["prompt_length"]
    assert all(label == IGNORE_INDEX for label in labels[:start])
    assert labels[start:] == ids[start:]
    reply_ids = tokenizer(REPLY, add_special_tokens=False)["input_ids"]
    assert labels[start:] == reply_ids + [tokenizer.eos_token_id]
    assert tokenizer.decode(labels[start:]) == REPLY + tokenizer.eos_token
    assert len(ids) == len(labels) == len(example["attention_mask"]) and not example["truncated"]


def test_training_prompt_is_the_generation_prompt(tokenizer):
    example = encode_example(tokenizer, SYSTEM, CLIENT, REPLY)
    prompt_ids = encode_prompt(tokenizer, SYSTEM, CLIENT)
    assert example["input_ids"][: example["prompt_length"]] == prompt_ids
    text = render_prompt(tokenizer, SYSTEM, CLIENT)
    assert SYSTEM in text and CLIENT in text and REPLY not in text
    assert text.endswith("<|im_start|>assistant\n")  # the reply starts right here


def test_stop_token_overrides_eos(tokenizer):
    example = encode_example(tokenizer, SYSTEM, CLIENT, REPLY, stop_token="<|endoftext|>")
    assert example["labels"][-1] == tokenizer.convert_tokens_to_ids("<|endoftext|>") != tokenizer.eos_token_id
    with pytest.raises(ValueError, match="model.stop_token '<\\|nope\\|>' is not a token"):
        encode_example(tokenizer, SYSTEM, CLIENT, REPLY, stop_token="<|nope|>")


def test_truncation_is_flagged(tokenizer):
    full = encode_example(tokenizer, SYSTEM, CLIENT, REPLY)
    cut = encode_example(tokenizer, SYSTEM, CLIENT, REPLY, max_length=len(full["input_ids"]) - 3)
    assert cut["truncated"] and len(cut["input_ids"]) == len(full["input_ids"]) - 3
    assert cut["labels"][-1] != tokenizer.eos_token_id


def test_template_without_system_role_folds_the_instruction_into_the_user_turn(tokenizer):
    gemma_like = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    gemma_like.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}<end_of_turn>\n{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
    text = render_prompt(gemma_like, SYSTEM, CLIENT)
    assert text == f"<start_of_turn>user\n{SYSTEM}\n\n{CLIENT}<end_of_turn>\n<start_of_turn>model\n"


@pytest.mark.parametrize("client,reply,message", [("  ", REPLY, "empty client"), (CLIENT, "", "empty reply")])
def test_empty_text_is_refused(tokenizer, client, reply, message):
    with pytest.raises(ValueError, match=message):
        encode_example(tokenizer, SYSTEM, client, reply)
