"""FLOPs and MFU (model FLOPs utilisation): the numbers behind "how much of the GPU does a run use".

Training, per token (the dense-transformer estimate of Kaplan et al. and PaLM, attention's own
FLOPs left out; at this suite's <= 512-token dialogues they add only a few percent):

    forward                          2 * N        every weight multiplies each token once (multiply + add)
    backward, activation gradients   2 * N        flow through every layer, frozen or not
    backward, weight gradients       2 * N_train  only for weights that train

    training FLOPs = (4 * N + 2 * N_train) * tokens

N counts every parameter the forward pass uses (a LoRA model's base plus its adapters) and N_train the
parameters that receive gradients. Full fine-tuning has N_train = N: the familiar 6 * N * tokens. LoRA
freezes the base, so N_train is the adapters only (well under 1% of N) and a step costs about 4 * N per
token: counting 6 * N for it would overstate its MFU by half.

Generation, per token (prompt tokens in the prefill and generated tokens alike): 2 * N.

MFU = achieved FLOPs/s / (devices * peak FLOPs/s), the peak being the device's dense bf16 tensor-core
rate from its datasheet (no sparsity). A CPU has no such agreed peak, so its MFU is None with a reason.
"""

from __future__ import annotations

# Dense bf16 peak FLOPs/s by device-name fragment, most specific first (torch.cuda.get_device_name:
# "NVIDIA H100 80GB HBM3" is the SXM part, "NVIDIA H100 PCIe" the PCIe one).
PEAK_BF16_FLOPS = (
    ("GH200", 989e12),
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),
    ("B200", 2250e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
)


def training_flops_per_token(params: int, trainable_params: int) -> float:
    """(4 * N + 2 * N_train): see the module docstring."""
    if trainable_params > params:
        raise ValueError(f"trainable parameters ({trainable_params}) exceed all parameters ({params})")
    return 4.0 * params + 2.0 * trainable_params


def training_flops(params: int, trainable_params: int, tokens: int) -> float:
    return training_flops_per_token(params, trainable_params) * tokens


def generation_flops(params: int, tokens: int) -> float:
    """2 * N per token processed: prompt (prefill) plus generated tokens."""
    return 2.0 * params * tokens


def peak_flops(device_name: str) -> float | None:
    """Dense bf16 peak FLOPs/s of one device, or None for a CPU or a device not in the table."""
    for fragment, flops in PEAK_BF16_FLOPS:
        if fragment.lower() in device_name.lower():
            return flops
    return None


def mfu(flops_per_second: float, device_name: str, devices: int = 1) -> dict:
    """{"mfu": fraction or None, "peak_flops_per_device": ..., "mfu_note": why None, if it is}."""
    peak = peak_flops(device_name)
    if peak is None:
        note = ("no agreed peak FLOPs for a CPU" if device_name.lower().startswith("cpu")
                else f"{device_name!r} is not in tide.core.telemetry.PEAK_BF16_FLOPS")
        return {"mfu": None, "peak_flops_per_device": None, "mfu_note": note}
    return {"mfu": flops_per_second / (devices * peak), "peak_flops_per_device": peak, "mfu_note": None}


def device_name(device=None) -> str:
    """"NVIDIA H100 80GB HBM3" for a GPU; "cpu (N cores)" otherwise. Recorded with every number."""
    import os

    import torch

    if device is not None and torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"cpu ({os.cpu_count()} cores)"


def training_telemetry(params: int, trainable_params: int, tokens_per_second: float, device: str,
                       devices: int = 1) -> dict:
    """What a training summary records: FLOPs per token, achieved FLOPs/s per device and MFU.

    `tokens_per_second` is the whole run's (all `devices` together).
    """
    per_token = training_flops_per_token(params, trainable_params)
    achieved = per_token * tokens_per_second
    return {"device": device, "flops_per_token": per_token, "flops_per_second_per_device": achieved / devices,
            "flop_formula": "(4 * params + 2 * trainable_params) * tokens", **mfu(achieved, device, devices)}


def generation_telemetry(params: int, tokens_per_second: float, device: str, devices: int = 1) -> dict:
    """What a generation summary records; `tokens_per_second` counts prompt and generated tokens."""
    achieved = generation_flops(params, 1) * tokens_per_second
    return {"device": device, "flops_per_second_per_device": achieved / devices,
            "flop_formula": "2 * params * (prompt + generated tokens)", **mfu(achieved, device, devices)}
