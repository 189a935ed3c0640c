"""Experiment tracking (W&B): one run per job from the process that owns it, secrets never logged."""

from tide.track.run import TrackedRun, check_logger, override_params, start_run, strip_secrets

__all__ = ["TrackedRun", "check_logger", "override_params", "start_run", "strip_secrets"]
