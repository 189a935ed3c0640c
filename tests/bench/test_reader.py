"""The reader benchmark: every shape written, read in full, and timed against the nested layout."""

import pytest

from tide.bench.reader import seconds_to_read, bench_reader, write_bench_shapes
from tide.data.shapes import SHAPES


def test_every_shape_is_timed_against_nested_and_read_in_full():
    results = bench_reader(repeats=1, dialogues=100)
    assert [r["name"] for r in results] == [f"reader_{shape}" for shape in SHAPES if shape != "nested"]
    for result in results:
        assert result["target"] == {"op": "<=", "value": 2.0} and result["met"] in (True, False)
        details = result["details"]
        assert details["dialogues"] == 100 and result["samples"] == [details["seconds"][0] / details["nested_seconds"][0]]


def test_a_shape_that_reads_fewer_dialogues_fails_the_bench(tmp_path):
    roots = write_bench_shapes(tmp_path, 40)
    assert set(roots) == set(SHAPES)
    assert seconds_to_read(roots["csv"], 40) > 0
    with pytest.raises(RuntimeError, match="csv read 40 dialogues, expected 41"):
        seconds_to_read(roots["csv"], 41)
