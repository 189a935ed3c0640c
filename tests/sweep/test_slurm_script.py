"""The Slurm job's script and the checks before it is submitted, without a Slurm (tests/sweep/slurm runs
them against a real one): the script carries the config and no secret and is valid bash; storage that
the nodes cannot see and a missing token are refused in one line."""

import subprocess
from pathlib import Path

import pytest

from tide.config.schema import SlurmConfig
from tide.sweep import slurm_checks
from tide.sweep.cluster import ClusterError
from tide.sweep.slurm_checks import check_shared_storage, require_token
from tide.sweep.slurm_script import SlurmJob, render


def slurm(**changes) -> SlurmConfig:
    values = dict(partition="gpu", nodes=4, cpus_per_node=32, gpus_per_node=8, time_limit="1-00:00:00",
                  account="lab", job_name="tide-sweep", extra_sbatch=("--mem=0", "--constraint=a100"),
                  modules=("cuda/12.4",), venv="/shared/tide/.venv", storage="/shared/tide/outputs",
                  node_resources={"trial_slot": 1}, join_timeout_s=300)
    return SlurmConfig(**{**values, **changes})


JOB = SlurmJob(spec=Path("/shared/tide/sweeps/paper.yaml"), overrides=("cluster=slurm", "seed=1"), trial_fn=None,
               project=Path("/shared/tide"), log="/shared/tide/outputs/slurm/tide-sweep-%j.out",
               results="/shared/tide/outputs/sweeps/paper")


def test_the_script_carries_the_config(monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "s3cret-token")
    script = render(slurm(), JOB)
    for line in ("#SBATCH --nodes=4", "#SBATCH --cpus-per-task=32", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --time=1-00:00:00", "#SBATCH --partition=gpu", "#SBATCH --account=lab", "#SBATCH --mem=0",
                 "#SBATCH --constraint=a100", "#SBATCH --output=/shared/tide/outputs/slurm/tide-sweep-%j.out",
                 "module load cuda/12.4", "source /shared/tide/.venv/bin/activate", "cd /shared/tide",
                 "export TIDE_OUTPUTS=/shared/tide/outputs TIDE_SLURM_JOB=$SLURM_JOB_ID", "export RAY_AUTH_MODE=token",
                 "RAY_ADDRESS=$address /shared/tide/.venv/bin/python -m launch.sweep /shared/tide/sweeps/paper.yaml "
                 "cluster=slurm seed=1 &"):
        assert line in script.splitlines(), line
    assert "--resources '{\"trial_slot\":1}'" in script and "ray stop" not in script.replace("`ray stop`", "")
    assert "s3cret-token" not in script and "RAY_AUTH_TOKEN=" not in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0  # valid bash


def test_optional_lines_are_left_out_and_minutes_are_a_time_limit():
    script = render(slurm(partition=None, account=None, gpus_per_node=0, extra_sbatch=(), modules=(), venv=None,
                          node_resources=None, time_limit=30), JOB)
    assert "--partition" not in script and "--account" not in script and "--gpus-per-node" not in script
    assert "#SBATCH --time=30" in script and "--resources" not in script and "module load" not in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_a_local_filesystem_is_shared_only_when_every_node_is_this_host(tmp_path, monkeypatch):
    monkeypatch.setattr(slurm_checks, "filesystem_type", lambda path: "ext4")
    check_shared_storage(str(tmp_path), ["localhost"])
    with pytest.raises(ClusterError, match=rf"^cluster.slurm.storage \(TIDE_OUTPUTS\)={tmp_path}: a local ext4 "
                                           r"filesystem the nodes \(gpu01, gpu02\) do not see; use a shared mount"):
        check_shared_storage(str(tmp_path), ["gpu01", "gpu02"])
    monkeypatch.setattr(slurm_checks, "filesystem_type", lambda path: "nfs4")
    check_shared_storage(str(tmp_path), ["gpu01", "gpu02"])
    with pytest.raises(ClusterError, match="not an existing directory here"):
        check_shared_storage(str(tmp_path / "missing"), ["localhost"])


def test_the_token_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    with pytest.raises(ClusterError, match="^cluster=slurm: RAY_AUTH_TOKEN is not set"):
        require_token()
    (tmp_path / "token").write_text("x")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "token"))
    require_token()


def test_an_automounted_nfs_counts_as_what_shadows_the_autofs_entry(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("overlay / overlay rw 0 0\nauto.home /home autofs rw 0 0\n"
                      "nas:/export/home /home nfs4 rw 0 0\n/dev/sda1 /home/scratch ext4 rw 0 0\n")
    assert slurm_checks.filesystem_type(Path("/home/alice/tide"), mounts) == "nfs4"
    assert slurm_checks.filesystem_type(Path("/home/scratch/x"), mounts) == "ext4"
    assert slurm_checks.filesystem_type(Path("/opt"), mounts) == "overlay"
