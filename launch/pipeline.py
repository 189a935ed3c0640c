"""One configuration end to end: data -> train -> generate -> evaluate, in one run directory, one W&B run.

    python -m launch.pipeline                                    # tiny model, fine-tuned, embedded defaults
    python -m launch.pipeline pipeline.condition=zero_shot       # no training: the base model's replies
    python -m launch.pipeline experiment=smoke model=tiny run.name=try1
    python -m launch.pipeline train.learning_rate=1e-3 pipeline.force=true   # replace this run.dir's results

Each stage is skipped when its output is complete for the same settings (run.dir/stages/<stage>.json
records the fingerprint), so rerunning after a crash resumes where it stopped; a changed setting reruns
the stage it shapes and those after it. A run.dir holding another setting's results is refused (use
another run.name, or pipeline.force=true). `python -m launch.data/train/generate/evaluate` run one stage
each through the same runner. Prints each stage's status and the condition's mean metrics; writes
run.dir/pipeline.json (tide/stages, docs/architecture.md).
"""

from __future__ import annotations

from launch.common import stage_main


def format_output(result: dict) -> str:
    from tide.stages import format_result

    return format_result(result)


main = stage_main("launch.pipeline", None, format_output)


if __name__ == "__main__":
    main()
