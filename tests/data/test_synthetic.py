"""Synthetic TIDE: layout, schema, factor spans, self-harm handling, determinism, variety, atomic writes."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.data import synthetic
from tide.core.crisis import refers_to_human_help
from tide.data.synthetic import (
    FACTORS,
    SCENARIOS,
    TRAUMA_BEHAVIORS,
    TRAUMA_TYPES,
    generate_conversations,
    generate_personas,
    write_synthetic,
    write_synthetic_tide,
)
from tide.data.text_stats import corpus_variety, distinct_n

METADATA_KEYS = {"persona_id", "age", "gender", "education", "ethnicity", "trauma_type", "trauma_behaviors",
                 "occupation"}
CONVERSATION_KEYS = {"conversation_id", "scenario", "person", "chatbot", "factor_spans", "risk"}


def refers_to_crisis_help(text: str) -> bool:
    # The evaluation's own check (tide.core.crisis), which the generator's referrals must pass.
    return refers_to_human_help(text)


def read_dataset(root: Path, layout: str = "nested") -> tuple[list[dict], list[list[dict]]]:
    meta_dir = root / "metadata" if layout == "nested" else root
    conv_dir = root / "conversations" if layout == "nested" else root
    n = len(list(meta_dir.glob("*_metadata.json")))
    metadata = [json.loads((meta_dir / f"{i}_metadata.json").read_text(encoding="utf-8")) for i in range(1, n + 1)]
    conversations = [json.loads((conv_dir / f"{i}_conversations.json").read_text(encoding="utf-8"))
                     for i in range(1, n + 1)]
    return metadata, conversations


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The default 500 x 20 = 10,000 dialogues, generated once for this module."""
    out = tmp_path_factory.mktemp("full") / "tide"
    started = time.perf_counter()
    stats = write_synthetic_tide(out)
    seconds = time.perf_counter() - started
    metadata, conversations = read_dataset(out)
    dialogues = [c for convs in conversations for c in convs]
    return {"stats": stats, "seconds": seconds, "metadata": metadata, "dialogues": dialogues, "root": out}


# --------------------------------------------------------------------------------------------- layout & counts


def test_nested_layout_has_exact_file_names(tmp_path):
    out = tmp_path / "tide"
    write_synthetic_tide(out, n_personas=3, conversations_per_persona=2)
    assert sorted(p.name for p in out.iterdir()) == ["conversations", "metadata"]
    assert sorted(p.name for p in (out / "metadata").iterdir()) == [f"{i}_metadata.json" for i in (1, 2, 3)]
    assert sorted(p.name for p in (out / "conversations").iterdir()) == [
        f"{i}_conversations.json" for i in (1, 2, 3)]


def test_flat_layout_has_exact_file_names(tmp_path):
    out = tmp_path / "tide"
    stats = write_synthetic_tide(out, n_personas=2, conversations_per_persona=2, layout="flat")
    assert sorted(p.name for p in out.iterdir()) == [
        "1_conversations.json", "1_metadata.json", "2_conversations.json", "2_metadata.json"]
    assert stats["layout"] == "flat"
    metadata, conversations = read_dataset(out, layout="flat")
    assert [m["persona_id"] for m in metadata] == [1, 2]


def test_counts_and_stats(tmp_path):
    out = tmp_path / "tide"
    stats = write_synthetic_tide(out, n_personas=4, conversations_per_persona=7, seed=3)
    assert set(stats) == {"personas", "dialogues", "layout", "seed", "self_harm", "seconds"}
    assert (stats["personas"], stats["dialogues"], stats["layout"], stats["seed"]) == (4, 28, "nested", 3)
    metadata, conversations = read_dataset(out)
    assert [m["persona_id"] for m in metadata] == [1, 2, 3, 4]
    for convs in conversations:
        assert [c["conversation_id"] for c in convs] == list(range(1, 8))
    assert stats["self_harm"] == sum(c["risk"] is not None for convs in conversations for c in convs)


