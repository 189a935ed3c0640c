import os

import pytest

from tide.data.artifact import fingerprint, load_split, read_manifest, save_artifact
from tide.data.reader import read_tide


@pytest.fixture(scope="module")
def records(synthetic_dir):
    return read_tide(synthetic_dir).records


def test_round_trip_through_parquet(tmp_path, records):
    splits = {"train": records[:150], "val": records[150:175], "test": records[175:]}
    manifest = save_artifact(tmp_path / "art", splits, {"source": "test"})
    assert read_manifest(tmp_path / "art") == manifest
    assert manifest["splits"]["val"]["dialogues"] == 25
    loaded = load_split(tmp_path / "art", "val")
    assert loaded.to_list() == records[150:175]
    assert sorted(os.listdir(tmp_path)) == ["art"]  # no staging directory left behind


def test_fingerprint_depends_on_content_not_order(records):
    assert fingerprint(records) == fingerprint(list(reversed(records)))
    changed = [dict(records[0], reference=records[0]["reference"] + " ")] + records[1:]
    assert fingerprint(changed) != fingerprint(records)


def test_dataset_fingerprint_changes_with_the_split(tmp_path, records):
    one = save_artifact(tmp_path / "a", {"train": records[:100], "test": records[100:]}, {})
    same = save_artifact(tmp_path / "b", {"train": records[:100], "test": records[100:]}, {})
    moved = save_artifact(tmp_path / "c", {"train": records[:99], "test": records[99:]}, {})
    assert one["fingerprint"] == same["fingerprint"] != moved["fingerprint"]


def test_missing_artifact_and_split(tmp_path, records):
    with pytest.raises(FileNotFoundError, match="no dataset artifact .* run `python -m launch.data`"):
        load_split(tmp_path / "none", "train")
    save_artifact(tmp_path / "art", {"train": records[:5]}, {})
    with pytest.raises(KeyError, match="no split 'test'"):
        load_split(tmp_path / "art", "test")
