"""The one chat format, shared by training and generation.

A prompt is the system prompt plus the client turn, rendered by the model's own chat template with
the generation prompt appended; that is exactly what generation feeds the model. A training example
is that prompt followed by the reply tokens and the end-of-turn token, with labels only on the
reply (the prompt is masked with -100), so the model learns to stop where a turn ends.
"""

from __future__ import annotations

from jinja2.exceptions import TemplateError

IGNORE_INDEX = -100


def chat_messages(system_prompt: str | None, client: str) -> list[dict]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return messages + [{"role": "user", "content": client}]


def render_prompt(tokenizer, system_prompt: str | None, client: str) -> str:
    """The prompt text, ending where the assistant's reply begins."""
    if not client or not client.strip():
        raise ValueError("chat prompt: empty client text")
    try:
        return tokenizer.apply_chat_template(chat_messages(system_prompt, client), tokenize=False,
                                             add_generation_prompt=True)
    except TemplateError as error:
        if not system_prompt or "system" not in str(error).lower():
            raise
        # Some templates (Gemma 2) refuse a system role: carry the instruction in the user turn.
        folded = f"{system_prompt}\n\n{client}"
        return tokenizer.apply_chat_template(chat_messages(None, folded), tokenize=False,
                                             add_generation_prompt=True)


def end_of_turn_id(tokenizer, stop_token: str | None = None) -> int:
    """The token that ends an assistant turn: the preset's stop_token, else the tokenizer's EOS."""
    if stop_token is None:
        if tokenizer.eos_token_id is None:
            raise ValueError("tokenizer has no eos_token; set model.stop_token")
        return tokenizer.eos_token_id
    token_id = tokenizer.convert_tokens_to_ids(stop_token)
    if token_id is None or token_id == tokenizer.unk_token_id:
        raise ValueError(f"model.stop_token {stop_token!r} is not a token of this tokenizer")
    return token_id


def encode_prompt(tokenizer, system_prompt: str | None, client: str) -> list[int]:
    # The template writes its own special tokens (BOS included), so none are added here.
    return tokenizer(render_prompt(tokenizer, system_prompt, client), add_special_tokens=False)["input_ids"]


def encode_example(tokenizer, system_prompt: str | None, client: str, reply: str,
                   max_length: int | None = None, stop_token: str | None = None) -> dict:
    """input_ids, attention_mask and labels (reply tokens + end of turn only) for one dialogue.

    Longer than max_length: cut at max_length and flagged `truncated` (the reply then has no end of
    turn, so training drops such rows rather than teach the model not to stop).
    """
    if not reply or not reply.strip():
        raise ValueError("chat example: empty reply text")
    prompt_ids = encode_prompt(tokenizer, system_prompt, client)
    reply_ids = tokenizer(reply, add_special_tokens=False)["input_ids"] + [end_of_turn_id(tokenizer, stop_token)]
    input_ids = prompt_ids + reply_ids
    labels = [IGNORE_INDEX] * len(prompt_ids) + reply_ids
    truncated = max_length is not None and len(input_ids) > max_length
    if truncated:
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    return {
        "input_ids": input_ids,
        "attention_mask": [1] * len(input_ids),
        "labels": labels,
        "prompt_length": len(prompt_ids),
        "truncated": truncated,
    }
