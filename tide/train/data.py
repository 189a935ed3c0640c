"""Training data: the splits tokenized by the shared chat format, cut into length-grouped batches.

Two-turn dialogues vary a lot in length, so padding is where a naive batcher wastes compute. Batches
are drawn from length-sorted groups (like HF's LengthGroupedSampler): each group holds many batches'
worth of shuffled rows, sorted by length, then cut. The epoch's batch order is a pure function of
(seed, epoch), so a resumed run replays exactly the batches it had not yet seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tide.data.chat import IGNORE_INDEX, encode_example

# Rows per length-sorted group, in batches: large enough to find similar lengths, small enough
# that the batch order stays random.
BATCHES_PER_GROUP = 32


@dataclass
class EncodedSplit:
    examples: list[dict]      # input_ids and labels (reply tokens + end of turn; the prompt is masked)
    dropped_truncated: int    # rows longer than max_length: cut, they would teach the model not to stop

    @property
    def lengths(self) -> list[int]:
        return [len(example["input_ids"]) for example in self.examples]


def encode_split(rows, tokenizer, system_prompt: str | None, max_length: int, stop_token: str | None) -> EncodedSplit:
    examples, dropped = [], 0
    for row in rows:
        example = encode_example(tokenizer, system_prompt, row["client"], row["reference"], max_length, stop_token)
        if example["truncated"]:
            dropped += 1
            continue
        examples.append({"input_ids": example["input_ids"], "labels": example["labels"]})
    return EncodedSplit(examples, dropped)


def plan_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, shuffle: bool = True,
                 group_by_length: bool = True) -> list[list[int]]:
    """One epoch's global batches (row indices), every row once; the same for the same (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
    if group_by_length:
        group = batch_size * BATCHES_PER_GROUP
        order = np.concatenate([sorted(order[i:i + group], key=lambda index: -lengths[index])
                                for i in range(0, len(order), group)]) if len(order) else order
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if shuffle and group_by_length:  # otherwise every group would start with its longest batch
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def shard_for_training(batches: list[list[int]], rank: int, world_size: int) -> list[list[int]]:
    """This worker's batches; every worker gets the same count (the few left over are dropped)."""
    per_worker = len(batches) // world_size
    return batches[rank::world_size][:per_worker]


def shard_for_evaluation(batches: list[list[int]], rank: int, world_size: int,
                         max_batches: int | None = None) -> tuple[list[list[int]], int]:
    """This worker's batches and how many of them count.

    Every worker must run the same number of forward passes (ZeRO-3 gathers parameters collectively),
    so a worker with fewer batches repeats its first one and leaves the repeat out of the loss.
    """
    per_worker = -(-len(batches) // world_size)
    if max_batches is not None:
        per_worker = min(per_worker, max_batches)
    mine = batches[rank::world_size][:per_worker]
    counted = len(mine)
    return mine + [batches[0]] * (per_worker - counted), counted


def steps_per_epoch(n_examples: int, batch_size: int, world_size: int, accumulation: int) -> int:
    batches = -(-n_examples // batch_size)
    return (batches // world_size) // accumulation


def collate(examples: list[dict], pad_token_id: int) -> dict:
    """Right-padded tensors; labels are IGNORE_INDEX on padding. Also counts real and padded tokens."""
    width = max(len(example["input_ids"]) for example in examples)
    input_ids = torch.full((len(examples), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example["input_ids"])
        input_ids[row, :n] = torch.tensor(example["input_ids"])
        labels[row, :n] = torch.tensor(example["labels"])
        attention_mask[row, :n] = 1
    tokens = int(attention_mask.sum())
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels,
            "tokens": tokens, "padding": input_ids.numel() - tokens}
