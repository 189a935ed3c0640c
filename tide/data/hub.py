"""Fetch the gated `yenopoya/TIDE` snapshot from the Hugging Face Hub.

The token comes only from the environment (the variable named by data.hub.token_env) and is never
written anywhere. Offline (the embedded default) only an already-downloaded snapshot is used.
"""

from __future__ import annotations

import os
from pathlib import Path

from tide.config import HubConfig

TIDE_PAGE = "https://huggingface.co/datasets/{repo_id}"


class HubAccessError(RuntimeError):
    pass


def fetch_tide_snapshot(hub: HubConfig, offline: bool | None = None) -> Path:
    """Download (or, offline, find) the dataset snapshot of `hub` (data.hub) and return its local directory.

    `offline` None: offline when HF_HUB_OFFLINE=1 (what runtime.offline sets).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError

    repo_id, cache_dir, token_env = hub.repo_id, hub.cache_dir, hub.token_env
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") == "1"
    token = (os.environ.get(token_env) or None) if token_env else None  # token_env null: no token
    page = TIDE_PAGE.format(repo_id=repo_id)
    if not offline and token is None:
        raise HubAccessError(
            f"data.hub: {repo_id} is gated: accept its terms at {page}, then put a read token in the "
            f"environment variable {token_env} (data.hub.token_env names the variable)")
    try:
        path = snapshot_download(repo_id, repo_type="dataset", revision=hub.revision, cache_dir=str(cache_dir),
                                 token=token, local_files_only=offline)
    except LocalEntryNotFoundError as error:
        raise HubAccessError(
            f"data.hub: no local snapshot of {repo_id} in {cache_dir} and the run is offline; run once with "
            f"runtime.offline=false and {token_env} set, or point data.dir at a local copy") from error
    except GatedRepoError as error:
        raise HubAccessError(f"data.hub: access to {repo_id} refused; accept its terms at {page} "
                             f"with the account whose token is in {token_env}") from error
    except HfHubHTTPError as error:
        raise HubAccessError(f"data.hub: download of {repo_id} failed: {error}") from error
    return Path(path)
