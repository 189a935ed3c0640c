"""The import spec: how a responses file maps onto the study's fields (YAML, typed, checked on load).

A spec names, for a file of responses, the participant column, the item column (or none), the outcome
columns and their scale, the factor columns, the demographic columns, the duration column and the key.
`load_spec(path)` reads it; a bad spec stops in one line naming the file and the option
(`spec.yaml: outcomes.empathy.max: must be > min (5), got 1`). The whole schema:

    format: long | wide          # long: one row per participant x item; wide: one row per participant
    participant: participant_id  # the participant column; "@file": each file is one rater, named by its
    participant_pattern: null    #   file name (optionally the first group of this regex on the name)
    item: item_id                # the item column (long); null: between-subjects, one rating per row
    questions: null              # wide, crossed: question columns "{item}_{outcome}" ({outcome} is the
                                 #   outcome's column), one per item and outcome
    outcomes:                    # at least one: NAME -> the column and its scale
      empathy: {column: empathy, min: 1, max: 5, integer: true}
    factors:                     # NAME -> the column (of the responses, or of the key once joined)
      condition: {column: condition, reference: zero_shot, levels: null}
    demographics:                # NAME -> the column; numeric (groups: cut points) or categorical
      age: {column: age, type: numeric, groups: [40, 60], per: 10}
      gender: {column: gender, type: categorical, recode: {male: man, female: woman}, other: other}
    duration: duration_seconds   # seconds the participant took (speeders); null: none
    key: key.csv                 # the unblinding key (relative to this file); null: factors are in the file
    quality: {attention: {...}, gold: {...}, speeders: {...}, straightliners: {...}}   # tide/study/quality.py
    analysis: {effects: "source * label", focal: condition, ...}                    # tide/study/analysis.py

The key (written by `python -m launch.study build`) has one row per item: item_id, kind (rating,
attention, gold), system, model, condition, scenario, dialogue_id and `expected` for attention and gold
items (`perceived_empathy=2`; `empathy<=2`, `empathy>=4`; `*=2`: every outcome; several joined by
`;`), naming outcomes by their spec NAME. Once joined, its columns can be factor columns.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from tide.config.fields import ConfigError, build, option

FORMATS = ("long", "wide")
ACTIONS = ("exclude", "flag", "ignore")  # not "off": YAML reads an unquoted off as false
KINDS = ("rating", "attention", "gold")
KEY_COLUMNS = ("item_id", "kind", "system", "model", "condition", "scenario", "dialogue_id", "expected")
FROM_FILE = "@file"
# Columns of the imported table that a factor, outcome or demographic may not be called.
RESERVED = ("participant", "item", "kind", "expected", "duration", "source_file", "source_row")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


class StudySpecError(ValueError):
    """A spec that cannot be used; the message names the file and the option."""


@dataclass(frozen=True)
class OutcomeSpec:
    column: str
    min: float
    max: float
    integer: bool = False  # every answer a whole number (one Likert item); False for a mean of several items

    def __post_init__(self):
        if self.max <= self.min:
            raise ValueError(f"max: must be > min ({self.min}), got {self.max}")


@dataclass(frozen=True)
class FactorSpec:
    column: str
    reference: str | None = None        # the level effects are measured against; None: the first in sort order
    levels: tuple[str, ...] | None = None  # the allowed levels; any other answer is a problem


@dataclass(frozen=True)
class DemographicSpec:
    column: str
    type: str = option(choices=("numeric", "categorical"))
    groups: tuple[float, ...] | None = None  # numeric: cut points, e.g. [40, 60] -> "<40", "40-59", "60+"
    recode: dict | None = None               # categorical: answer (trimmed, lower-cased) -> level
    other: str | None = None                 # categorical: the level of answers recode does not name
    min_group: int = option(ge=1, default=10)  # levels with fewer participants stay out of moderation fits
    per: float = option(gt=0, default=1.0)   # numeric: the unit a moderation is reported per (10: a decade)

    def __post_init__(self):
        if self.groups is not None and (self.type != "numeric" or list(self.groups) != sorted(set(self.groups))):
            raise ValueError("groups: cut points of a numeric demographic, strictly increasing")
        if (self.recode is not None or self.other is not None) and self.type != "categorical":
            raise ValueError("recode: only a categorical demographic is recoded")


@dataclass(frozen=True)
class CheckRule:
    """Attention and gold items: a participant failing more than max_failures of them is excluded (or flagged)."""
    action: str = option(choices=ACTIONS, default="exclude")
    max_failures: int = option(ge=0, default=0)


@dataclass(frozen=True)
class SpeederRule:
    """Faster than min_seconds, or than fraction_of_median of the median participant's time."""
    action: str = option(choices=ACTIONS, default="flag")
    min_seconds: float | None = option(gt=0, default=None)
    fraction_of_median: float | None = option(gt=0, lt=1, default=0.3)


