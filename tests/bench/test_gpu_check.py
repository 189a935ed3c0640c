"""`make gpu-check` on a CPU: the plan and exit 0 without CUDA; each check's status, budget and table."""

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from tests.configs import config_for
from tide.bench.gpu_check import (GPU_CHECK_BUDGET_S, Check, CheckFailed, PeakDeviceMemory, format_check_table,
                                  gpu_checks, random_adapter, run_check)
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
    assert [c.name for c in checks] == ["lora", "lora_hf_trainer", "qlora", "zero2_nccl", "vllm_vs_hf"]
    assert sum(c.budget_s for c in checks) <= GPU_CHECK_BUDGET_S - 60  # a minute at least for the setup
    records = [{"name": "lora", "status": "ok", "seconds": 40.0, "peak_memory_gib": 21.5, "error": None,
                "results": {"tokens_per_s": 9000.0, "mfu": 0.31}},
               {"name": "vllm_vs_hf", "status": "failed", "seconds": 90.0, "peak_memory_gib": None,
                "error": "CheckFailed: greedy replies identical for 80%", "results": {}}]
    table = format_check_table(records, "NVIDIA H200")
    assert "NVIDIA H200" in table and "21.5" in table and "mfu=0.31" in table and "identical for 80%" in table
    assert "target lora_mfu >= 0.4: 0.31 (MISSED)" in table and "vllm_vs_hf_generate >= 5.0: - (not measured)" in table


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
                          preset_model=preset)  # as if on disk already: nothing is built here
    qlora = setup.training_job("check-qlora", 5, setup.job.deepspeed,
                               {"train.method": setup.qlora_train.method,
                                "train.quantize_4bit": setup.qlora_train.quantize_4bit})
    assert (qlora.train.method, qlora.train.quantize_4bit, qlora.train.max_steps) == ("qlora", True, 5)
    assert qlora.model == preset and qlora.run_dir == str(tmp_path / "runs" / "check-qlora")
    zero2 = setup.training_job("check-zero2", 10, setup.zero2, {"cluster.num_workers": 2})
    assert zero2.deepspeed.stage == 2 and zero2.cluster.num_workers == 2 and zero2.train.method == "lora"
