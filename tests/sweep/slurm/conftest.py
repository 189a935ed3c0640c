"""The local two-node Slurm every test here runs against (tests/sweep/slurm/local_slurm.py), started once
for the module and stopped after it; skipped, with the reason, only where Slurm cannot run here."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.sweep.slurm.local_slurm import LocalSlurm, missing_programs


@pytest.fixture(scope="session")
def local_slurm():
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing): apt-get install -y "
                    "--no-install-recommends slurmctld slurmd slurm-client munge (.ci/run does)")
    if os.geteuid() != 0:
        pytest.skip("the local Slurm runs slurmd and munged as root, and this is not root")
    root = Path(tempfile.mkdtemp(prefix="tide-slurm-", dir="/tmp"))
    cluster = LocalSlurm(root).start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
