import json

import pytest

from tide.bench.results import format_table, measured, skipped, target_met, write_results

AT_LEAST = {"op": ">=", "value": 1.6}
AT_MOST = {"op": "<=", "value": 1.1}


def test_target_comparisons():
    assert target_met(1.6, AT_LEAST) and not target_met(1.59, AT_LEAST)
    assert target_met(1.1, AT_MOST) and not target_met(1.11, AT_MOST)
    assert target_met(0.5, None) is None
    with pytest.raises(ValueError, match="op"):
        target_met(1.0, {"op": ">", "value": 1})


def test_measured_takes_the_median_and_spread_and_judges_the_median():
    result = measured("ddp", "DDP", [1.7, 1.2, 1.65], "x", "cpu (2 cores)", AT_LEAST)
    assert (result["median"], result["min"], result["max"]) == (1.65, 1.2, 1.7)
    assert result["met"] is True
    assert measured("ddp", "DDP", [1.5, 1.7, 1.55], "x", "cpu", AT_LEAST)["met"] is False
    with pytest.raises(ValueError, match="no samples"):
        measured("ddp", "DDP", [], "x", "cpu")


def test_table_says_plainly_what_was_missed_and_skipped():
    results = [measured("overhead", "Ray Train overhead", [1.02, 1.05], "x", "cpu (2 cores)", AT_MOST),
               measured("ddp", "DDP scaling", [1.3, 1.4, 1.35], "x", "cpu (2 cores)", AT_LEAST),
               measured("pad", "Padding", [0.87], "", "cpu (2 cores)"),
               skipped("mfu", "LoRA MFU", "no CUDA device", {"op": ">=", "value": 0.4}, unit="")]
    lines = format_table(results).splitlines()
    overhead, ddp, pad, mfu = (next(line for line in lines if line.startswith(label))
                               for label in ("Ray Train overhead", "DDP scaling", "Padding", "LoRA MFU"))
    assert "1.04x" in overhead and "<= 1.10x" in overhead and overhead.endswith("met")
    assert "1.35x" in ddp and "1.30x-1.40x, n=3" in ddp and ddp.endswith("MISSED")
    assert "0.87" in pad and pad.endswith("(no target)")
    assert ">= 0.4" in mfu and mfu.endswith("skipped: no CUDA device")
    assert lines[-1] == "targets missed: DDP scaling"


def test_table_when_every_target_is_met():
    text = format_table([measured("ddp", "DDP scaling", [1.9], "x", "cpu", AT_LEAST)])
    assert text.splitlines()[-1] == "every measured target met"


def test_json_holds_the_table_and_nothing_half_written(tmp_path):
    results = [measured("ddp", "DDP scaling", [1.9, 1.7], "x", "cpu", AT_LEAST, {"runs": [1, 2]})]
    path = write_results(tmp_path / "bench" / "bench.json", results, {"seconds": 3.0})
    written = json.loads(path.read_text())
    assert written["seconds"] == 3.0 and written["results"] == results
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]
