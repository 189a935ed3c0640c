"""`python -m launch.bench` end to end on the test fixtures: the table, the JSON, the GPU skip."""

import json

import pytest
import torch

from launch.bench import main


def fixture_overrides(data_artifact, tiny_model_dir, tmp_path) -> list[str]:
    return [f"data.artifact_dir={data_artifact}", f"model.path={tiny_model_dir}", f"paths.outputs={tmp_path}"]


def test_padding_and_gpu_skip(data_artifact, tiny_model_dir, tmp_path, capsys):
    assert main(["--only", "padding", "gpu", "--repeats", "2",
                 *fixture_overrides(data_artifact, tiny_model_dir, tmp_path)]) == 0
    out = capsys.readouterr().out
    written = json.loads((tmp_path / "bench" / "bench.json").read_text())
    results = {r["name"]: r for r in written["results"]}
    grouped = results["padding_efficiency"]
    assert len(grouped["samples"]) == 2 and 0 < grouped["median"] <= 1
    assert grouped["median"] > results["padding_efficiency_ungrouped"]["median"]
    assert "Padding efficiency (non-pad fraction, length-grouped)" in out
    if not torch.cuda.is_available():
        assert results["lora_mfu"]["skipped"].startswith("no CUDA device")
        assert "GPU benchmarks skipped: no CUDA device" in out


@pytest.mark.slow
@pytest.mark.timeout(1500)  # every bench stage, SmolLM2 conversion included: 14 min on 2 loaded cores
def test_whole_suite_at_the_smallest_settings(data_artifact, tiny_model_dir, tmp_path, ray_local, capsys):
    assert main(["--repeats", "1", "--train-steps", "2", "--gen-rows", "4", "--gen-new-tokens", "4",
                 "--eval-rows", "8", "--eval-naive-rows", "2", "--reader-dialogues", "200", "--smollm2-steps", "1",
                 "--smollm2-rows", "4", "--smollm2-new-tokens", "4", "train.per_device_batch_size=4",
                 "generate.batch_size=2", *fixture_overrides(data_artifact, tiny_model_dir, tmp_path)]) == 0
    results = {r["name"]: r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["results"]}
    for name in ("ray_train_overhead", "ddp_scaling", "padding_efficiency", "generation_scaling", "evaluation_speedup"):
        assert results[name]["median"] > 0 and results[name]["met"] in (True, False), name
    assert results["ray_train_overhead"]["details"]["runs"][0]["bare"]["step_time_s"] > 0
    assert "targets missed" in capsys.readouterr().out or all(r["met"] is not False for r in results.values())


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_benchmarks_on_the_smallest_preset(data_artifact, tiny_model_dir, tmp_path, ray_local):
    assert main(["--only", "gpu", "--repeats", "1", "--gpu-presets", "qwen2_5_0_5b", "--gpu-steps", "3",
                 "--gpu-batch-size", "4", "--gpu-gen-rows", "8", "--gen-new-tokens", "8",
                 *fixture_overrides(data_artifact, tiny_model_dir, tmp_path)]) == 0
    results = {r["name"]: r for r in json.loads((tmp_path / "bench" / "bench.json").read_text())["results"]}
    assert 0 < results["lora_mfu_qwen2_5_0_5b"]["median"] < 1
    assert results["suite_vs_hf_trainer"]["median"] > 0 and results["zero2_vs_ddp"]["median"] > 0
    throughput = json.loads((tmp_path / "bench" / "throughput.json").read_text())
    assert throughput["models"]["qwen2.5-0.5b"]["train_tokens_per_s"] > 0
