"""Process environment for a run: the embedded default touches no network.

Hugging Face libraries read their offline switches when they are first imported, so
`apply_runtime_env` must run before anything imports transformers, datasets or wandb.
"""

from __future__ import annotations

import os
from pathlib import Path

# The repository root: where conf/ lives. Relative output paths are taken from here,
# never from the current directory.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = PROJECT_ROOT / "conf"

HF_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def _register_conf_resolvers() -> None:
    """conf/ names shared outputs with `${settings_digest:...}` (tide/core/settings.py); whoever finds conf/
    through CONF_DIR (the launch commands, tide.config, the sweep planner, tests) can compose it."""
    from tide.core.settings import register_resolvers

    register_resolvers()


_register_conf_resolvers()


def apply_runtime_env(offline: bool = True, ray_usage_stats: bool = False, wandb_mode: str = "offline") -> dict:
    """Set the environment variables that keep a run hermetic; returns what was set."""
    values = {name: "1" if offline else "0" for name in HF_OFFLINE_VARS}
    values["RAY_USAGE_STATS_ENABLED"] = "1" if ray_usage_stats else "0"
    values["WANDB_MODE"] = wandb_mode
    # Tokenizers' thread pool forks badly under Ray workers and Hydra multirun.
    values["TOKENIZERS_PARALLELISM"] = "false"
    os.environ.update(values)
    return values


def resolve_path(path: str | os.PathLike) -> Path:
    """An absolute path; relative paths are taken from the project root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def match_torch_threads_to_ray() -> int:
    """Inside a Ray worker or actor: torch's intra-op threads = the CPUs Ray assigned it (at least 1).

    Workers inherit the driver's OMP_NUM_THREADS (or torch's default of every core), so two workers of
    1 CPU each on a 2-core node would otherwise run 2 x 2 threads and slow each other down. Outside
    Ray, the thread count is left alone. Returns the thread count in effect.
    """
    import ray
    import torch

    context = ray.get_runtime_context() if ray.is_initialized() else None
    if context is not None and context.worker.mode == ray.WORKER_MODE:  # a driver has no assigned resources
        cpus = context.get_assigned_resources().get("CPU")
        if cpus:
            torch.set_num_threads(max(1, int(cpus)))
    return torch.get_num_threads()
