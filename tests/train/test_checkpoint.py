"""An adapter with an empty tensor (ZeRO-3 weights saved while still sharded) is refused."""

import pytest
import torch
from safetensors.torch import save_file

from tide.train.checkpoint import ADAPTER_WEIGHTS, EmptyAdapterError, check_adapter


def test_whole_adapter_passes(tmp_path):
    save_file({"a.lora_A.weight": torch.ones(4, 32), "a.lora_B.weight": torch.zeros(32, 4)}, tmp_path / ADAPTER_WEIGHTS)
    assert check_adapter(tmp_path) == 2


def test_sharded_zero3_weights_are_an_error(tmp_path):
    # What ZeRO-3 leaves in a parameter outside GatheredParameters: a 0-element placeholder.
    save_file({"a.lora_A.weight": torch.ones(4, 32), "a.lora_B.weight": torch.empty(0)}, tmp_path / ADAPTER_WEIGHTS)
    with pytest.raises(EmptyAdapterError, match=r"adapter is empty .*a.lora_B.weight.*gathered before saving"):
        check_adapter(tmp_path)


def test_missing_or_tensorless_adapter_is_an_error(tmp_path):
    with pytest.raises(EmptyAdapterError, match="adapter weights missing"):
        check_adapter(tmp_path)
    save_file({}, tmp_path / ADAPTER_WEIGHTS)
    with pytest.raises(EmptyAdapterError, match=r"\(0 tensors"):
        check_adapter(tmp_path)
