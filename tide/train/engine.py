"""Two ways to run a training step behind one small interface: plain DDP, or a DeepSpeed ZeRO engine.

The loop calls `train_micro_batch` for every micro-batch; the engine accumulates gradients and, at
the accumulation boundary, clips, steps the optimizer and the learning-rate schedule. Both save and
restore their full training state (trainable weights, optimizer, schedule) into a checkpoint folder,
and both hand out the trainable weights whole (gathered across workers under ZeRO-3) for export.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from tide.config.schema import ModelConfig, TrainConfig
from tide.train.model import build_model, trainable_parameters

DDP_STATE_FILE = "ddp_state.pt"
DEEPSPEED_DIR = "deepspeed"
DEEPSPEED_TAG = "state"
MODEL_INPUTS = ("input_ids", "attention_mask", "labels")


def build_engine(model: ModelConfig, train: TrainConfig, precision: str, ds_config: dict | None, total_steps: int,
                 device: torch.device):
    """Plain DDP when `ds_config` is None, else a DeepSpeed engine with that (checked) config."""
    if ds_config is None:
        return DDPEngine(build_model(model, train, precision, device), train, precision, total_steps, device)
    return DeepSpeedEngine(model, train, precision, ds_config, total_steps, device)


def make_scheduler(optimizer, train: TrainConfig, total_steps: int):
    from transformers import get_scheduler

    warmup = int(round(float(train.warmup_ratio) * total_steps))
    return get_scheduler(train.lr_scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


def label_tokens(batch: dict) -> int:
    """Tokens the loss is taken over: labelled positions after the causal shift."""
    return int((batch["labels"][:, 1:] != -100).sum())


class DDPEngine:
    def __init__(self, model, train: TrainConfig, precision: str, total_steps: int, device: torch.device):
        self.module, self.device = model, device
        self.accumulation = train.gradient_accumulation_steps
        self.max_grad_norm = float(train.max_grad_norm)
        self.autocast = precision == "bf16"
        distributed = torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1
        self.model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None) if distributed else model
        self.optimizer = torch.optim.AdamW(
            trainable_parameters(model).values(), lr=float(train.learning_rate),
            weight_decay=float(train.weight_decay), betas=(0.9, 0.999), eps=1e-8)
        self.scheduler = make_scheduler(self.optimizer, train, total_steps)
        self.grad_norm = None

    @property
    def lr(self) -> float:
        return self.scheduler.get_last_lr()[0]

    def _forward(self, model, batch: dict):
        inputs = {key: batch[key].to(self.device) for key in MODEL_INPUTS}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return model(**inputs).loss

    def train_micro_batch(self, batch: dict, boundary: bool) -> torch.Tensor:
        self.model.train()
        # Between boundaries the gradients only accumulate locally: no all-reduce.
        sync = contextlib.nullcontext() if boundary or self.model is self.module else self.model.no_sync()
        with sync:
            loss = self._forward(self.model, batch)
            (loss / self.accumulation).backward()
        if boundary:
            params = list(trainable_parameters(self.module).values())
            self.grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm))
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    @torch.no_grad()
    def eval_loss(self, batch: dict) -> tuple[float, int]:
        self.model.eval()
        tokens = label_tokens(batch)
        return float(self._forward(self.module, batch)) * tokens, tokens

    def save_state(self, directory: Path, rank: int) -> None:
        if rank == 0:  # every worker holds the same replica
            torch.save({"trainable": {name: param.detach().cpu() for name, param in
                                      trainable_parameters(self.module).items()},
                        "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()},
                       directory / DDP_STATE_FILE)

    def load_state(self, directory: Path) -> None:
        state = torch.load(directory / DDP_STATE_FILE, map_location=self.device, weights_only=True)
        missing = set(trainable_parameters(self.module)) - set(state["trainable"])
        if missing:
            raise ValueError(f"{directory / DDP_STATE_FILE}: checkpoint lacks trainable weights {sorted(missing)[:3]}")
        self.module.load_state_dict(state["trainable"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])

    def full_trainable_state(self, rank: int) -> dict[str, torch.Tensor] | None:
        if rank != 0:
            return None
        return {name: param.detach().float().cpu().clone() for name, param in trainable_parameters(self.module).items()}


class DeepSpeedEngine:
    def __init__(self, model: ModelConfig, train: TrainConfig, precision: str, ds_config: dict, total_steps: int,
                 device: torch.device):
        import deepspeed

        # Ray Train has set up torch.distributed; DeepSpeed's comm layer wraps it (zero.Init, below,
        # reads the world size from there).
        deepspeed.init_distributed(dist_backend=torch.distributed.get_backend())
        self.hf_ds_config = None
        if ds_config["zero_optimization"]["stage"] == 3:
            from transformers.integrations import HfDeepSpeedConfig

            # transformers only keeps a weak reference: held here, ZeRO-3 stays on for this worker.
            self.hf_ds_config = HfDeepSpeedConfig(ds_config)
        network = build_model(model, train, precision)
        self.device = device
        self.engine, _, _, self.scheduler = deepspeed.initialize(
            model=network, model_parameters=list(trainable_parameters(network).values()), config=ds_config,
            lr_scheduler=lambda optimizer: make_scheduler(optimizer, train, total_steps))
        self.module = self.engine.module
        self.grad_norm = None

    @property
    def lr(self) -> float:
        return self.scheduler.get_last_lr()[0]

    def train_micro_batch(self, batch: dict, boundary: bool) -> torch.Tensor:
        self.engine.train()
        loss = self.engine(**{key: batch[key].to(self.device) for key in MODEL_INPUTS}).loss
        self.engine.backward(loss)  # DeepSpeed scales by the accumulation steps itself
        self.engine.step()          # steps the optimizer and schedule only at its accumulation boundary
        if boundary:
            norm = self.engine.get_global_grad_norm()
            self.grad_norm = None if norm is None else float(norm)
        return loss.detach()

    @torch.no_grad()
    def eval_loss(self, batch: dict) -> tuple[float, int]:
        self.engine.eval()
        tokens = label_tokens(batch)
        loss = self.engine(**{key: batch[key].to(self.device) for key in MODEL_INPUTS}).loss
        return float(loss) * tokens, tokens

    def save_state(self, directory: Path, rank: int) -> None:
        # Collective: each worker writes its own shard of the optimizer (and, ZeRO-3, weights).
        self.engine.save_checkpoint(str(directory / DEEPSPEED_DIR), tag=DEEPSPEED_TAG,
                                    exclude_frozen_parameters=True)

    def load_state(self, directory: Path) -> None:
        path, _ = self.engine.load_checkpoint(str(directory / DEEPSPEED_DIR), tag=DEEPSPEED_TAG,
                                              load_module_strict=False)  # frozen weights were not saved
        if path is None:
            raise ValueError(f"{directory / DEEPSPEED_DIR}: no DeepSpeed checkpoint to resume from")

    def full_trainable_state(self, rank: int) -> dict[str, torch.Tensor] | None:
        """Whole fp32 trainable weights on rank 0; collective (every worker must call it)."""
        import deepspeed
        from deepspeed.utils import safe_get_full_fp32_param

        state = {}
        for name, param in trainable_parameters(self.module).items():
            full = safe_get_full_fp32_param(param)
            if full is None:  # no fp32 master copy: the parameter itself, gathered if sharded
                with deepspeed.zero.GatheredParameters([param], enabled=hasattr(param, "ds_id")):
                    full = param.detach().float().clone()
            if rank == 0:
                state[name] = full.detach().float().cpu().clone()
        return state if rank == 0 else None
