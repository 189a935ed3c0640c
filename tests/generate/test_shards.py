"""The resumable shard writer: whole shards only, failed rows retried, one spec per directory."""

import pandas as pd
import pytest

from tide.generate.shards import (SPEC_FILE, check_complete, open_condition_dir, read_rows, shard_paths,
                                  write_shard)

SPEC = {"model": "tiny", "sampling": {"do_sample": False}}


def rows(ids, failed=()) -> pd.DataFrame:
    return pd.DataFrame([{
        "dialogue_id": i, "persona_id": i.split("-")[0], "scenario": None, "condition": "zero_shot", "model": "tiny",
        "model_params_b": 0.004, "adapter": None, "prompt": "p", "reply": "" if i in failed else f"reply {i}",
        "finish_reason": "error" if i in failed else "eos", "prompt_tokens": 3, "reply_tokens": 0 if i in failed else 2,
        "latency_s": 0.1, "error": "IndexError: boom" if i in failed else None, "sampling": "{}", "versions": "{}",
    } for i in ids])


def test_rerun_keeps_done_rows_retries_failed_ones_and_removes_leftovers(tmp_path):
    assert open_condition_dir(tmp_path, SPEC) == set()
    write_shard(tmp_path, rows(["a-1", "a-2"], failed={"a-2"}))
    write_shard(tmp_path, rows(["b-1"], failed={"b-1"}))
    write_shard(tmp_path, rows(["c-1", "c-2"]))
    (tmp_path / ".part-0123.parquet.tmp-999").write_bytes(b"half a shard")
    (tmp_path / ".part-4567.parquet.k2j1x9.tmp").write_bytes(b"half a shard")  # tide.core.files.write_atomic's

    assert open_condition_dir(tmp_path, SPEC) == {"a-1", "c-1", "c-2"}
    assert len(shard_paths(tmp_path)) == 2 and not list(tmp_path.glob(".part-*"))
    assert sorted(read_rows(tmp_path)["dialogue_id"]) == ["a-1", "c-1", "c-2"]

    write_shard(tmp_path, rows(["a-2", "b-1"]))
    done = check_complete(tmp_path, ["a-1", "a-2", "b-1", "c-1", "c-2"])
    assert done["error"].isna().all() and len(done) == 5


def test_an_all_null_column_keeps_the_schema(tmp_path):
    write_shard(tmp_path, rows(["a-1"]))
    with_scenario = rows(["b-1"]).assign(scenario="flashbacks")
    write_shard(tmp_path, with_scenario)
    assert sorted(read_rows(tmp_path)["scenario"].fillna("-")) == ["-", "flashbacks"]


def test_check_complete_names_duplicates_missing_and_unexpected_rows(tmp_path):
    write_shard(tmp_path, rows(["a-1", "a-2"]))
    write_shard(tmp_path, rows(["a-1", "z-9"]))
    with pytest.raises(RuntimeError, match=r"duplicated \['a-1'\], missing \['b-1'\], unexpected \['z-9'\]"):
        check_complete(tmp_path, ["a-1", "a-2", "b-1"])


def test_rows_made_under_another_spec_are_never_mixed_in(tmp_path):
    open_condition_dir(tmp_path, SPEC)
    write_shard(tmp_path, rows(["a-1"]))
    with pytest.raises(ValueError, match="other settings \\(changed: sampling\\)"):
        open_condition_dir(tmp_path, {**SPEC, "sampling": {"do_sample": True}})
    (tmp_path / SPEC_FILE).unlink()
    with pytest.raises(ValueError, match="no spec.json"):
        open_condition_dir(tmp_path, SPEC)
