"""Generation throughput (part of `make bench`): Ray Data with 1 vs 2 actors, and vs a plain loop.

    python -m launch.bench_generate                       # 64 test dialogues, the tiny model
    python -m launch.bench_generate generate.limit=128 generate.sampling.max_new_tokens=64

Needs the data artifact and the model (`make demo` builds both for the tiny model).
"""

from __future__ import annotations

import hydra

from launch.common import CONFIG_PATH, setup_run
from launch.errors import guarded, hydra_command


@hydra.main(config_path=CONFIG_PATH, config_name="config", version_base="1.3")
@guarded("launch.bench_generate")
def hydra_main(cfg) -> None:
    from tide.bench.generation import bench_generation, format_bench
    from tide.stages.cluster import init_ray

    config = setup_run(cfg, "launch.bench_generate")
    init_ray(config.cluster)
    print(format_bench(bench_generation(config.generate, config.model, config.prompt, config.data.artifact_dir,
                                        config.run.dir, rows=config.generate.limit or 64)))


main = hydra_command("launch.bench_generate", hydra_main)


if __name__ == "__main__":
    main()
