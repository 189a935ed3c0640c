"""The plan: resources per trial from the cluster config, how many fit at once, refusal when none can."""

import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.core.runtime import PROJECT_ROOT
from tide.sweep.overrides import compose_points
from tide.sweep.plan import PlanDoesNotFit, compose_trials, fit, format_plan, make_plan, trial_resources
from tide.sweep.spec import load_spec

LOCAL_OPTIONS = {"num_workers": 2, "use_gpu": False, "cpus_per_worker": 0.5, "gpus_per_worker": 0}
GPU_OPTIONS = {"num_workers": 2, "use_gpu": True, "cpus_per_worker": 4, "gpus_per_worker": 1}


def cluster(options: dict, **changes):
    """The cluster slice with these options (checked as on a command line)."""
    return with_options(config_for().cluster, {**options, **changes}, path="cluster")


LOCAL, GPU = cluster(LOCAL_OPTIONS), cluster(GPU_OPTIONS)


def test_trial_is_a_fractional_driver_plus_its_workers():
    local = trial_resources(LOCAL)
    assert (local.cpus, local.gpus) == (1.5, 0.0)
    gpu = trial_resources(GPU)
    assert (gpu.cpus, gpu.gpus) == (8.5, 2.0)
    assert trial_resources(cluster(GPU_OPTIONS, use_gpu=False)).gpus == 0.0


def test_two_cores_run_one_trial_at_a_time_and_gpus_bound_a_gpu_cluster():
    assert fit(trial_resources(LOCAL), {"CPU": 2, "GPU": 0}) == 1
    assert fit(trial_resources(LOCAL), {"CPU": 16}) == 10
    assert fit(trial_resources(GPU), {"CPU": 72, "GPU": 8}) == 4
    assert fit(trial_resources(GPU), {"CPU": 20, "GPU": 8}) == 2  # CPUs bind first here


def test_trial_resources_pin_trials_to_the_nodes_that_have_them():
    pinned = trial_resources(cluster(LOCAL_OPTIONS, num_workers=1, trial_resources={"trial_slot": 1}))
    assert pinned.driver_reservation() == {"cpu": 0.5, "trial_slot": 1.0}
    assert "1 trial_slot" in pinned.describe()
    assert fit(pinned, {"CPU": 16, "trial_slot": 2}) == 2  # one trial per slot, though CPUs fit 16
    with pytest.raises(PlanDoesNotFit, match="cluster.trial_resources: a trial reserves 1 trial_slot but the "
                                             "cluster has 0"):
        fit(pinned, {"CPU": 16})
    assert trial_resources(cluster(LOCAL_OPTIONS, trial_resources=None)).driver_reservation() == {"cpu": 0.5}

def test_a_trial_bigger_than_the_cluster_is_refused_with_what_it_needs():
    with pytest.raises(PlanDoesNotFit) as error:
        fit(trial_resources(GPU), {"CPU": 2, "GPU": 0})
    message = str(error.value)
    assert "needs 8.5 CPU, 2 GPU" in message and "the cluster has 2 CPU and 0 GPU" in message
    assert "cluster.num_workers" in message


def plan_of(name, clusters, tmp_path, monkeypatch):
    """The spec's plan on each of the clusters."""
    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))
    spec = load_spec(PROJECT_ROOT / "sweeps" / f"{name}.yaml")
    trial_clusters = [c.cluster for c in compose_points(spec, spec.representative_points())]
    return [make_plan(spec, trial_clusters, shape, "test") for shape in clusters]


def test_paper_grid_on_an_eight_gpu_node(tmp_path, monkeypatch):
    with pytest.raises(PlanDoesNotFit):
        plan_of("paper", [{"CPU": 96, "GPU": 8}, {"CPU": 2, "GPU": 0}], tmp_path, monkeypatch)
    [plan] = plan_of("paper", [{"CPU": 96, "GPU": 8}], tmp_path, monkeypatch)
    assert plan.num_trials == 16 and plan.concurrent == 4 and plan.resources.gpus == 2
    text = format_plan(plan)
    assert "16 trial(s)" in text and "4 trial(s) at a time" in text
    assert " 1. experiment=paper cluster.num_workers=2 model=qwen2_5_0_5b pipeline.condition=zero_shot" in text
    assert "16. experiment=paper cluster.num_workers=2 model=phi3_5_mini pipeline.condition=finetuned" in text


def test_bayes_plan_shows_the_space_and_the_count(tmp_path, monkeypatch):
    [plan] = plan_of("lora_search", [{"CPU": 32, "GPU": 4}], tmp_path, monkeypatch)
    text = format_plan(plan)
    assert plan.trials is None and plan.concurrent == 4 and "24 trial(s)" in text
    assert "train.learning_rate: log_uniform_values[2e-05, 0.001]" in text
    assert "train.epochs: int_uniform[1, 4]" in text


def test_smoke_fits_two_cores(tmp_path, monkeypatch):
    [plan] = plan_of("smoke", [{"CPU": 2, "GPU": 0}], tmp_path, monkeypatch)
    assert plan.concurrent == 1 and plan.resources.cpus == 1.5 and len(plan.trials) == 2


def test_each_trial_is_composed_with_the_run_directory_the_runner_gives_it(tmp_path, monkeypatch):
    """The planner sees a trial's config as the trial will: its own run.dir (and the paths under it), name and group."""
    from tide.sweep.results import trial_key

    monkeypatch.setenv("TIDE_OUTPUTS", str(tmp_path))
    spec = load_spec(PROJECT_ROOT / "sweeps" / "smoke.yaml")
    configs = compose_trials(spec)
    for point, config in zip(spec.grid_points(), configs):
        trial_dir = tmp_path / "sweeps" / "smoke" / "trials" / trial_key(point)
        assert config.run.dir == str(trial_dir) and config.eval.output_dir == str(trial_dir / "eval")
        assert config.run.name == f"smoke-{trial_key(point)}" and config.logger.group == "smoke"
        assert config.pipeline.condition == point["pipeline.condition"]
