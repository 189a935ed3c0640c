"""The generation stage: a reply from each model condition for every dialogue of a split.

    python -m launch.generate                                        # zero_shot + finetuned, test split
    python -m launch.generate generate.conditions=[zero_shot]         # no training needed
    python -m launch.generate generate.sampling.do_sample=false       # greedy
    python -m launch.generate generate=vllm cluster=single_node_gpu   # vLLM, one GPU per actor

Reads the data artifact (data.artifact_dir) and, for finetuned, the adapter in run.dir/adapter; writes
run.dir/generations/<condition>/*.parquet (docs/artifacts.md). A rerun generates only the missing rows.
"""

from __future__ import annotations

import hydra

from launch.common import CONFIG_PATH, setup_run
from tide.stages.cluster import init_ray  # noqa: F401  (launch.bench_generate uses it from here)


def run(config: dict) -> dict:
    """The stage on a plain dict: starts (or joins) Ray, generates, returns a summary per condition."""
    from tide.generate.pipeline import generate

    init_ray(config["cluster"])
    return generate(config)


def format_summary(summary: dict) -> str:
    lines = [f"  {'condition':<11}{'rows':>6}{'new':>6}{'errors':>8}{'rows/s':>8}{'reply tok':>11}  finish"]
    for condition, result in summary.items():
        finish = ", ".join(f"{reason} {count}" for reason, count in sorted(result["finish_reasons"].items()))
        lines.append(f"  {condition:<11}{result['rows']:>6}{result['generated']:>6}{result['errors']:>8}"
                     f"{result['rows_per_s']:>8.2f}{result['mean_reply_tokens']:>11.1f}  {finish}")
    lines += [f"  {condition}: {result['dir']}" for condition, result in summary.items()]
    return "\n".join(lines)


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
def main(cfg) -> None:
    config = setup_run(cfg)
    summary = run(config)
    print("Generations")
    print(format_summary(summary))


if __name__ == "__main__":
    main()
