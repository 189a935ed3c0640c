"""Problems: strict raises the first one, lenient records each with its kind."""

import pytest

from tide.data.problems import Problems, TideFormatError


def test_strict_raises_and_lenient_records():
    with pytest.raises(TideFormatError, match=r"^a\.json: conversations\[3\]\.chatbot: empty reply text$") as error:
        Problems(lenient=False).report("a.json", "conversations[3].chatbot", "empty reply text", "empty_text")
    assert (error.value.path, error.value.kind) == ("a.json", "empty_text")
    problems = Problems(lenient=True)
    problems.report("a.json", "x", "bad", "wrong_type")
    problems.report("b.csv", "row 2, column 'age'", "bad", "wrong_type")
    problems.report("b.csv", "<rows>", "none", "empty_container")
    assert problems.by_kind() == {"wrong_type": 2, "empty_container": 1}
    assert problems.as_dicts()[1] == {"kind": "wrong_type", "file": "b.csv", "field": "row 2, column 'age'",
                                      "problem": "bad"}
