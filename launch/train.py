"""The training stage: fine-tune the model on the data artifact's train split with Ray Train.

    python -m launch.train                                       # tiny model, 2 CPU workers, LoRA, DDP
    python -m launch.train deepspeed=zero3 train.max_steps=50    # ZeRO-3 (CPU: gloo)
    python -m launch.train train=full model=qwen2_5_0_5b cluster=single_node_gpu
    python -m launch.train --multirun seed=1,2                   # one run per seed, one after the other

Runs on the local Ray by default, or on the cluster named by RAY_ADDRESS / cluster.address, through the
stage runner (tide/stages): the data stage first when it is not complete, then the train stage, with the
same records, refusals and reruns as `python -m launch.pipeline`, which then reuses the adapter. Prints
the training summary and writes run.dir/adapter and run.dir/train_summary.json (docs/training.md).
"""

from __future__ import annotations

from launch.common import stage_main, stage_summary


def format_summary(summary: dict) -> str:
    per_worker = ", ".join(f"{value:,.0f}" for value in summary["tokens_per_second_per_worker"])
    memory = ", ".join(f"{value:.2f}" for value in summary["peak_memory_gb_per_worker"])
    lines = [
        f"trained {summary['method']} ({summary['precision']}, {summary['world_size']} workers, "
        f"deepspeed stage {summary['deepspeed_stage']}): {summary['steps']}/{summary['total_steps']} steps, "
        f"{summary['epochs']:.2f} epochs" + (f", resumed at step {summary['resumed_from_step']}"
                                             if summary["resumed_from_step"] else ""),
        f"  loss: train {summary['final_train_loss']:.4f} (last steps), validation {summary['final_val_loss']:.4f}",
        f"  tokens seen {summary['tokens_seen']:,}; tokens/s per worker {per_worker}; "
        f"step time {summary['step_time_s']:.3f} s; padding {summary['padding_fraction']:.1%}",
        f"  peak memory per worker (GB, {summary['peak_memory_kind']}): {memory}; "
        f"dropped as too long: {summary['dropped_truncated']['train']} train, {summary['dropped_truncated']['val']} val",
    ]
    for key in ("adapter_dir", "merged_dir", "checkpoint"):
        if summary.get(key):
            lines.append(f"  {key.replace('_dir', '')}: {summary[key]}")
    return "\n".join(lines)


def format_output(result: dict) -> str:
    from tide.stages import format_result

    return format_result(result) + "\n" + format_summary(stage_summary(result, "train"))


main = stage_main("launch.train", "train", format_output)


if __name__ == "__main__":
    main()