def test_files_are_utf8_indented_json(tmp_path):
    out = tmp_path / "tide"
    write_synthetic_tide(out, n_personas=1, conversations_per_persona=1)
    text = (out / "metadata" / "1_metadata.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "persona_id": 1,')


# --------------------------------------------------------------------------------------------- schema


def test_metadata_fields_and_types(full):
    assert len(full["metadata"]) == 500
    for m in full["metadata"]:
        assert set(m) == METADATA_KEYS
        assert isinstance(m["age"], int) and 18 <= m["age"] <= 80
        for key in ("gender", "education", "ethnicity", "occupation"):
            assert isinstance(m[key], str) and m[key]
        assert m["trauma_type"] in TRAUMA_TYPES
        behaviors = m["trauma_behaviors"]
        assert isinstance(behaviors, list) and 1 <= len(behaviors) <= 3
        assert len(set(behaviors)) == len(behaviors) and set(behaviors) <= set(TRAUMA_BEHAVIORS)
    # The persona attributes actually vary.
    assert len({m["trauma_type"] for m in full["metadata"]}) == len(TRAUMA_TYPES)
    assert min(m["age"] for m in full["metadata"]) < 25 and max(m["age"] for m in full["metadata"]) > 70


def test_conversation_fields_and_types(full):
    assert len(full["dialogues"]) == 10_000
    for c in full["dialogues"]:
        assert set(c) == CONVERSATION_KEYS
        assert isinstance(c["conversation_id"], int) and 1 <= c["conversation_id"] <= 20
        assert c["scenario"] in SCENARIOS
        assert isinstance(c["person"], str) and c["person"].strip()
        assert isinstance(c["chatbot"], str) and c["chatbot"].strip()
        assert isinstance(c["factor_spans"], list)
        assert c["risk"] in (None, "self_harm")
        assert "{" not in c["person"] + c["chatbot"], "an unfilled template slot leaked"


def test_scenarios_are_balanced(full):
    counts = Counter(c["scenario"] for c in full["dialogues"])
    assert set(counts) == set(SCENARIOS)
    # 10,000 / 12 = 833 each: every persona sees each scenario once before any repeats. Retired personas
    # skip "returning to work" (about 700 at seed 0), so that one is lower and the rest a little higher.
    assert all(600 <= n <= 950 for n in counts.values()), counts


# --------------------------------------------------------------------------------------------- empathy factors


def test_factor_spans_slice_sentences_in_order(full):
    for c in full["dialogues"]:
        reply, spans = c["chatbot"], c["factor_spans"]
        assert spans, "at least one factor is always present"
        factors = [s["factor"] for s in spans]
        assert len(set(factors)) == len(factors)
        assert factors == [f for f in FACTORS if f in factors], "factors come in the fixed order"
        previous_end = 0
        for s in spans:
            assert set(s) == {"factor", "start", "end"}
            assert previous_end <= s["start"] < s["end"] <= len(reply)
            piece = reply[s["start"]:s["end"]]
            assert piece.strip() == piece and piece[0].isupper() and piece[-1] in ".?!"
            previous_end = s["end"]


def test_each_factor_is_mostly_present_and_sometimes_absent(full):
    ordinary = [c for c in full["dialogues"] if c["risk"] is None]
    for factor in FACTORS:
        present = sum(any(s["factor"] == factor for s in c["factor_spans"]) for c in ordinary)
        # FACTOR_RATE is 0.8 (plus a little from forcing at least one factor); 9,700 draws: sd about 0.004.
        assert 0.75 < present / len(ordinary) < 0.85, (factor, present)
        assert len(ordinary) - present > 1000, f"{factor} must be absent in some replies (scorer negatives)"


def test_emotion_recognition_names_the_clients_feeling(tmp_path):
    persona = generate_personas(1, seed=5)[0]
    for c in generate_conversations(persona, 40, seed=5, self_harm_rate=0.0):
        span = next((s for s in c["factor_spans"] if s["factor"] == "emotion_recognition"), None)
        if span is None:
            continue
        recognised = c["chatbot"][span["start"]:span["end"]]
        feelings = synthetic._SCENARIO[c["scenario"]].feelings
        named = [f for f in feelings if re.search(rf"\b{re.escape(f)}\b", recognised)]
        assert named and any(re.search(rf"\b{re.escape(f)}\b", c["person"]) for f in named)


# --------------------------------------------------------------------------------------------- safety


def test_every_crisis_referral_sentence_matches_the_patterns():
    for sentence in synthetic._CRISIS_REFERRALS:
        assert refers_to_crisis_help(sentence), sentence


def test_no_ordinary_fragment_looks_like_a_crisis_referral():
    ordinary_pools = (synthetic._EMOTION_RECOGNITION + synthetic._DISTRESS_NORMALIZATION + synthetic._REFLECTIONS
                      + synthetic._STEPS + synthetic._REPLY_OPENERS
                      + tuple(step for s in synthetic._SCENARIO.values() for step in s.steps))
    assert not [t for t in ordinary_pools if refers_to_crisis_help(t)]


def test_self_harm_rate_and_crisis_referrals(full):
    risky = [c for c in full["dialogues"] if c["risk"] == "self_harm"]
    ordinary = [c for c in full["dialogues"] if c["risk"] is None]
    assert full["stats"]["self_harm"] == len(risky)
    # Default rate 0.03 over 10,000 dialogues: expected 300, sd about 17.
    assert 220 <= len(risky) <= 380
    for c in risky:
        assert refers_to_crisis_help(c["chatbot"]), c["chatbot"]
        factors = {s["factor"] for s in c["factor_spans"]}
        assert "emotion_recognition" in factors and "distress_normalization" not in factors
    assert not [c["chatbot"] for c in ordinary if refers_to_crisis_help(c["chatbot"])]
    # The client turns differ: the risky ones voice self-harm, in more than one way.
    assert len({c["person"] for c in risky}) == len(risky)
    assert not any(line in c["person"] for c in ordinary for line in synthetic._SELF_HARM_LINES)
    # Many phrasings, not one template: at least 20 of the lines appear among 300 at-risk turns.
    assert len({line for c in risky for line in synthetic._SELF_HARM_LINES if line in c["person"]}) >= 20
    # Some ordinary turns carry risk words that voice none (negated, about someone else, idioms).
    confounded = [c for c in ordinary if any(line in c["person"] for line in synthetic._RISK_CONFOUNDER_LINES)]
    assert 0.04 * len(ordinary) < len(confounded) < 0.12 * len(ordinary)


@pytest.mark.parametrize("rate, expected", [(0.0, 0), (1.0, 30)])
def test_self_harm_rate_extremes(tmp_path, rate, expected):
    stats = write_synthetic_tide(tmp_path / "tide", n_personas=3, conversations_per_persona=10,
                                 self_harm_rate=rate)
    assert stats["self_harm"] == expected


# --------------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(tmp_path):
    write_synthetic_tide(tmp_path / "a", n_personas=5, conversations_per_persona=6, seed=11)
    write_synthetic_tide(tmp_path / "b", n_personas=5, conversations_per_persona=6, seed=11)
    assert all_bytes(tmp_path / "a") == all_bytes(tmp_path / "b")


def test_different_seed_gives_different_content(tmp_path):
    write_synthetic_tide(tmp_path / "a", n_personas=5, conversations_per_persona=6, seed=11)
    write_synthetic_tide(tmp_path / "b", n_personas=5, conversations_per_persona=6, seed=12)
    a, b = all_bytes(tmp_path / "a"), all_bytes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[name] != b[name] for name in a if name.startswith("conversations/"))


