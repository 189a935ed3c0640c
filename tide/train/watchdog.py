"""Stop a run that has gone wrong, with a message that says what happened and when.

NaN or infinite loss stops at once. Divergence: the smoothed loss stays above `divergence_factor`
times its best value for `patience` steps in a row (one spike is not a divergence).
"""

from __future__ import annotations

import math

SMOOTHING = 0.9  # exponential moving average of the step loss


class LossWatchdog:
    def __init__(self, divergence_factor: float, patience: int):
        # train.watchdog's bounds (factor > 1, patience >= 1) are checked when the config is built.
        self.factor, self.patience = float(divergence_factor), int(patience)
        self.smoothed = self.best = None
        self.bad_steps = 0

    def check(self, step: int, loss: float) -> str | None:
        """None while training is healthy, else the reason to stop."""
        if not math.isfinite(loss):
            return f"loss is {loss} at step {step}: training stopped (lower train.learning_rate or check the data)"
        self.smoothed = loss if self.smoothed is None else SMOOTHING * self.smoothed + (1 - SMOOTHING) * loss
        self.best = self.smoothed if self.best is None else min(self.best, self.smoothed)
        self.bad_steps = self.bad_steps + 1 if self.smoothed > self.factor * self.best else 0
        if self.bad_steps >= self.patience:
            return (f"loss diverged at step {step}: smoothed loss {self.smoothed:.4g} has been above "
                    f"{self.factor:g} x its best ({self.best:.4g}) for {self.patience} steps; training stopped "
                    "(lower train.learning_rate, or raise train.watchdog.divergence_factor)")
        return None
