"""The Ray Data actor: holds one engine (the model, plus an adapter) and turns prompt batches into rows.

Used as `Dataset.map_batches(GenerationActor, ...)`, and called directly (no Ray) by the single-process
baseline in the benchmark. A batch that fails is retried one row at a time, so a failing row is
recorded with its error and its neighbours still get their replies.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from tide.config import to_plain
from tide.generate.plan import EngineSpec


def build_engine(backend: str, engine: EngineSpec):
    if backend == "hf":
        from tide.generate.hf_engine import HFEngine

        return HFEngine.from_spec(engine)
    if backend == "vllm":  # no actor of ours: ray.data.llm runs vLLM (tide.generate.pipeline.stream_generations)
        raise ValueError("generate.backend=vllm runs through ray.data.llm's processor, not GenerationActor")
    raise ValueError(f"generate.backend: unknown backend {backend!r}; choose hf or vllm")


class GenerationActor:
    def __init__(self, backend: str, engine: EngineSpec, row_fields: dict):
        """engine: the model to load (config slices, pickled by Ray with the actor's arguments);
        row_fields: the columns every output row of this condition shares (condition, model, adapter, ...)."""
        from tide.core.runtime import match_torch_threads_to_ray

        self.torch_threads = match_torch_threads_to_ray()  # in the plain (no Ray) loop: left as it is
        self.engine = build_engine(backend, engine)
        self.sampling = to_plain(engine.sampling)  # recorded in each row as the YAML spells it
        versions = {**self.engine.versions, "torch_threads": self.torch_threads}
        self.row_fields = {**row_fields, "versions": json.dumps(versions, sort_keys=True)}

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        prompt_ids = [np.asarray(ids).tolist() for ids in batch["prompt_ids"]]
        seeds = [int(seed) for seed in batch["seed"]]
        start = time.perf_counter()
        try:
            results = self.engine.generate(prompt_ids, seeds)
            latency = time.perf_counter() - start
            for result in results:
                result.update(latency_s=latency, error=None)
        except Exception:
            results = [self._generate_one(ids, seed) for ids, seed in zip(prompt_ids, seeds)]
        out = batch.drop(columns=["prompt_ids", "seed"]).reset_index(drop=True)
        for column in ("reply", "finish_reason", "reply_tokens", "latency_s", "error"):
            out[column] = [result[column] for result in results]
        for column, value in self.row_fields.items():
            out[column] = [value] * len(out)
        out["sampling"] = [json.dumps({**self.sampling, "row_seed": seed}, sort_keys=True) for seed in seeds]
        return out

    def _generate_one(self, prompt_ids: list[int], seed: int) -> dict:
        start = time.perf_counter()
        try:
            result = self.engine.generate([prompt_ids], [seed])[0]
            return {**result, "latency_s": time.perf_counter() - start, "error": None}
        except Exception as error:  # recorded in the row; the job stops after generate.max_failures of them
            return {"reply": "", "finish_reason": "error", "reply_tokens": 0,
                    "latency_s": time.perf_counter() - start, "error": f"{type(error).__name__}: {error}"}