def test_generators_are_pure():
    assert generate_personas(4, seed=1) == generate_personas(4, seed=1)
    persona = generate_personas(1, seed=1)[0]
    assert generate_conversations(persona, 5, 1, 0.1) == generate_conversations(persona, 5, 1, 0.1)
    # A persona's dialogues do not depend on how many personas are generated alongside it.
    assert generate_personas(2, seed=1)[1] == generate_personas(9, seed=1)[1]


# --------------------------------------------------------------------------------------------- variety & speed


def test_variety_of_the_full_set(full):
    replies = corpus_variety(c["chatbot"] for c in full["dialogues"])
    clients = corpus_variety(c["person"] for c in full["dialogues"])
    # Measured at seed 0: 9,866 unique replies, distinct-2 0.0089 (5,883 distinct bigrams of 658,762);
    # seeds 1, 2, 3, 42 give 9,882-9,912 and 0.0089-0.0090. Clients: 9,961 unique, distinct-2 0.0108.
    # For scale, the same generator cut to one phrasing per factor gives 7,966 unique replies (slots alone
    # make replies unique) but distinct-2 0.0010 (715 bigrams): distinct-2 > 0.007 is the bound that shows
    # the phrasings vary, unique > 9,500 that near-duplicates are rare. Slack left for template edits.
    assert replies["unique_texts"] > 9_500
    assert replies["distinct_2"] > 0.007
    assert clients["unique_texts"] > 9_500
    assert clients["distinct_2"] > 0.008
    # No single reply sentence dominates: the most common one appears in under 10% of replies.
    sentences = Counter(s for c in full["dialogues"] for s in re.split(r"(?<=[.?!])\s+", c["chatbot"]))
    assert sentences.most_common(1)[0][1] < 1_000


