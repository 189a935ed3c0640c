import math

import pytest

from tests.configs import config_for
from tide.config import ConfigError, with_options
from tide.train.watchdog import LossWatchdog


def test_nan_stops_at_once():
    watchdog = LossWatchdog(divergence_factor=4, patience=3)
    assert watchdog.check(1, 2.0) is None
    assert "loss is nan at step 2" in watchdog.check(2, math.nan)


def test_a_spike_is_not_a_divergence_but_a_sustained_rise_is():
    watchdog = LossWatchdog(divergence_factor=2, patience=3)
    for step, loss in enumerate([4.0, 3.0, 2.0, 1.0, 1.0, 30.0, 1.0, 1.0], start=1):
        assert watchdog.check(step, loss) is None
    reasons = [watchdog.check(step, 50.0) for step in range(9, 20)]
    stopped = [reason for reason in reasons if reason]
    assert stopped and "loss diverged" in stopped[0] and "train.learning_rate" in stopped[0]


def test_settings_are_checked():
    # When the config is built (tide/config/schema.py), before a watchdog is made.
    train = config_for().train
    with pytest.raises(ConfigError, match=r"train.watchdog.divergence_factor: must be > 1"):
        with_options(train, {"watchdog.divergence_factor": 1.0}, path="train")
    with pytest.raises(ConfigError, match=r"train.watchdog.patience: must be >= 1"):
        with_options(train, {"watchdog.patience": 0}, path="train")
