"""Atomic writes: whole or nothing under the final name, readable like any other file."""

import os
import stat

import pytest

from tide.core.files import staged_dir, write_json_atomic, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(RuntimeError):
        from tide.core.files import write_atomic

        write_atomic(path, lambda temp: (open(temp, "w").write("half"), (_ for _ in ()).throw(RuntimeError("killed"))))
    assert path.read_text() == '{\n  "a": 1\n}\n' and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_written_files_follow_the_umask_not_mkstemp_s_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "shared.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644


def test_a_staged_directory_replaces_the_target_whole_or_not_at_all(tmp_path):
    target = tmp_path / "adapter"
    with staged_dir(target) as staging:
        (staging / "weights").write_text("v1")
    assert (target / "weights").read_text() == "v1"
    with pytest.raises(RuntimeError, match="killed"):
        with staged_dir(target) as staging:
            (staging / "weights").write_text("half of v2")
            raise RuntimeError("killed")
    assert (target / "weights").read_text() == "v1"  # the old one whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]  # and no staging left
    with staged_dir(target) as staging:
        (staging / "weights").write_text("v2")
    assert (target / "weights").read_text() == "v2" and sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_files_digest_changes_with_content_and_presence(tmp_path):
    from tide.core.files import files_digest

    a, b = tmp_path / "a.npz", tmp_path / "b.json"
    a.write_bytes(b"arrays")
    missing = files_digest([a, b])
    b.write_text("{}")
    present = files_digest([a, b])
    b.write_text('{"retrained": true}')
    assert len({missing, present, files_digest([a, b])}) == 3
    assert files_digest([a, b]) == files_digest([str(a), str(b)])


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_round_trip_is_whole_and_plain(tmp_path, compressed):
    import numpy as np

    from tide.core.files import read_npz, write_npz_atomic

    path = tmp_path / "model.npz"
    arrays = {"coef": np.arange(4, dtype=np.float32), "texts": np.array(["a", "bb"], dtype=str)}
    write_npz_atomic(path, arrays, compressed=compressed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no ".npz" appended, no temp left
    loaded = read_npz(path)
    assert set(loaded) == set(arrays) and all(np.array_equal(loaded[k], v) for k, v in arrays.items())
    write_npz_atomic(tmp_path / "objects.npz", {"x": np.array([{}], dtype=object)})  # numpy pickles these
    with pytest.raises(ValueError):  # and read_npz refuses to unpickle: a shipped file cannot run code
        read_npz(tmp_path / "objects.npz")
