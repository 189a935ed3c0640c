"""The canonical TIDE record: one row per dialogue, whatever the source files looked like."""

from __future__ import annotations

import json

# Persona attributes copied to their own columns (when the metadata carries them) so that
# analyses can group by them; the whole metadata object is kept in `persona` as JSON.
PERSONA_COLUMNS = ("age", "gender", "education", "ethnicity", "trauma_type")

COLUMNS = (
    "dialogue_id", "persona_id", "conversation_id", "scenario", "client", "reference",
    *PERSONA_COLUMNS, "persona", "extra", "source_file",
)


def make_record(*, persona_id: str, conversation_id: str, scenario, client: str, reference: str,
                persona: dict, extra: dict, source_file: str) -> dict:
    record = {
        "dialogue_id": f"{persona_id}-{conversation_id}",
        "persona_id": str(persona_id),
        "conversation_id": str(conversation_id),
        "scenario": None if scenario is None else str(scenario),
        "client": client,
        "reference": reference,
    }
    for name in PERSONA_COLUMNS:
        value = persona.get(name)
        record[name] = None if value is None else (float(value) if name == "age" else str(value))
    # JSON strings keep the Parquet schema fixed while the files' own fields vary.
    record["persona"] = json.dumps(persona, sort_keys=True, ensure_ascii=False)
    record["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False)
    record["source_file"] = source_file
    return record


# Where a record came from, not what it says: left out of content comparisons and fingerprints.
PROVENANCE_COLUMNS = ("source_file",)


def content_of(record: dict) -> dict:
    """The record without its provenance: equal for the same dialogue read from any file shape."""
    return {key: value for key, value in record.items() if key not in PROVENANCE_COLUMNS}


def persona_of(record: dict) -> dict:
    return json.loads(record["persona"])


def extra_of(record: dict) -> dict:
    return json.loads(record["extra"])
