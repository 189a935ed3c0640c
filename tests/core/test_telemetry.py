import pytest

from tide.core.telemetry import (device_name, generation_flops, mfu, peak_flops, training_flops,
                              training_flops_per_token, training_telemetry)
from tide.models.presets import count_parameters

SMALL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "tie_word_embeddings": True}


def test_full_fine_tuning_is_six_n_per_token():
    assert training_flops_per_token(1000, 1000) == 6000
    assert training_flops(1000, 1000, tokens=10) == 60_000


def test_lora_pays_weight_gradients_only_for_the_adapters():
    # 2N forward + 2N activation gradients + 2 * 10 adapter weight gradients
    assert training_flops_per_token(1000, 10) == 4020


def test_more_trainable_than_total_parameters_is_an_error():
    with pytest.raises(ValueError, match="exceed"):
        training_flops_per_token(10, 11)


def test_generation_is_two_n_per_token():
    assert generation_flops(params=100, tokens=5) == 1000


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA H100 PCIe", 756e12), ("NVIDIA H200", 989e12),
    ("NVIDIA A100-SXM4-80GB", 312e12), ("NVIDIA L4", 121e12), ("NVIDIA L40S", 362e12),
])
def test_peak_flops_by_device_name(name, peak):
    assert peak_flops(name) == peak


def test_mfu_is_achieved_over_peak_of_all_devices():
    assert mfu(494.5e12, "NVIDIA H100 80GB HBM3")["mfu"] == pytest.approx(0.5)
    assert mfu(494.5e12, "NVIDIA H100 80GB HBM3", devices=2)["mfu"] == pytest.approx(0.25)


def test_cpu_and_unknown_devices_have_no_mfu_and_say_why():
    cpu = mfu(1e9, device_name())
    assert cpu["mfu"] is None and "CPU" in cpu["mfu_note"]
    unknown = mfu(1e12, "Some Accelerator")
    assert unknown["mfu"] is None and "PEAK_BF16_FLOPS" in unknown["mfu_note"]


def test_training_telemetry_on_an_h100():
    telemetry = training_telemetry(1_000_000_000, 10_000_000, tokens_per_second=20_000, device="NVIDIA H100 80GB HBM3",
                                   devices=2)
    per_token = 4e9 + 2e7
    assert telemetry["flops_per_token"] == per_token
    assert telemetry["flops_per_second_per_device"] == pytest.approx(per_token * 10_000)
    assert telemetry["mfu"] == pytest.approx(per_token * 20_000 / (2 * 989e12))