@dataclass(frozen=True)
class StraightlineRule:
    """At least min_answers rating answers, all the same (extra `columns` of a wide export count as answers)."""
    action: str = option(choices=ACTIONS, default="flag")
    min_answers: int = option(ge=2, default=5)
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualitySpec:
    attention: CheckRule = CheckRule()
    gold: CheckRule = CheckRule()
    speeders: SpeederRule = SpeederRule()
    straightliners: StraightlineRule = StraightlineRule()


@dataclass(frozen=True)
class AnalysisSpec:
    effects: str | None = None   # factors joined by "*" (crossed) or "+"; None: all, crossed where every cell exists
    focal: str | None = None     # the factor split by scenario; None: condition, else the first factor
    scenario: str | None = "scenario"  # the scenario column (per-scenario gains); None: none
    ordinal: bool = True         # fit an ordinal model too, as a robustness check
    alpha_level: str = option(choices=("ordinal", "interval"), default="ordinal")  # Krippendorff's metric
    n_boot: int = option(ge=10, default=1000)
    seed: int = 0
    human: tuple[str, ...] = ()   # judge-human agreement: the participants who are the human reference
    judges: tuple[str, ...] = ()  # ... and the automatic raters compared with them


@dataclass(frozen=True)
class StudySpec:
    format: str = option(choices=FORMATS)
    participant: str
    outcomes: dict
    item: str | None = None
    participant_pattern: str | None = None
    questions: str | None = None
    factors: dict = field(default_factory=dict)
    demographics: dict = field(default_factory=dict)
    duration: str | None = None
    key: str | None = None
    quality: QualitySpec = QualitySpec()
    analysis: AnalysisSpec = AnalysisSpec()
    path: Path | None = None  # the spec file (not a YAML option): `key` is relative to its folder

    def key_path(self) -> Path | None:
        if self.key is None:
            return None
        key = Path(self.key)
        return key if key.is_absolute() or self.path is None else self.path.parent / key


