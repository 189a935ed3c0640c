"""The generation benchmark runs all three ways on the same rows and reports consistent ratios."""

import pytest

from tests.configs import config_for
from tide.bench.generation import bench_generation, format_bench

# Small and fast: a few new tokens, batches and shards of a few rows.
FAST = ["generate.sampling.max_new_tokens=6", "generate.batch_size=4", "generate.shard_rows=4",
        "generate.sampling.do_sample=false"]


@pytest.mark.slow
def test_bench_reports_rates_and_ratios(ray_local, data_artifact, tiny_varied_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))  # run.dir and generate.output_dir: nothing is written there
    config = config_for("data=tide", f"data.artifact_dir={data_artifact}", f"model.path={tiny_varied_model_dir}",
                        "run.name=bench", *FAST)
    result = bench_generation(config.generate, config.model, config.prompt, config.data.artifact_dir, config.run.dir,
                              rows=8)
    rates = result["rows_per_s"]
    assert result["rows"] == 8 and set(rates) == {"plain_loop", "ray_1_actor", "ray_2_actors"}
    assert all(rate > 0 for rate in rates.values())
    assert result["ratio_2_vs_1_actors"] == pytest.approx(rates["ray_2_actors"] / rates["ray_1_actor"])
    assert "2 vs 1 actors" in format_bench(result) and "rows/s" in format_bench(result)
    assert not any(tmp_path.rglob("*.parquet"))
