"""The actor and the HF engine in-process (no Ray): replies that do not depend on batching, stop tokens, errors."""

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer

from tests.configs import config_for
from tide.config import with_options
from tide.generate.actor import GenerationActor
from tide.generate.plan import EngineSpec
from tide.generate.prompts import build_prompts

SYSTEM = "You are a supportive listener."
CLIENTS = ["I can't sleep since the fire.", "Loud noises make me jump and my heart races for an hour.",
           "I keep avoiding the road where it happened.", "Some days I feel numb, like I am watching my life.",
           "My partner says I am distant.", "I had a nightmare again and woke up shaking, sweating, sure it was back."]


@pytest.fixture(scope="module")
def prompts(tiny_varied_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_varied_model_dir)
    rows = [{"dialogue_id": f"p{i}-c0", "persona_id": f"p{i}", "scenario": None, "client": client}
            for i, client in enumerate(CLIENTS)]
    return build_prompts(rows, tokenizer, SYSTEM, seed=7)


def actor(tiny_varied_model_dir, stop_token=None, **sampling) -> GenerationActor:
    config = config_for()
    sampling = with_options(config.generate.sampling, {"do_sample": False, "temperature": 1.0, "top_p": 0.9,
                                                       "max_new_tokens": 8, "seed": 7, **sampling})
    model = with_options(config.model, {"name": "tiny", "path": str(tiny_varied_model_dir), "stop_token": stop_token})
    return GenerationActor("hf", EngineSpec(model=model, sampling=sampling),
                           {"condition": "zero_shot", "model": "tiny", "model_params_b": 0.001, "adapter": None})


def replies(generator: GenerationActor, prompts, batch_size: int) -> dict:
    out = pd.concat([generator(pd.DataFrame(prompts[i:i + batch_size])) for i in range(0, len(prompts), batch_size)])
    return dict(zip(out["dialogue_id"], out["reply"]))


@pytest.mark.parametrize("do_sample", [False, True], ids=["greedy", "sampled"])
def test_a_reply_does_not_depend_on_its_batch(tiny_varied_model_dir, prompts, do_sample):
    generator = actor(tiny_varied_model_dir, do_sample=do_sample)
    alone = replies(generator, prompts, batch_size=1)
    assert replies(generator, prompts, batch_size=4) == alone
    assert replies(generator, prompts[::-1], batch_size=len(prompts)) == alone  # other neighbours and positions
    assert len(set(alone.values())) > 1


def test_sampling_follows_the_dialogue_seed(tiny_varied_model_dir, prompts):
    sampled = replies(actor(tiny_varied_model_dir, do_sample=True), prompts, batch_size=3)
    greedy = replies(actor(tiny_varied_model_dir), prompts, batch_size=3)
    assert sampled != greedy
    reseeded = [{**p, "seed": p["seed"] + 1} for p in prompts]
    other_seed = replies(actor(tiny_varied_model_dir, do_sample=True), reseeded, batch_size=3)
    assert other_seed != sampled


def test_finish_reason_length_and_stop_token(tiny_varied_model_dir, prompts):
    generator = actor(tiny_varied_model_dir)
    out = generator(pd.DataFrame(prompts))
    assert set(out["finish_reason"]) == {"length"} and set(out["reply_tokens"]) == {8}
    assert out["error"].isna().all() and (out["latency_s"] > 0).all()

    # Make the third token of the first reply a stop token: that reply now ends there, by eos.
    prompt_ids = prompts[0]["prompt_ids"]
    generated = generator.engine.model.generate(torch.tensor([prompt_ids]))[0, len(prompt_ids):].tolist()
    stop_token = AutoTokenizer.from_pretrained(tiny_varied_model_dir).convert_ids_to_tokens(generated[2])
    stopped = actor(tiny_varied_model_dir, stop_token=stop_token)(pd.DataFrame(prompts[:1]))
    assert stopped["finish_reason"][0] == "eos" and stopped["reply_tokens"][0] <= 3


def test_a_failing_row_is_recorded_and_its_batch_still_answered(tiny_varied_model_dir, prompts):
    generator = actor(tiny_varied_model_dir)
    broken = [dict(p) for p in prompts]
    broken[1]["prompt_ids"] = broken[1]["prompt_ids"] + [10**6]  # not a token of this vocabulary
    out = generator(pd.DataFrame(broken))
    assert out["finish_reason"].tolist().count("error") == 1 and out["finish_reason"][1] == "error"
    assert "IndexError" in out["error"][1] and out["reply"][1] == ""
    expected = generator(pd.DataFrame(prompts))
    keep = out["finish_reason"] != "error"
    assert out["reply"][keep].tolist() == expected["reply"][keep].tolist()
