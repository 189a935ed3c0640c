"""Tokenized splits, length-grouped batches and their sharding across workers."""

import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.data.artifact import load_split
from tide.models.loading import load_tokenizer
from tide.train.data import (collate, encode_split, plan_batches, shard_for_evaluation, shard_for_training,
                             steps_per_epoch)

LENGTHS = [5, 50, 7, 48, 9, 52, 6, 51, 8, 49, 10, 47, 5, 53, 7, 46, 12, 44, 11, 45, 13]


def test_encode_split_masks_the_prompt_and_drops_truncated_rows(train_artifact, tiny_model_dir):
    tokenizer = load_tokenizer(with_options(config_for().model, {"path": str(tiny_model_dir)}, path="model"))
    rows = load_split(train_artifact, "val")
    full = encode_split(rows, tokenizer, "Be kind.", 512, None)
    assert full.dropped_truncated == 0 and len(full.examples) == len(rows)
    example = full.examples[0]
    assert example["labels"][0] == -100 and example["labels"][-1] == tokenizer.eos_token_id
    cut = sorted(full.lengths)[len(rows) // 2]
    half = encode_split(rows, tokenizer, "Be kind.", cut, None)
    assert half.dropped_truncated == sum(length > cut for length in full.lengths) > 0
    assert max(half.lengths) <= cut and len(half.examples) + half.dropped_truncated == len(rows)


def test_batches_cover_every_row_once_and_repeat_for_the_same_seed_and_epoch():
    batches = plan_batches(LENGTHS, 4, seed=3, epoch=0)
    assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
    assert batches == plan_batches(LENGTHS, 4, seed=3, epoch=0)
    assert batches != plan_batches(LENGTHS, 4, seed=3, epoch=1)


def test_length_grouping_cuts_padding():
    def padding(batches):
        return sum(max(LENGTHS[i] for i in b) * len(b) - sum(LENGTHS[i] for i in b) for b in batches)

    grouped = plan_batches(LENGTHS, 4, seed=0, epoch=0, group_by_length=True)
    plain = plan_batches(LENGTHS, 4, seed=0, epoch=0, group_by_length=False)
    assert padding(grouped) < padding(plain) / 3


def test_training_shards_are_disjoint_and_equal_in_count():
    batches = plan_batches(LENGTHS, 2, seed=0, epoch=0)  # 11 batches over 3 workers
    shards = [shard_for_training(batches, rank, 3) for rank in range(3)]
    assert [len(shard) for shard in shards] == [3, 3, 3]
    seen = [i for shard in shards for batch in shard for i in batch]
    assert len(seen) == len(set(seen))
    assert steps_per_epoch(len(LENGTHS), 2, 3, accumulation=2) == 1


def test_evaluation_shards_run_the_same_number_of_batches_and_count_each_once():
    batches = plan_batches(LENGTHS, 4, seed=0, epoch=0, shuffle=False)  # 6 batches over 4 workers
    shards = [shard_for_evaluation(batches, rank, 4) for rank in range(4)]
    assert {len(shard) for shard, _ in shards} == {2}
    counted = [batch for shard, n in shards for batch in shard[:n]]
    assert sorted(map(tuple, counted)) == sorted(map(tuple, batches))
    assert shard_for_evaluation(batches, 0, 4, max_batches=1)[0] == [batches[0]]


def test_collate_pads_right_and_counts_padding():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}], 0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert (batch["tokens"], batch["padding"]) == (4, 2)


@pytest.mark.parametrize("world_size", [1, 2])
def test_steps_per_epoch_matches_the_sharded_batches(world_size):
    batches = plan_batches(LENGTHS, 3, seed=0, epoch=0)
    usable = len(shard_for_training(batches, 0, world_size))
    assert steps_per_epoch(len(LENGTHS), 3, world_size, 2) == usable // 2
