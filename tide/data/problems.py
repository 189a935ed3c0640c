"""Problems found while reading TIDE: raised at once (strict) or recorded and counted (lenient).

Every problem names the file and the field (JSON) or the row and the column (tables), and has a kind
(malformed_json, empty_text, duplicate_id, ...) that data_issues.json counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path


class TideFormatError(ValueError):
    """A problem in a TIDE file; the message names the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str, kind: str):
        self.path, self.field, self.problem, self.kind = str(path), field, problem, kind
        super().__init__(f"{path}: {field}: {problem}")


@dataclass
class Issue:
    kind: str
    file: str
    field: str
    problem: str


class Problems:
    """Raises on the first problem (strict) or records it so that the caller skips what it names (lenient)."""

    def __init__(self, lenient: bool):
        self.lenient = lenient
        self.issues: list[Issue] = []

    def report(self, path, field: str, problem: str, kind: str) -> None:
        error = TideFormatError(path, field, problem, kind)
        if not self.lenient:
            raise error
        self.issues.append(Issue(kind, str(path), field, problem))

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(issue.kind for issue in self.issues))

    def as_dicts(self) -> list[dict]:
        return [asdict(issue) for issue in self.issues]
