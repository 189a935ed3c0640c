"""Ray Data batch inference: one reply per test dialogue per condition, written as resumable Parquet shards."""
