"""Reddit C-SSRS reader: suicide risk of Reddit users as rated by psychiatrists (Gaur et al., WWW 2019).

    read_cssrs(directory)  ->  CssrsData(users, report)

The directory holds `500_Reddit_users_posts_labels.csv` (Zenodo record 2667859, CC BY 4.0; the suite's
development split holds 296 of the 500 users). One row per user: `User`, `Post` (the user's posts as a
Python-style list of strings written as one string) and `Label` on the Columbia scale: Supportive,
Indicator, Ideation, Behavior or Attempt. At risk means Ideation, Behavior or Attempt.

The file is real data, not clean text, and the reader handles and counts three things (`report`):

- malformed lists: some `Post` cells are cut off inside a string (the list never closes). The complete
  posts before the cut are kept and the cut-off last post is kept as it is, flagged; rows are not dropped;
- lost apostrophes ("dont", "Im"): restored for an unambiguous list of contractions (the same
  normalisation runs on every text the detector scores, so chat turns written without apostrophes read
  alike: tide.evaluate.risk_lexicon.normalise);
- medical-concept substitutions: the source replaced some words with concept names ("Hyperactive
  behavior" where "like" stood, "Drug abuse school" for "high school", "Asthenia" for "week"). Those
  whose original word is clear from every context checked are mapped back (SUBSTITUTIONS); the
  rest stay as they are (most are the same word capitalised: "Depression", "Suicide").

A missing file or column, an unknown label, an empty user or a cell that is not a list at all is a
`CssrsFormatError` naming the file, the row (the CSV line, header = line 1) and the column.
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from tide.core.files import FileFormatError

CSSRS_FILE = "500_Reddit_users_posts_labels.csv"
COLUMNS = ("User", "Post", "Label")
LABELS = ("Supportive", "Indicator", "Ideation", "Behavior", "Attempt")
AT_RISK = ("Ideation", "Behavior", "Attempt")
NO_RISK = "Supportive"

# Concept name -> the word it replaced, where the contexts leave no doubt (checked by reading the
# matches: "sounds Hyperactive behavior you may", "three times a Asthenia", "after Drug abuse school",
# "I Ventricular Dysfunction, Left my house", "couldnt Hypersomnia", "please dont Chest Pain yourself").
SUBSTITUTIONS = {
    "Hyperactive behavior": "like",
    "Ventricular Dysfunction, Left": "left",
    "Drug abuse": "high",
    "Irritable Mood": "mean",
    "Asthenia": "week",
    "Hypersomnia": "sleep",
    "Somnolence": "asleep",
    "Wakefulness": "awake",
    "Chest Pain": "hurt",
    "Crying Reflex, Abnormal": "cry",
    "Attention Deficit Disorder": "add",
    "Sharp Pain": "quick",
    "Sedated state": "calm",
    "Mental Depression": "depression",
    "Megacolon, Toxic": "toxic",
    "Ophthalmia, Sympathetic": "sympathetic",
    "Weakness of hand": "hand",
    "Initial Middle Sleeplessness": "insomnia",
}
# "Pain yourself" / "Pain myself": the verb "hurt" replaced by the concept "Pain" (the noun stays).
_PAIN_VERB = re.compile(r"\bPain (myself|yourself|himself|herself|themselves|me|you|him|her|them)\b")
_SUBSTITUTION = re.compile("|".join(re.escape(k) for k in sorted(SUBSTITUTIONS, key=len, reverse=True)))
_BYTE_ESCAPE = re.compile(r"(?:\\x[0-9a-f]{2})+")


class CssrsFormatError(FileFormatError):
    """A problem in the C-SSRS file; the message names the file, the row and the column."""


@dataclass
class CssrsUser:
    user: str
    label: str
    posts: list[str]
    truncated: bool = False  # the Post list was cut off (its last post is incomplete)

    @property
    def at_risk(self) -> bool:
        return self.label in AT_RISK


@dataclass
class CssrsData:
    path: str
    users: list[CssrsUser]
    report: dict = field(default_factory=dict)


def split_broken_list(cell: str) -> list[str]:
    """The posts of a list literal that was cut off inside its last string: every complete post, then
    the unterminated rest (its opening quote stripped)."""
    posts, i = [], cell.index("[") + 1
    while i < len(cell):
        while i < len(cell) and cell[i] in " ,":
            i += 1
        if i >= len(cell) or cell[i] == "]":
            break
        quote, j = cell[i], i + 1
        while j < len(cell) and cell[j] != quote:
            j += 2 if cell[j] == "\\" else 1
        if j >= len(cell):  # never closed: the cut-off post
            posts.append(cell[i + 1:].replace("\\'", "'").replace('\\"', '"'))
            break
        posts.append(ast.literal_eval(cell[i:j + 1]))
        i = j + 1
    return posts


def parse_posts(cell: str) -> tuple[list[str], bool]:
    """(posts, truncated) of one Post cell; raises ValueError when it is not a list at all."""
    text = cell.strip()
    if not text.startswith("["):
        raise ValueError("not a list of posts (does not start with '[')")
    try:
        posts = ast.literal_eval(text)
        if isinstance(posts, list) and all(isinstance(p, str) for p in posts):
            return posts, False
    except (SyntaxError, ValueError):
        pass
    return split_broken_list(text), True


def undo_substitutions(text: str, counts: dict[str, int]) -> str:
    """The concept names of SUBSTITUTIONS mapped back to their words; counts what it replaced."""
    def replace(match: re.Match) -> str:
        counts[match.group(0)] = counts.get(match.group(0), 0) + 1
        return SUBSTITUTIONS[match.group(0)]

    def hurt(match: re.Match) -> str:
        counts["Pain (verb)"] = counts.get("Pain (verb)", 0) + 1
        return f"hurt {match.group(1)}"

    text = _BYTE_ESCAPE.sub(" ", text)  # stray UTF-8 escapes ("\xe2\x80\x9c") left by the source
    return _PAIN_VERB.sub(hurt, _SUBSTITUTION.sub(replace, text))


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise CssrsFormatError(path, None, "-", f"no such file (a C-SSRS directory holds {CSSRS_FILE})")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CssrsFormatError(path, 1, missing[0], f"missing column (found {reader.fieldnames})")
        return list(reader)


def read_cssrs(directory: str | Path) -> CssrsData:
    """Every user of the directory's C-SSRS file, posts cleaned; `report` counts what was repaired."""
    from tide.evaluate.risk_lexicon import normalise

    path = Path(directory) / CSSRS_FILE
    users, truncated, substitutions, seen = [], [], {}, set()
    for line, row in enumerate(_read_rows(path), start=2):
        user, label = (row["User"] or "").strip(), (row["Label"] or "").strip()
        if not user:
            raise CssrsFormatError(path, line, "User", "empty user")
        if user in seen:
            raise CssrsFormatError(path, line, "User", f"user {user!r} appears twice")
        if label not in LABELS:
            raise CssrsFormatError(path, line, "Label", f"unknown label {label!r} (known: {', '.join(LABELS)})")
        try:
            posts, cut = parse_posts(row["Post"] or "")
        except ValueError as error:
            raise CssrsFormatError(path, line, "Post", str(error)) from None
        posts = [normalise(undo_substitutions(p, substitutions)) for p in posts]
        posts = [p for p in posts if p.strip()]
        if not posts:
            raise CssrsFormatError(path, line, "Post", "no posts")
        seen.add(user)
        users.append(CssrsUser(user, label, posts, cut))
        if cut:
            truncated.append(f"row {line} ({user})")
    labels = {name: sum(u.label == name for u in users) for name in LABELS}
    report = {"users": len(users), "posts": sum(len(u.posts) for u in users), "labels": labels,
              "malformed_lists": {"rows": len(truncated), "where": truncated,
                                  "handling": "complete posts kept, the cut-off last post kept as it is"},
              "substitutions_undone": dict(sorted(substitutions.items(), key=lambda kv: -kv[1]))}
    return CssrsData(str(path), users, report)
