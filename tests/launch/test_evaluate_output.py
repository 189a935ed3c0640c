"""launch.evaluate's printout of a summary whose factor figures are undefined (few replies: null in summary.json)."""

from launch.evaluate import _two


def test_an_undefined_factor_figure_prints_as_n_a():
    # A complete 6-reply evaluation once ended in a TypeError traceback while printing (issue 23's probes).
    assert _two(None) == "n/a" and _two(0.456) == "0.46"
