"""Fine-tuned minus zero-shot gains, end-of-turn rates and side-by-side samples (tide/report/compare.py)."""

import numpy as np
import pandas as pd
import pytest

from tide.report.compare import eos_rates, format_gains, format_samples, gains, side_by_side


def paired_rows(gain: float, n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.uniform(0.2, 0.5)
        for condition, shift, eos in (("zero_shot", 0.0, i % 2 == 0), ("finetuned", gain, i % 10 != 0)):
            rows.append({"dialogue_id": f"d{i}", "model": "m", "condition": condition, "scenario": "s",
                         "client": f"client {i}", "reference": f"reference {i}", "reply": f"{condition} reply {i}",
                         "finish_reason": "eos" if eos else "length",
                         "cosine": base + shift + rng.normal(0, 0.02), "rouge_l": base + rng.normal(0, 0.02)})
    return pd.DataFrame(rows)


def test_a_real_gain_has_a_ci_above_zero_and_a_small_p():
    gain = gains(paired_rows(0.05), ["cosine", "rouge_l"], n_boot=500)
    assert gain["cosine"]["ci_low"] > 0 and gain["cosine"]["mean"] == pytest.approx(0.05, abs=0.01)
    assert gain["cosine"]["p"] < 1e-6 and gain["cosine"]["pairs"] == 60
    # No gain: the CI straddles zero and the test does not reject.
    assert gain["rouge_l"]["ci_low"] < 0 < gain["rouge_l"]["ci_high"] and gain["rouge_l"]["p"] > 0.01


def test_gain_pairs_dialogues_not_rows():
    rows = paired_rows(0.05)
    shuffled = rows.sample(frac=1.0, random_state=3)  # order must not matter: pairs are matched by dialogue
    assert gains(shuffled, ["cosine"], n_boot=200)["cosine"]["mean"] == pytest.approx(
        gains(rows, ["cosine"], n_boot=200)["cosine"]["mean"])


def test_end_of_turn_rates_per_condition():
    assert eos_rates(paired_rows(0.0)) == {"finetuned": pytest.approx(0.9), "zero_shot": pytest.approx(0.5)}


def test_samples_show_both_replies_of_the_same_dialogue():
    samples = side_by_side(paired_rows(0.0), count=3, seed=1)
    assert len(samples) == 3 and len({s["dialogue_id"] for s in samples}) == 3
    for sample in samples:
        number = sample["dialogue_id"][1:]
        assert sample["zero_shot"] == f"zero_shot reply {number}" and sample["finetuned"] == f"finetuned reply {number}"
        assert sample["client"] == f"client {number}" and sample["reference"] == f"reference {number}"
    text = "\n".join(format_samples(samples))
    assert "zero-shot:" in text and "fine-tuned:" in text


def test_gain_lines_put_the_headline_metric_first():
    lines = format_gains(gains(paired_rows(0.05), ["rouge_l", "cosine"], n_boot=100), ["cosine"])
    assert lines[1].split()[0] == "cosine" and lines[2].split()[0] == "rouge_l"
