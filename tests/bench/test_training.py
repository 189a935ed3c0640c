"""A benchmark training is the composed job with a few options changed, checked like a command line's."""

import pytest

from tests.configs import config_for
from tide.bench.cpu import cpu_training_job
from tide.bench.training import NEVER, benchmark_job
from tide.config import ConfigError
from tide.train.job import TrainingJob


def test_a_benchmark_training_validates_and_saves_nothing_inside_the_timed_steps(tmp_path):
    job = TrainingJob.from_config(config_for())
    short = benchmark_job(job, 10, "w1-r0", tmp_path)
    train = short.train
    assert train.max_steps == 10 and train.eval_every_steps == train.save_every_steps == NEVER
    assert train.eval_max_batches == 1 and not train.resume and not train.merge
    assert short.cluster.storage_path == str(tmp_path / "ray")
    assert (short.run_name, short.run_dir) == ("bench-w1-r0", str(tmp_path / "runs" / "w1-r0"))
    assert (short.model, short.prompt, short.deepspeed, short.data_dir, short.seed) == (
        job.model, job.prompt, job.deepspeed, job.data_dir, job.seed)
    assert job.train.max_steps != 10  # the composed job itself is unchanged (frozen)


def test_a_cpu_training_has_one_cpu_per_worker_and_no_gpu(tmp_path):
    job = cpu_training_job(TrainingJob.from_config(config_for()), 2, 5, "w2-r0", tmp_path)
    assert (job.cluster.num_workers, job.cluster.cpus_per_worker, job.cluster.use_gpu,
            job.cluster.gpus_per_worker) == (2, 1, False, 0)
    assert job.train.max_steps == 5


def test_a_bad_option_names_itself(tmp_path):
    with pytest.raises(ConfigError, match="cluster.num_workers"):
        cpu_training_job(TrainingJob.from_config(config_for()), 0, 5, "w0", tmp_path)
