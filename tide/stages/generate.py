"""The generate stage: a reply from the run's condition for every dialogue of a split (Ray Data; tide/generate).

    settings  generate.* that shape the replies (sampling, split, limit, backend, weights), model, system prompt
    outputs   generate.output_dir/<condition>/part-*.parquet
Reads the train stage's weights when generate.adapter_dir (or merged_dir) is that stage's output; weights
trained elsewhere are an input path like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tide.config import ClusterConfig, GenerateConfig, ModelConfig, PromptConfig, to_plain
from tide.core.domain import ADAPTER_DIR, FINETUNED, MERGED_DIR
from tide.stages.contract import Stage

# How generation runs, not what it writes: left out of the fingerprint.
GENERATE_EXECUTION = ("concurrency", "cpus_per_actor", "gpus_per_actor", "shard_rows", "max_failures",
                      "gpu_memory_utilization")


@dataclass(frozen=True)
class GenerateStage(Stage):
    generate: GenerateConfig
    model: ModelConfig
    prompt: PromptConfig
    cluster: ClusterConfig
    data_dir: str
    run_dir: str
    name = "generate"

    @classmethod
    def from_config(cls, config) -> "GenerateStage":
        return cls(config.generate, config.model, config.prompt, config.cluster, config.data.artifact_dir,
                   config.run.dir)

    def weights(self) -> str | None:
        """The fine-tuned weights it loads (None: zero-shot only)."""
        if FINETUNED not in self.generate.conditions:
            return None
        return self.generate.merged_dir or self.generate.adapter_dir

    def settings(self) -> dict:
        plain = to_plain(self.generate)
        return {"generate": {key: value for key, value in plain.items() if key not in GENERATE_EXECUTION},
                "model": to_plain(self.model), "system_prompt": self.prompt.system}

    def inputs(self) -> dict[str, str]:
        inputs = {"data": self.data_dir}
        if self.weights() is not None:
            inputs["weights"] = self.weights()
        return inputs

    def outputs(self) -> dict[str, str]:
        return {condition: str(Path(self.generate.output_dir) / condition) for condition in self.generate.conditions}

    def after(self) -> tuple[str, ...]:
        trained_here = {str(Path(self.run_dir) / ADAPTER_DIR), str(Path(self.run_dir) / MERGED_DIR)}
        weights = self.weights()
        return ("data", "train") if weights is not None and str(Path(weights)) in trained_here else ("data",)

    def run(self, tracker) -> dict:
        from tide.generate.pipeline import generate
        from tide.stages.cluster import init_ray
        from tide.track.keys import generation_keys

        init_ray(self.cluster)
        results = generate(self.generate, self.model, self.prompt, self.data_dir, self.run_dir)
        tracker.log(generation_keys(results))
        return results

    def log_complete(self, result: dict, tracker) -> None:
        from tide.track.keys import generation_keys

        tracker.log(generation_keys(result))

    def describe(self, result: dict) -> str:
        return ", ".join(f"{r['generated']} new rows of {r['rows']}" for r in result.values())
