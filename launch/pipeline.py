"""One configuration end to end: data -> train -> generate -> evaluate, in one run directory, one W&B run.

    python -m launch.pipeline                                    # tiny model, fine-tuned, embedded defaults
    python -m launch.pipeline pipeline.condition=zero_shot       # no training: the base model's replies
    python -m launch.pipeline experiment=smoke model=tiny run.name=try1
    python -m launch.pipeline train.learning_rate=1e-3 pipeline.force=true   # replace this run.dir's results

Each stage is skipped when its output is complete for the same settings (run.dir/stages/<stage>.json
records the fingerprint), so rerunning after a crash resumes where it stopped; a changed setting reruns
the stage it shapes and those after it. A run.dir holding another setting's results is refused (use
another run.name, or pipeline.force=true). Prints each stage's status and the condition's mean
metrics; writes run.dir/pipeline.json (tide/stages).
"""

from __future__ import annotations

import sys

import hydra

from launch.common import CONFIG_PATH, setup_run
from launch.evaluate import fill_judge


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
def main(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    from tide.stages import StageConflict, format_result, run_pipeline
    from tide.stages.pipeline import check_condition
    from tide.track import override_params

    config = fill_judge(setup_run(cfg))
    try:
        check_condition(config)
        result = run_pipeline(config, params=override_params(list(HydraConfig.get().overrides.task), config))
    except (StageConflict, ValueError) as error:
        print(f"launch.pipeline: {error}", file=sys.stderr)
        sys.exit(2)
    print(format_result(result))


if __name__ == "__main__":
    main()
