"""Joining the run's Ray cluster from a stage that uses Ray Data (generation, large evaluations)."""

from __future__ import annotations

from tide.config import ClusterConfig


def init_ray(cluster: ClusterConfig) -> None:
    """Connect to cluster.address (null: start a local Ray in this process) unless already connected."""
    import ray

    if ray.is_initialized():
        return
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the stage logs its own progress
