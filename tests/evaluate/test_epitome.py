"""The EPITOME reader on fixture files written here: good files, and one-line errors naming file, row, column."""

import csv

import pytest

from tests.evaluate.conftest import EPITOME_FILES, RESPONSES, SEEKER_POSTS, write_epitome_dir
from tide.evaluate.epitome import EpitomeFormatError, read_epitome, read_mechanism


def test_reads_the_three_files_of_a_directory(tmp_path):
    levels = write_epitome_dir(tmp_path / "epitome")
    labels = read_epitome(tmp_path / "epitome")
    assert list(labels) == ["emotional_reactions", "interpretations", "explorations"]
    er = labels["emotional_reactions"]
    assert len(er) == len(SEEKER_POSTS) * len(RESPONSES) and er.level == levels["emotional_reactions"]
    assert er.sp_id[0] == "sp0" and er.rp_id[1] == "rp0_1" and er.seeker_post[0] == SEEKER_POSTS[0]
    assert er.response_post[0] == RESPONSES[0][0] and er.rationales[3] == ""
    assert labels["explorations"].level[2] == 2


def rewrite(path, edit):
    """Apply edit(rows) to a CSV's rows (header first) and write it back."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize("edit, row, column, problem", [
    (lambda rows: [r.pop(3) for r in rows], 1, "response_post", "missing from the header"),
    (lambda rows: rows[3].__setitem__(4, "3"), 4, "level", "'3' is not 0, 1 or 2"),
    (lambda rows: rows[2].__setitem__(4, "high"), 3, "level", "is not 0, 1 or 2"),
    (lambda rows: rows[5].__setitem__(3, "   "), 6, "response_post", "empty"),
    (lambda rows: rows[2].__setitem__(2, ""), 3, "seeker_post", "empty"),
    (lambda rows: rows[4].__setitem__(0, ""), 5, "sp_id", "empty"),
])
def test_a_bad_row_names_file_row_and_column(tmp_path, edit, row, column, problem):
    write_epitome_dir(tmp_path)
    path = tmp_path / EPITOME_FILES["interpretations"]
    rewrite(path, edit)
    with pytest.raises(EpitomeFormatError) as raised:
        read_epitome(tmp_path)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and f"row {row}," in message
    assert f"column {column!r}" in message and problem in message
    assert (raised.value.row, raised.value.column) == (row, column)


def test_missing_file_directory_and_empty_file(tmp_path):
    write_epitome_dir(tmp_path)
    (tmp_path / EPITOME_FILES["explorations"]).unlink()
    with pytest.raises(EpitomeFormatError, match="explorations-reddit.csv: column 'file': not found"):
        read_epitome(tmp_path)
    with pytest.raises(EpitomeFormatError, match="column 'directory': not found"):
        read_epitome(tmp_path / "nowhere")
    empty = tmp_path / "empty.csv"
    empty.write_text("sp_id,rp_id,seeker_post,response_post,level,rationales\n")
    with pytest.raises(EpitomeFormatError, match="no labelled pairs"):
        read_mechanism(empty, "explorations")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"sp_id,rp_id\n\xff\xfe\x00")
    with pytest.raises(EpitomeFormatError, match="not UTF-8"):
        read_mechanism(binary, "explorations")
