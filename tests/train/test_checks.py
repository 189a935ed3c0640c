"""Bad configuration fails before any work starts, with a message naming the option."""

import os
import subprocess
import sys

import pytest

from tests.configs import config_for
from tide.config import ConfigError, with_options
from tide.core.runtime import PROJECT_ROOT
from tide.train.checks import check_cluster, check_config
from tide.train.job import TrainingJob


def job_for(train_config, tmp_path, *overrides) -> TrainingJob:
    return TrainingJob.from_config(train_config(tmp_path, *overrides))


@pytest.mark.parametrize("overrides,message", [
    (["train=qlora"], r"train.quantize_4bit \(train=qlora\) needs GPUs"),
    (["cluster=multi_node"], r"cluster.storage_path is not set"),
    (["train.lr_scheduler=sawtooth"], r"train.lr_scheduler='sawtooth': expected one of .*cosine"),
    (["train.lora.target_modules=[q_proj,qkv_proj]"], r"\['qkv_proj'\] are not modules of tiny"),
    (["deepspeed=zero2", "+deepspeed.config_overrides.zero_optimization.bogus=1"], r"deepspeed=.*bogus"),
])
def test_bad_options_are_refused_by_name(train_config, tmp_path, monkeypatch, overrides, message):
    monkeypatch.delenv("TIDE_SHARED_STORAGE", raising=False)
    with pytest.raises(ConfigError, match=message):
        check_config(job_for(train_config, tmp_path, *overrides))


# Values no training can use are refused when the config is built (tide/config/schema.py), before
# check_config or any worker runs, in one line naming the option.
@pytest.mark.parametrize("overrides,message", [
    (["train.lora.r=0"], r"train.lora.r: must be >= 1, got 0"),
    (["train.lora.r=-4"], r"train.lora.r: must be >= 1, got -4"),
    (["train.per_device_batch_size=0"], r"train.per_device_batch_size: must be >= 1, got 0"),
    (["deepspeed.offload_param=true"], r"deepspeed.offload_param: needs stage=3"),
])
def test_impossible_values_are_refused_when_the_config_is_built(train_config, tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train_config(tmp_path, *overrides)


def test_missing_data_artifact_says_how_to_make_it(train_config, tmp_path):
    with pytest.raises(ConfigError, match=r"data.artifact_dir=.*nowhere.*python -m launch.data"):
        check_config(job_for(train_config, tmp_path, f"data.artifact_dir={tmp_path / 'nowhere'}"))


def test_the_default_small_config_passes(train_config, tmp_path):
    check_config(job_for(train_config, tmp_path))


def cluster_with(**options):
    return with_options(config_for().cluster, options, path="cluster")


def test_more_workers_than_the_cluster_holds():
    cluster = cluster_with(num_workers=3, cpus_per_worker=1, gpus_per_worker=0, use_gpu=False, storage_path="/x")
    with pytest.raises(ConfigError, match=r"cluster.num_workers=3 x cluster.cpus_per_worker=1 needs 3 CPUs .* has 2"):
        check_cluster(cluster, {"CPU": 2.0}, alive_nodes=1)
    check_cluster(with_options(cluster, {"cpus_per_worker": 0.5}), {"CPU": 2.0}, alive_nodes=1)
    gpus = with_options(cluster, {"num_workers": 2, "use_gpu": True, "gpus_per_worker": 1})
    with pytest.raises(ConfigError, match=r"needs 2 GPUs but the Ray cluster has 0"):
        check_cluster(gpus, {"CPU": 8.0}, alive_nodes=1)


def test_multi_node_storage_must_exist(tmp_path):
    cluster = cluster_with(num_workers=2, cpus_per_worker=1, gpus_per_worker=0, use_gpu=False,
                           storage_path=str(tmp_path / "not-mounted"))
    with pytest.raises(ConfigError, match=r"cluster.storage_path=.*not-mounted: a 2-node cluster"):
        check_cluster(cluster, {"CPU": 8.0}, alive_nodes=2)
    check_cluster(with_options(cluster, {"storage_path": "s3://bucket/runs"}), {"CPU": 8.0}, alive_nodes=2)
    check_cluster(with_options(cluster, {"storage_path": str(tmp_path)}), {"CPU": 8.0}, alive_nodes=2)


def test_unknown_preset_fails_in_hydra_before_any_work(tmp_path):
    env = {**os.environ, "TIDE_OUTPUTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "launch.train", "model=gpt5"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Could not find 'model/gpt5'" in done.stderr and "Available options" in done.stderr
    assert not (tmp_path / "ray").exists() and not (tmp_path / "runs").exists()
