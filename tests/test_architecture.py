"""The shape the code keeps (docs/architecture.md), measured on the source by tests/architecture.py."""

import pytest

from tests.architecture import figures, imports, modules

MAX_CONFIG_INDEXING = 15  # was 195 before the typed slices (issue 18)


@pytest.fixture(scope="module")
def measured() -> dict:
    return figures()


def test_the_whole_config_is_indexed_by_group_name_almost_nowhere(measured):
    assert len(measured["config_indexing_outside_tide_config"]) <= MAX_CONFIG_INDEXING, \
        measured["config_indexing_outside_tide_config"]
    assert measured["functions_reading_3_groups"] == []


def test_bench_is_the_top_layer_and_there_is_no_import_cycle(measured):
    assert measured["bench_imports_from_below"] == []
    assert measured["import_cycles"] == []


def test_functions_and_classes_stay_short(measured):
    assert measured["functions_over_60_lines"] == []
    assert measured["classes_over_200_lines"] == []


def test_the_bottom_layer_imports_nothing_above_it():
    graph = imports(modules())
    for module, targets in graph.items():
        if module.startswith("tide.core"):
            assert all(t.startswith("tide.core") for t in targets), (module, targets)
        if module.startswith("tide.config"):
            assert all(t.startswith(("tide.core", "tide.config")) for t in targets), (module, targets)


def test_the_measure_sees_what_it_counts(tmp_path):
    """The checks above would fail on code of the old shape (a sample of it, written here)."""
    package = tmp_path / "tide" / "train"
    package.mkdir(parents=True)
    (tmp_path / "tide" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import tide.train.b\nimport tide.bench.flops\n"
                                  "def f(config):\n    return config['train'], config['model'], config.get('data')\n")
    (package / "b.py").write_text("from tide.train import a\n" + "def g():\n" + "    x = 1\n" * 70)
    (tmp_path / "tide" / "bench").mkdir()
    (tmp_path / "tide" / "bench" / "__init__.py").write_text("")
    (tmp_path / "tide" / "bench" / "flops.py").write_text("")
    found = figures(tmp_path)
    assert found["config_indexing"] == 3 and found["functions_reading_3_groups"] == ["tide.train.a.f"]
    assert found["bench_imports_from_below"] == ["tide.train.a -> tide.bench.flops"]
    assert found["import_cycles"] == [["tide.train.a", "tide.train.b"]]
    assert found["functions_over_60_lines"] == ["tide.train.b.g (71)"]


def test_the_architecture_page_draws_the_real_imports_and_none_points_up():
    from pathlib import Path

    from tests.architecture import ROOT, mermaid, upward_edges

    page = (Path(ROOT) / "docs" / "architecture.md").read_text()
    drawn = page.split("<!-- imports:begin -->\n", 1)[1].split("\n<!-- imports:end -->", 1)[0]
    assert drawn == mermaid(), "docs/architecture.md's picture is stale: paste in tests.architecture.mermaid()"
    assert upward_edges() == []
