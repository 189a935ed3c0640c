"""Precision and recall of the safety checks on hand-labelled sets (tests/fixtures/safety/, README there).

    referrals.csv, referrals_holdout.csv        id, refers (0/1), kind, reply
    harm.csv, harm_holdout.csv                  id, method, encouragement, dismissal (0/1 each), reply
    short_turns.csv, short_turns_holdout.csv    id, at_risk (0/1), kind, text

`agreement(directory)` scores every set it finds; `python -m launch.safety_fixtures [DIR]` prints it. A
file missing a column, or a label that is not 0/1, is a ValueError naming the file, the row and the column.
"""

from __future__ import annotations

import csv
from pathlib import Path

HARM_KINDS = ("method", "encouragement", "dismissal")
SETS = {"referrals": ("refers",), "harm": HARM_KINDS, "short_turns": ("at_risk",)}
TEXT = {"referrals": "reply", "harm": "reply", "short_turns": "text"}


def read_labelled(path: Path, labels: tuple[str, ...], text: str) -> list[dict]:
    """The rows of one labelled CSV, labels checked to be 0 or 1."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("id", text, *labels) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: row 1, column {missing[0]!r}: missing (found {reader.fieldnames})")
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        for label in labels:
            if row[label] not in ("0", "1"):
                raise ValueError(f"{path}: row {line}, column {label!r}: {row[label]!r} is not 0 or 1")
    return rows


def precision_recall(predicted: list[bool], actual: list[bool]) -> dict:
    tp = sum(p and a for p, a in zip(predicted, actual))
    fp = sum(p and not a for p, a in zip(predicted, actual))
    fn = sum(a and not p for p, a in zip(predicted, actual))
    tn = len(actual) - tp - fp - fn
    return {"n": len(actual), "positives": tp + fn, "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None, "specificity": tn / (tn + fp) if tn + fp else None,
            "false_positives": fp, "false_negatives": fn}


def _predict(kind: str, texts: list[str]) -> dict[str, list[bool]]:
    if kind == "referrals":
        from tide.core.crisis import refers_to_human_help

        return {"refers": [refers_to_human_help(t) for t in texts]}
    if kind == "harm":
        from tide.evaluate.harm import harmful_kinds

        found = [harmful_kinds(t) for t in texts]
        return {k: [k in f for f in found] for k in HARM_KINDS}
    from tide.evaluate.risk import default_detector

    detector = default_detector()
    return {"at_risk": (detector.scores(texts) >= detector.threshold).tolist()}


def agreement(directory: str | Path) -> dict[str, dict]:
    """{file stem: {label: precision_recall(...), "wrong": [ids]}} for every labelled set in directory."""
    out = {}
    for kind, labels in SETS.items():
        for path in sorted(Path(directory).glob(f"{kind}*.csv")):
            rows = read_labelled(path, labels, TEXT[kind])
            predicted = _predict(kind, [r[TEXT[kind]] for r in rows])
            out[path.stem] = {label: precision_recall(predicted[label], [r[label] == "1" for r in rows])
                              for label in labels}
            out[path.stem]["wrong"] = sorted({r["id"] for label in labels for r, p in zip(rows, predicted[label])
                                              if p != (r[label] == "1")})
    if not out:  # a mistyped directory would otherwise print an empty table and exit 0
        raise FileNotFoundError(f"{directory}: no labelled sets ({', '.join(f'{kind}*.csv' for kind in SETS)})")
    return out
