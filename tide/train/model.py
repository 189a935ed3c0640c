"""The model a worker trains: the preset's weights with LoRA, QLoRA (4-bit base) or all weights trainable.

Loaded through transformers' from_pretrained, so that under ZeRO-3 (an HfDeepSpeedConfig alive in the
caller) each worker only ever materialises its own shard of the weights (zero.Init).
"""

from __future__ import annotations

import torch

from tide.config.schema import ModelConfig, TrainConfig

LORA_METHODS = ("lora", "qlora")


def build_model(model: ModelConfig, train: TrainConfig, precision: str, device: torch.device | None = None):
    """The model to train; on `device` when given (DDP), else where DeepSpeed will place it."""
    from transformers import AutoModelForCausalLM

    from tide.models.loading import resolve_model_source

    # Frozen base weights can stay in bf16; weights that train keep fp32 masters (autocast or DeepSpeed).
    dtype = torch.bfloat16 if precision == "bf16" and train.method in LORA_METHODS else torch.float32
    kwargs = {"dtype": dtype}
    if train.quantize_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)
        # 4-bit weights are placed while loading and cannot be moved afterwards.
        kwargs["device_map"] = {"": torch.device("cuda", torch.cuda.current_device()) if device is None else device}
    network = AutoModelForCausalLM.from_pretrained(resolve_model_source(model), **kwargs)
    if device is not None and not train.quantize_4bit:
        network = network.to(device)
    network.config.use_cache = False  # the KV cache is for generation; in training it only costs memory

    if train.method == "full":
        return network
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model, prepare_model_for_kbit_training

    if train.quantize_4bit:
        network = prepare_model_for_kbit_training(network, use_gradient_checkpointing=False)
    lora = train.lora
    return get_peft_model(network, PeftLoraConfig(
        r=int(lora.r), lora_alpha=int(lora.alpha), lora_dropout=float(lora.dropout),
        target_modules=list(lora.target_modules), task_type="CAUSAL_LM"))


def trainable_parameters(model) -> dict[str, torch.nn.Parameter]:
    return {name: param for name, param in model.named_parameters() if param.requires_grad}