def load_spec(path: str | Path) -> StudySpec:
    """The spec in a YAML file, checked; raises StudySpecError naming the file and the option."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise StudySpecError(f"{path}: spec file not found")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise StudySpecError(f"{path}:{where} not valid YAML ({getattr(error, 'problem', error)})") from None
    try:
        return spec_from_mapping(values, path)
    except ConfigError as error:
        raise StudySpecError(f"{path}: {error}") from None


def spec_from_mapping(values, path: Path | None = None) -> StudySpec:
    """The spec from plain values (a parsed YAML mapping); raises ConfigError naming the option."""
    if not isinstance(values, dict):
        raise ConfigError(f"expected a mapping of options, got {values!r}")
    if "path" in values:
        raise ConfigError("path: unknown option (the spec's own location is not an option)")
    spec = build(StudySpec, values)
    spec = dataclasses.replace(spec, path=path,
                               outcomes=_named(spec.outcomes, OutcomeSpec, "outcomes"),
                               factors=_named(spec.factors, FactorSpec, "factors"),
                               demographics=_named(spec.demographics, DemographicSpec, "demographics"))
    _check(spec)
    return spec


def _named(values: dict, cls, where: str) -> dict:
    out = {}
    for name, item in values.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            raise ConfigError(f"{where}.{name}: a name is letters, digits and _ (not {', '.join(RESERVED)})")
        out[name] = build(cls, item, f"{where}.{name}")
    return out


def _check(spec: StudySpec) -> None:
    """Rules across options: what a long or wide file needs, names used once, the formula's factors exist."""
    if not spec.outcomes:
        raise ConfigError("outcomes: name at least one outcome column")
    if spec.format == "long" and spec.item is None:
        raise ConfigError("item: a long file has an item column (or use format: wide for one row per participant)")
    if spec.format == "long" and spec.questions is not None:
        raise ConfigError("questions: only a wide export has question columns")
    if spec.format == "wide" and spec.item is not None:
        raise ConfigError("item: a wide export has no item column (questions: '{item}_{outcome}' names them)")
    if spec.questions is not None and not {"{item}", "{outcome}"} <= set(re.findall(r"\{\w+\}", spec.questions)):
        raise ConfigError(f"questions: a template with {{item}} and {{outcome}}, got {spec.questions!r}")
    if spec.key is not None and spec.item is None and spec.questions is None:
        raise ConfigError("key: the key joins on items; give item (long) or questions (wide)")
    if spec.participant_pattern is not None and spec.participant != FROM_FILE:
        raise ConfigError(f"participant_pattern: only with participant: {FROM_FILE}")
    names = [*spec.outcomes, *spec.factors, *spec.demographics]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{twice[0]}: named twice among outcomes, factors and demographics")
    _check_analysis(spec)


def _check_analysis(spec: StudySpec) -> None:
    analysis = spec.analysis
    if analysis.effects is not None:
        used = [name.strip() for name in re.split(r"[*+]", analysis.effects)]
        unknown = [name for name in used if name not in spec.factors]
        if unknown:
            raise ConfigError(f"analysis.effects: {unknown[0]!r} is not a factor (factors: {', '.join(spec.factors)})")
    if analysis.focal is not None and analysis.focal not in spec.factors:
        raise ConfigError(f"analysis.focal: {analysis.focal!r} is not a factor (factors: {', '.join(spec.factors)})")
    overlap = set(analysis.human) & set(analysis.judges)
    if overlap:
        raise ConfigError(f"analysis.judges: {sorted(overlap)[0]!r} is also a human rater")


_EXPECTED = re.compile(r"\s*(\*|[A-Za-z_]\w*)\s*(<=|>=|=)\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_expected(text: str, outcomes) -> list[tuple[str, str, float]]:
    """A key's `expected` cell as (outcome, operator, value) checks: `empathy<=2;*=3`; `*` is every outcome.

    Raises ValueError naming what is wrong (the caller adds file, row and column)."""
    checks = []
    for part in [p for p in text.split(";") if p.strip()]:
        match = _EXPECTED.match(part)
        if not match:
            raise ValueError(f"{part.strip()!r} is not OUTCOME=VALUE, OUTCOME<=VALUE or OUTCOME>=VALUE")
        name, operator, value = match.groups()
        if name != "*" and name not in outcomes:
            raise ValueError(f"{name!r} is not an outcome of the spec ({', '.join(outcomes)})")
        checks += [(outcome, operator, float(value)) for outcome in (outcomes if name == "*" else [name])]
    if not checks:
        raise ValueError("empty: an attention or gold item needs its expected answer")
    return checks


def passes(checks: list[tuple[str, str, float]], answers) -> bool:
    """Whether the answers (outcome -> number; a missing answer fails) meet every check."""
    def one(outcome, operator, value):
        answer = answers.get(outcome)
        if answer is None or answer != answer:  # missing or NaN: an unanswered check fails
            return False
        return answer == value if operator == "=" else answer <= value if operator == "<=" else answer >= value
    return all(one(*check) for check in checks)
