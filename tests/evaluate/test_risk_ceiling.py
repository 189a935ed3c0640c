"""launch.risk_ceiling on the small made-up C-SSRS directory, and the pronoun rates it adds."""

import json
from pathlib import Path

import numpy as np

from tide.evaluate.risk_ceiling import PRONOUNS, pronoun_rates

CSSRS = Path(__file__).resolve().parents[1] / "fixtures" / "safety" / "cssrs"


def test_pronoun_rates_tell_who_a_text_is_about():
    rates = pronoun_rates(["I hate my life and I want out", "you are not alone, your friends care", ""])
    assert rates.shape == (3, len(PRONOUNS) + 1)
    first, second = rates[:, 0], rates[:, 1]
    assert first[0] > 0.3 and second[0] == 0
    assert second[1] > 0.2 and first[1] == 0
    assert np.all(rates[2, :3] == 0)


def test_ceiling_prints_every_row_against_the_targets(tmp_path, capsys):
    from launch.risk_ceiling import main

    out = tmp_path / "ceiling.json"
    assert main([str(CSSRS), "--folds", "2", "--bootstrap", "20", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())["rows"]
    assert [row["pooling"] for row in rows] == ["max post score", "mean of top 3 posts", "mean post score",
                                                "user-level model"]
    assert [row["scores_one_turn"] for row in rows] == [True, True, True, False]
    for row in rows:
        assert row["n"] == 13 and 0 <= row["specificity_at_90_sensitivity"] <= 1
        assert row["auc"]["ci_low"] <= row["auc"]["value"] <= row["auc"]["ci_high"]
        assert row["pooling"] in printed
    assert "AUC >= 0.90" in printed and ("met" in printed or "missed" in printed)
    assert "text features: MiniLM mean-pooled layers 3, 4, 5, 6" in printed


def test_ceiling_refuses_a_directory_without_the_file(tmp_path, capsys):
    from launch.risk_ceiling import main
    from launch.errors import run_command

    assert run_command("launch.risk_ceiling", main, [str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "500_Reddit_users_posts_labels.csv" in error


def test_another_encoder_replaces_the_layers(tmp_path, capsys):
    from launch.risk_ceiling import main
    from tide.evaluate.reference import encoder_source

    out = tmp_path / "ceiling.json"
    minilm = encoder_source(None)   # a sentence-transformers directory every install has
    assert main([str(CSSRS), "--folds", "2", "--bootstrap", "10", "--encoder", minilm, "--json", str(out)]) == 0
    assert f"text features: sentence embeddings of {minilm}" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["features"].startswith("sentence embeddings") and len(result["rows"]) == 4


def test_an_encoder_that_is_not_a_model_directory_is_refused_in_one_line(tmp_path, capsys):
    from launch.errors import run_command
    from launch.risk_ceiling import main

    assert run_command("launch.risk_ceiling", main, [str(CSSRS), "--encoder", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--encoder" in error and "not a sentence-transformers model directory" in error