def test_full_set_generates_quickly(full):
    # About 2 s on a 2-core machine; the bound is generous on purpose (shared CI runners).
    assert full["stats"]["seconds"] < 15 and full["seconds"] < 15
    assert full["stats"]["dialogues"] == 10_000


# --------------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, name", [
    ({"n_personas": 0}, "n_personas"),
    ({"n_personas": 2.5}, "n_personas"),
    ({"conversations_per_persona": 0}, "conversations_per_persona"),
    ({"conversations_per_persona": True}, "conversations_per_persona"),
    ({"layout": "sideways"}, "layout"),
    ({"self_harm_rate": -0.1}, "self_harm_rate"),
    ({"self_harm_rate": 1.5}, "self_harm_rate"),
    ({"self_harm_rate": float("nan")}, "self_harm_rate"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(tmp_path, kwargs, name):
    """SyntheticConfig's bounds check them (ConfigError, a ValueError), before anything is written."""
    with pytest.raises(ValueError, match=name):
        write_synthetic_tide(tmp_path / "tide", **kwargs)
    assert list(tmp_path.iterdir()) == [], "nothing is written when the arguments are bad"


def test_written_from_the_data_slice_like_from_keywords(tmp_path):
    """write_synthetic(out, data.synthetic) writes what the same keywords write."""
    options = {"n_personas": 4, "conversations_per_persona": 3, "seed": 5, "layout": "flat", "self_harm_rate": 0.2}
    synthetic_cfg = with_options(config_for().data.synthetic, options, path="data.synthetic")
    stats = write_synthetic(tmp_path / "a", synthetic_cfg)
    assert write_synthetic_tide(tmp_path / "b", **options)["self_harm"] == stats["self_harm"]
    assert (stats["personas"], stats["dialogues"], stats["layout"], stats["seed"]) == (4, 12, "flat", 5)
    assert all_bytes(tmp_path / "a") == all_bytes(tmp_path / "b")


# --------------------------------------------------------------------------------------------- atomic writes


def test_write_leaves_no_temporary_directory(tmp_path):
    write_synthetic_tide(tmp_path / "tide", n_personas=2, conversations_per_persona=2)
    assert [p.name for p in tmp_path.iterdir()] == ["tide"]


def test_rewrite_replaces_existing_directory_completely(tmp_path):
    out = tmp_path / "tide"
    write_synthetic_tide(out, n_personas=5, conversations_per_persona=2)
    (out / "stale.txt").write_text("old")
    write_synthetic_tide(out, n_personas=2, conversations_per_persona=2, layout="flat")
    assert sorted(p.name for p in out.iterdir()) == [
        "1_conversations.json", "1_metadata.json", "2_conversations.json", "2_metadata.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["tide"]


def test_failed_write_keeps_the_previous_dataset(tmp_path, monkeypatch):
    out = tmp_path / "tide"
    write_synthetic_tide(out, n_personas=3, conversations_per_persona=2, seed=1)
    before = all_bytes(out)
    calls = {"n": 0}
    real_write = synthetic._write_json

    def failing_write(path, obj):
        calls["n"] += 1
        if calls["n"] == 4:  # fail halfway through the new dataset
            raise OSError("disk full")
        real_write(path, obj)

    monkeypatch.setattr(synthetic, "_write_json", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_synthetic_tide(out, n_personas=3, conversations_per_persona=2, seed=2)
    assert all_bytes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["tide"]


# --------------------------------------------------------------------------------------------- text_stats


def test_distinct_n_hand_computed():
    texts = ["a b a b", "A b c"]
    # Lowercased tokens: [a b a b], [a b c]. Unigrams: 7 in all, {a, b, c} unique -> 3/7.
    assert distinct_n(texts, 1) == pytest.approx(3 / 7)
    # Bigrams within each text: (a b) (b a) (a b) | (a b) (b c): 5 in all, 3 unique -> 3/5.
    # (Across the boundary "b" + "A" would add a fourth; n-grams never cross texts.)
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)
    # Trigrams of "a b c a b c": (a b c) (b c a) (c a b) (a b c): 4 in all, 3 unique; an iterator works too.
    assert distinct_n(iter(["a b c a b c"]), 3) == pytest.approx(3 / 4)
    assert distinct_n([], 1) == 0.0
    assert distinct_n(["", "single"], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n(texts, 0)


def test_corpus_variety_hand_computed():
    assert corpus_variety(iter(["a b", "a b", "b c"])) == {
        "texts": 3, "unique_texts": 2, "distinct_1": pytest.approx(3 / 6), "distinct_2": pytest.approx(2 / 3)}
