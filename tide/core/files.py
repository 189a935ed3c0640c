"""Atomic writes: a file or a directory appears whole under its final name, or not at all.

Every writer stages under a hidden name in the same directory (so the final rename is atomic on that
filesystem) and renames only once the content is complete; a killed job leaves a hidden leftover at
most, never half an output under the real name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def write_atomic(path: Path, write) -> None:
    """`write(temp_path)` under a temporary name in the same directory, then rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temp)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; others on shared storage must read outputs
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def write_npz_atomic(path: Path, arrays: dict, compressed: bool = False) -> None:
    """numpy arrays as one .npz (read back with read_npz: no pickle), atomically."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez

    def write(temp) -> None:
        with open(temp, "wb") as handle:  # a handle, not the path: np.savez would append ".npz" to the temp name
            save(handle, **arrays)

    write_atomic(path, write)


def read_npz(path: Path) -> dict:
    """Every array of an .npz written by write_npz_atomic, loaded without pickle (plain data only)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda temp: Path(temp).write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, payload) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def fresh_sibling(path: Path, tag: str) -> Path:
    """An empty hidden directory next to `path` (same filesystem, so a rename is atomic).

    Named by pid so concurrent builders do not collide; a leftover from a killed process that had
    the same pid is removed.
    """
    path = Path(path)
    sibling = path.parent / f".{path.name}.{tag}-{os.getpid()}"
    shutil.rmtree(sibling, ignore_errors=True)
    sibling.mkdir(parents=True)
    return sibling


def replace_dir(src: Path, dst: Path) -> None:
    """Put `src` at `dst`; an older `dst` is moved aside first and only then deleted."""
    src, dst = Path(src), Path(dst)
    old = None
    if dst.exists():
        old = fresh_sibling(dst, "old")
        os.replace(dst, old / dst.name)
    try:
        os.replace(src, dst)
    except BaseException:
        if old is not None:  # the new one could not take its place: the old one goes back
            os.replace(old / dst.name, dst)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(target: Path, tag: str = "tmp"):
    """Yield an empty staging directory; on a clean exit it replaces `target` whole, on an error it is removed.

        with staged_dir(run_dir / "adapter") as staging:
            shutil.copytree(source, staging, dirs_exist_ok=True)
    """
    target = Path(target)
    staging = fresh_sibling(target, tag)
    try:
        yield staging
        replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def files_digest(paths) -> str:
    """sha256 over the files' bytes, in the order given; a missing file hashes as the word "missing"
    (so its absence is part of the digest, and the file appearing later changes it)."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()


def file_problem(path, row: int | None, column: str, problem: str) -> str:
    """The one-line form every reader reports a bad cell in: `path: row R, column 'C': problem`."""
    where = f"row {row}, " if row is not None else ""
    return f"{path}: {where}column {column!r}: {problem}"


class FileFormatError(ValueError):
    """A problem in an input file; the message (file_problem) names the file, the row and the column."""

    def __init__(self, path, row: int | None, column: str, problem: str):
        self.path, self.row, self.column, self.problem = str(path), row, column, problem
        super().__init__(file_problem(path, row, column, problem))
