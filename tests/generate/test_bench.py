"""The generation benchmark runs all three ways on the same rows and reports consistent ratios."""

import pytest

from tide.generate.bench import bench_generation, format_bench


@pytest.mark.slow
def test_bench_reports_rates_and_ratios(ray_local, make_config):
    result = bench_generation(make_config("bench"), rows=8)
    rates = result["rows_per_s"]
    assert result["rows"] == 8 and set(rates) == {"plain_loop", "ray_1_actor", "ray_2_actors"}
    assert all(rate > 0 for rate in rates.values())
    assert result["ratio_2_vs_1_actors"] == pytest.approx(rates["ray_2_actors"] / rates["ray_1_actor"])
    assert "2 vs 1 actors" in format_bench(result) and "rows/s" in format_bench(result)
