"""Table exports: cells read as the values they stand for, columns sorted into persona and dialogue, bad files named."""

import json

import pytest

from tide.data.containers import BadConversation
from tide.data.tables import BadTable, check_columns, read_table, split_row


def write(tmp_path, name: str, content) -> object:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_csv_cells_read_as_values_outside_the_text_columns(tmp_path):
    path = write(tmp_path, "t.csv", "persona_id,conversation_id,education,person,chatbot,age,score,behaviors,spans,risk\n"
                                    '7,001,12,5,"Yes, ""really"".",34,0.5,"[\'a\', \'b\']","[{""start"": 1}]",\n')
    table = read_table(path)
    (label, row), = table.rows
    assert label == "row 2" and table.format == "CSV"
    assert row == {"persona_id": 7, "conversation_id": "001", "education": "12", "person": "5",
                   "chatbot": 'Yes, "really".', "age": 34, "score": 0.5, "behaviors": ["a", "b"],
                   "spans": [{"start": 1}], "risk": None}
    persona, conversation = split_row(row, table.persona_columns())
    assert persona == {"persona_id": 7, "education": "12", "age": 34}
    assert set(conversation) == {"conversation_id", "person", "chatbot", "score", "behaviors", "spans", "risk"}


def test_persona_prefixed_columns_and_the_pandas_index(tmp_path):
    path = write(tmp_path, "t.tsv", "\tpersona_id\tpersona_hobby\tpersona.city\tclient\tassistant\n"
                                    "0\t1\tchess\tOslo\thi\thello\n")
    table = read_table(path)
    assert table.columns == ["persona_id", "persona_hobby", "persona.city", "client", "assistant"]
    assert table.dropped == ["column 1 (unnamed: the writer's row index)"]
    persona, conversation = split_row(table.rows[0][1], table.persona_columns())
    assert persona == {"persona_id": 1, "hobby": "chess", "city": "Oslo"}
    assert conversation == {"client": "hi", "assistant": "hello"}


def test_json_lines_rows_may_be_any_conversation(tmp_path):
    rows = [{"persona_id": 1, "messages": [{"role": "user", "content": "hi"}]}, ["not", "an object"]]
    path = write(tmp_path, "t.jsonl", "".join(json.dumps(row) + "\n" for row in rows) + "\n{broken\n")
    table = read_table(path)
    assert [label for label, _ in table.rows] == ["line 1", "line 2", "line 4"]
    assert table.rows[0][1] == rows[0] and table.rows[1][1] == rows[1]
    assert isinstance(table.rows[2][1], BadConversation) and "malformed JSON at column 2" in table.rows[2][1].problem
    check_columns(table)  # JSON Lines rows are checked one by one, not by columns


def test_parquet_keeps_its_types(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"persona_id": 1, "person": "hi", "chatbot": "hello", "trauma_behaviors": ["a"], "age": 30.5}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    table = read_table(tmp_path / "t.parquet")
    assert table.rows == [("row 1", rows[0])] and table.format == "Parquet"


@pytest.mark.parametrize("name,content,where,problem,kind", [
    ("t.csv", "", "<header>", "empty file: no header row", "empty_container"),
    ("t.csv", "person,chatbot,person\nhi,ok,hi\n", "column 'person'", "duplicate column 'person'", "duplicate_id"),
    ("t.csv", b"person,chatbot\ncaf\xe9,ok\n", "<encoding>", "not valid UTF-8: byte 0xe9 at offset 18", "bad_encoding"),
    ("t.parquet", b"PAR1 not really", "<parquet>", "not a readable Parquet file", "malformed_table"),
])
def test_a_table_that_cannot_be_read_names_where(tmp_path, name, content, where, problem, kind):
    with pytest.raises(BadTable) as error:
        read_table(write(tmp_path, name, content))
    assert (error.value.where, error.value.kind) == (where, kind) and problem in error.value.problem


def test_broken_rows_are_named_and_the_rest_is_read(tmp_path):
    path = write(tmp_path, "t.csv", 'person,chatbot\nhi,ok\nshort\nhi,ok,extra\nhi,"never closed\n')
    rows = read_table(path).rows
    assert rows[0] == ("row 2", {"person": "hi", "chatbot": "ok"})
    problems = [(label, row.problem) for label, row in rows[1:]]
    assert problems == [("row 3", "1 fields but the header has 2 (truncated or misquoted?)"),
                        ("row 4", "3 fields but the header has 2 (truncated or misquoted?)"),
                        ("row 5", "malformed CSV: unexpected end of data")]


@pytest.mark.parametrize("header,missing", [("persona_id,chatbot", "client"), ("persona_id,user", "reply")])
def test_a_table_without_its_client_or_reply_column_is_refused(tmp_path, header, missing):
    table = read_table(write(tmp_path, "t.csv", f"{header}\n1,x\n"))
    with pytest.raises(BadTable) as error:
        check_columns(table)
    assert error.value.kind == "missing_column" and f"missing {missing} column (looked for" in error.value.problem
    assert f"columns are {header.split(',')}" in error.value.problem
    check_columns(read_table(write(tmp_path, "u.csv", "persona_id,messages\n1,[]\n")))  # turns in one column
