"""Hugging Face `generate` with per-row seeded sampling: a reply does not depend on its batch.

HF samples a batch's next tokens from one shared random stream, so the same dialogue would get a
different reply in a different batch. Instead, `RowSampler` draws each row's token from that row's own
generator (seeded by its dialogue) and leaves only that token for greedy search to pick. Greedy
decoding (sampling.do_sample=false) uses no randomness at all.

Only generate.sampling decides how tokens are chosen: the model's own generation_config defaults
(Qwen ships repetition_penalty and top_k, for example) are replaced, so every preset is decoded alike.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import version
from typing import TYPE_CHECKING

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, TopPLogitsWarper

from tide.config import ModelConfig, SamplingConfig
from tide.data.chat import end_of_turn_id
from tide.models.loading import load_model, load_tokenizer

if TYPE_CHECKING:
    from tide.generate.plan import EngineSpec


class RowSampler(LogitsProcessor):
    """Temperature + top-p sampling with one torch.Generator per row; returns scores that make greedy
    search pick the sampled token."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device):
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
        self.temperature = temperature
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1.0 else None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float() / self.temperature
        if self.top_p is not None:
            scores = self.top_p(input_ids, scores)
        probs = scores.softmax(dim=-1)
        picked = torch.cat([torch.multinomial(row, 1, generator=generator)
                            for row, generator in zip(probs, self.generators)])
        only_picked = torch.full_like(scores, float("-inf"))
        return only_picked.scatter_(1, picked[:, None], 0.0)


def resolve_dtype(precision: str, device: str) -> str:
    if precision == "auto":
        return "bfloat16" if device == "cuda" else "float32"
    return precision


class HFEngine:
    """The base model (a merged model when `merged_dir` is set), plus a PEFT adapter when `adapter_dir` is set."""

    backend = "hf"

    def __init__(self, model: ModelConfig, sampling: SamplingConfig, adapter_dir: str | None = None,
                 merged_dir: str | None = None, precision: str = "auto"):
        import transformers

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.sampling = sampling
        self.tokenizer = load_tokenizer(model)  # the base tokenizer, also for a merged model
        weights = dataclasses.replace(model, path=merged_dir) if merged_dir else model
        network = load_model(weights, resolve_dtype(precision, self.device))
        self.stop_ids = sorted({end_of_turn_id(self.tokenizer, model.stop_token), self.tokenizer.eos_token_id})
        # do_sample=False: when sampling, RowSampler has already drawn the token greedy search picks.
        network.generation_config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens, do_sample=False, eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id, bos_token_id=self.tokenizer.bos_token_id)
        if adapter_dir:
            from peft import PeftModel  # only when needed: importing peft costs seconds per actor

            network = PeftModel.from_pretrained(network, adapter_dir)
        self.model = network.to(self.device).eval()
        self.versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                         "peft": version("peft"), "backend": f"hf {transformers.__version__}"}

    @classmethod
    def from_spec(cls, engine: EngineSpec) -> HFEngine:
        return cls(engine.model, engine.sampling, adapter_dir=engine.adapter_dir, merged_dir=engine.merged_dir,
                   precision=engine.precision)

    @torch.inference_mode()
    def generate(self, prompt_ids: list[list[int]], seeds: list[int]) -> list[dict]:
        """reply, finish_reason (eos/length) and reply_tokens (stop token included) per prompt."""
        width = max(len(ids) for ids in prompt_ids)
        pad = self.tokenizer.pad_token_id
        # Left padding: every row's reply starts at the same column.
        input_ids = torch.tensor([[pad] * (width - len(ids)) + list(ids) for ids in prompt_ids], device=self.device)
        attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids],
                                      device=self.device)
        processors = LogitsProcessorList()
        if self.sampling.do_sample:
            processors.append(RowSampler(seeds, self.sampling.temperature, self.sampling.top_p, self.device))
        output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, logits_processor=processors)
        return [self._reply(row[width:].tolist()) for row in output]

    def _reply(self, generated: list[int]) -> dict:
        stop = next((i for i, token in enumerate(generated) if token in self.stop_ids), None)
        if stop is None:
            return {"reply": self._decode(generated), "finish_reason": "length", "reply_tokens": len(generated)}
        return {"reply": self._decode(generated[:stop]), "finish_reason": "eos", "reply_tokens": stop + 1}

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()
