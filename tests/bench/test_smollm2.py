"""The demo-model benchmark's wall-time row (tide/bench/smollm2.py); its timed sides run in `make bench`."""

import json

from tide.bench.smollm2 import TARGETS, demo_wall_time


def test_demo_wall_time_reads_the_last_demo_summary(tmp_path):
    (skipped,) = demo_wall_time(tmp_path)
    assert skipped["skipped"].startswith("no ") and "make demo" in skipped["skipped"]
    (tmp_path / "demo").mkdir()
    stages = {"data": {"wall_s": 50.0, "cpu_s": 60.0}}
    (tmp_path / "demo" / "summary.json").write_text(json.dumps({"seconds": 1000.0, "stages": stages}))
    (result,) = demo_wall_time(tmp_path)
    assert result["median"] == 1000.0 and result["met"] is False  # over the 900 s budget
    assert result["target"] == TARGETS["smollm2_demo_wall"] and result["details"]["stages"] == stages
