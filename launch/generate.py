"""The generation stage: a reply from each model condition for every dialogue of a split.

    python -m launch.generate                                        # the fine-tuned run's replies, test split
    python -m launch.generate pipeline.condition=zero_shot            # no training needed
    python -m launch.generate generate.sampling.do_sample=false       # greedy
    python -m launch.generate generate=vllm cluster=single_node_gpu   # vLLM, one GPU per actor

Runs through the stage runner (tide/stages) like the pipeline: the run's condition (pipeline.condition)
only, after the earlier stages it reads from (data; for finetuned, train when the adapter is this run's).
Reads the data artifact (data.artifact_dir) and, for finetuned, the adapter in run.dir/adapter; writes
run.dir/generations/<condition>/*.parquet (docs/artifacts.md). A rerun generates only the missing rows.
"""

from __future__ import annotations

from launch.common import stage_main


def format_summary(summary: dict) -> str:
    lines = [f"  {'condition':<11}{'rows':>6}{'new':>6}{'errors':>8}{'rows/s':>8}{'reply tok':>11}  finish"]
    for condition, result in summary.items():
        finish = ", ".join(f"{reason} {count}" for reason, count in sorted(result["finish_reasons"].items()))
        lines.append(f"  {condition:<11}{result['rows']:>6}{result['generated']:>6}{result['errors']:>8}"
                     f"{result['rows_per_s']:>8.2f}{result['mean_reply_tokens']:>11.1f}  {finish}")
    lines += [f"  {condition}: {result['dir']}" for condition, result in summary.items()]
    return "\n".join(lines)


def format_output(result: dict) -> str:
    from tide.stages import read_record

    return "Generations\n" + format_summary(read_record(result["run_dir"], "generate")["result"])


main = stage_main("launch.generate", "generate", format_output)


if __name__ == "__main__":
    main()
