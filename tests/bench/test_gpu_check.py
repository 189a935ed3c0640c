"""`make gpu-check` on a CPU: the plan and exit 0 without CUDA; each check's status, budget and table."""

import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest
import torch

from tests.configs import config_for
from tide.bench.check_runner import Check, CheckFailed, PeakDeviceMemory, format_check_table, run_check
from tide.bench.gpu_check import GPU_CHECK_BUDGET_S, gpu_checks, random_adapter
from tide.core.runtime import PROJECT_ROOT
from tide.generate.checks import check_adapter


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-GPU path")
def test_without_cuda_it_prints_what_it_would_run_and_exits_0(tmp_path):
    env = {**os.environ, "TIDE_OUTPUTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "launch.gpu_check"], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no GPU present" in done.stdout
    for check in gpu_checks():
        assert check.name in done.stdout
    assert "missing here: vllm" in done.stdout  # this CPU box has no vllm: the plan says so
    assert not (tmp_path / "bench" / "gpu.json").exists()


def fixed(results: dict):
    return lambda setup: results


def fails(setup):
    raise CheckFailed("QLoRA loss is nan\nsecond line")


def sleeps(setup):
    time.sleep(5)
    return {}


def test_each_check_gets_a_status_and_a_one_line_error():
    ok = run_check(Check("a", "returns", (), 30, fixed({"tokens_per_s": 12.5})), None, seconds_left=100)
    assert ok["status"] == "ok" and ok["results"] == {"tokens_per_s": 12.5} and ok["error"] is None
    failed = run_check(Check("b", "raises", (), 30, fails), None, seconds_left=100)
    assert failed["status"] == "failed" and failed["error"] == "CheckFailed: QLoRA loss is nan"
    missing = run_check(Check("c", "needs", ("no_such_package_tide",), 30, fixed({})), None, seconds_left=100)
    assert missing["status"] == "missing" and "no_such_package_tide" in missing["error"]
    skipped = run_check(Check("d", "late", (), 30, fixed({})), None, seconds_left=5)
    assert skipped["status"] == "skipped"
    json.dumps([ok, failed, missing, skipped])  # gpu.json takes them as they are


def test_a_check_past_its_budget_is_stopped():
    start = time.perf_counter()
    record = run_check(Check("slow", "sleeps", (), 30, sleeps), None, seconds_left=0.5, min_budget_s=0)
    assert record["status"] == "timeout" and time.perf_counter() - start < 3


def test_the_checks_fit_the_budget_and_the_table_shows_targets():
    checks = gpu_checks()
    assert [c.name for c in checks] == ["lora", "lora_hf_trainer", "lora_3b", "zero2_nccl", "qlora", "hf_generate",
                                        "ray_train_overhead", "ray_data_overhead", "vllm_vs_hf"]
    # Each budget caps one check (sized from the H200 run); the whole run's budget bounds them all together.
    assert all(0 < c.budget_s <= GPU_CHECK_BUDGET_S - 60 for c in checks)  # a minute at least for the setup
    records = [{"name": "lora", "status": "ok", "seconds": 40.0, "peak_memory_gib": 21.5, "error": None,
                "results": {"tokens_per_s": 9000.0, "mfu": 0.31}},
               {"name": "vllm_vs_hf", "status": "failed", "seconds": 90.0, "peak_memory_gib": None,
                "error": "CheckFailed: greedy replies identical for 80%", "results": {}}]
    table = format_check_table(records, "NVIDIA H200")
    assert "NVIDIA H200" in table and "21.5" in table and "mfu=0.31" in table and "identical for 80%" in table
    assert "target lora_mfu >= 0.4 (lora): 0.31 (MISSED)" in table and "vllm_vs_hf_generate >= 5.0: - (not measured)" in table


def test_peak_memory_is_none_without_cuda():
    with PeakDeviceMemory() as memory:
        pass
    assert (memory.peak_gib is None) == (not torch.cuda.is_available())


def test_the_generation_adapter_fits_its_model_and_changes_it(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    model = config_for(**{"model.path": str(tiny_model_dir), "model.hf_id": None}).model
    adapter = random_adapter(model, tmp_path / "adapter")
    assert check_adapter(str(adapter), model, str(tmp_path))["r"] == 8
    weights = load_file(adapter / "adapter_model.safetensors")
    assert any("lora_B" in key and tensor.abs().sum() > 0 for key, tensor in weights.items())


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_a_gpu_the_lora_check_runs_and_writes_gpu_json(tmp_path):
    env = {**os.environ, "TIDE_OUTPUTS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "launch.gpu_check", "--only", "lora", "--steps", "5"],
                          capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=600)
    report = json.loads((tmp_path / "bench" / "gpu.json").read_text())
    (record,) = report["checks"]
    assert done.returncode == 0 and record["status"] == "ok", done.stdout[-3000:] + done.stderr[-3000:]
    assert record["results"]["tokens_per_s"] > 0 and record["peak_memory_gib"] > 0 and report["device"]


def test_the_training_checks_run_the_preset_with_their_own_options(tmp_path):
    from tide.bench.gpu_check import GpuCheckSetup
    from tide.train.job import TrainingJob

    config = config_for()
    preset = config_for("model=qwen2_5_0_5b").model
    setup = GpuCheckSetup(job=TrainingJob.from_config(config), generate=config.generate, train_preset=preset,
                          qlora_train=config_for("train=qlora").train, zero2=config_for("deepspeed=zero2").deepspeed,
                          generation_model=config.model, generation_note="tiny model", bench_dir=tmp_path,
                          on_disk={preset.name: preset})  # as if on disk already: nothing is built here
    qlora = setup.training_job("check-qlora", 5, setup.job.deepspeed,
                               {"train.method": setup.qlora_train.method,
                                "train.quantize_4bit": setup.qlora_train.quantize_4bit})
    assert (qlora.train.method, qlora.train.quantize_4bit, qlora.train.max_steps) == ("qlora", True, 5)
    assert qlora.model == preset and qlora.run_dir == str(tmp_path / "runs" / "check-qlora")
    zero2 = setup.training_job("check-zero2", 10, setup.zero2, {"cluster.num_workers": 2})
    assert zero2.deepspeed.stage == 2 and zero2.cluster.num_workers == 2 and zero2.train.method == "lora"
    assert zero2.cluster.runner == "ray" and setup.training_job("x", 1, setup.zero2, runner="bare").cluster.runner == "bare"


def cpu_training_job(job, model, steps, batch_size, label, bench_dir, deepspeed):
    """gpu_training_job's run on this CPU: fp32, 1 worker, no GPU asked for."""
    from tide.bench.training import benchmark_job

    return benchmark_job(job, steps, label, bench_dir, {
        "model": model, "deepspeed": deepspeed, "train.per_device_batch_size": batch_size,
        "train.gradient_accumulation_steps": 1, "train.precision": "fp32",
        "train.lora.target_modules": model.lora_target_modules, "cluster.num_workers": 1,
        "cluster.use_gpu": False, "cluster.gpus_per_worker": 0, "cluster.cpus_per_worker": 1})


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["ray", "bare"])
def test_every_check_runs_end_to_end_on_cpu_with_the_tiny_preset(ray_local, data_artifact, tiny_model_dir, tmp_path,
                                                                 monkeypatch, runner):
    """The checks' own code (not CUDA's) before a device call: each runs on a tiny preset, on the CPU."""
    import tide.bench.gpu_check as gpu_check
    from tide.bench.check_runner import run_gpu_checks
    from tide.bench.gpu_check import GpuCheckSetup
    from tide.train.job import TrainingJob

    monkeypatch.setattr(gpu_check, "gpu_training_job", cpu_training_job)
    monkeypatch.setattr(GpuCheckSetup, "generation", lambda self: self.generate.__class__(**{
        **vars(self.generate), "batch_size": 8, "gpus_per_actor": 0, "limit": None}))
    config = config_for(**{"model.path": str(tiny_model_dir), "model.hf_id": None,
                           "data.artifact_dir": str(data_artifact), "cluster.storage_path": str(tmp_path / "ray")})
    tiny = config.model
    setup = GpuCheckSetup(job=TrainingJob.from_config(config), generate=config.generate, train_preset=tiny,
                          large_preset=tiny, runner=runner, qlora_train=config_for("train=qlora").train,
                          zero2=config_for("deepspeed=zero2").deepspeed, generation_model=tiny,
                          generation_note="tiny", bench_dir=tmp_path, steps=3, batch_size=4, generation_rows=8,
                          generation_new_tokens=4)
    # CUDA-only checks left out; a CPU shared with other work gets time enough (budgets are sized for a GPU)
    checks = [dataclasses.replace(check, budget_s=300) for check in gpu_checks()
              if check.name not in ("qlora", "vllm_vs_hf")]
    records = {r["name"]: r for r in run_gpu_checks(setup, checks, 600, time.perf_counter())}
    assert {name: r["status"] for name, r in records.items()} == {check.name: "ok" for check in checks}, records
    assert records["lora"]["results"]["runner"] == runner and records["lora"]["results"]["tokens_per_s"] > 0
    overhead = records["ray_train_overhead"]["results"]
    assert overhead["ray_tokens_per_s"] > 0 and overhead["bare_tokens_per_s"] > 0
    assert records["zero2_nccl"]["results"]["runner"] == runner
    assert records["ray_data_overhead"]["results"]["ray_data_vs_plain"] > 0
