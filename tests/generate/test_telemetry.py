import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.generate.pipeline import generation_telemetry


def test_generation_summary_telemetry_on_cpu():
    generate = with_options(config_for().generate, {"gpus_per_actor": 0, "concurrency": 2})
    telemetry = generation_telemetry(0.5, generate, tokens=3000, seconds=1.5)
    assert telemetry["tokens_per_s"] == 2000 and telemetry["actors"] == 2
    assert telemetry["flops_per_second_per_device"] == pytest.approx(2 * 0.5e9 * 2000)
    assert telemetry["mfu"] is None and "CPU" in telemetry["mfu_note"]
    assert telemetry["device"].startswith("cpu")
