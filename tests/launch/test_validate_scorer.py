"""launch.validate_scorer on a small EPITOME-format fixture directory: every field printed and written."""

import json

from launch.errors import run_command
from launch.validate_scorer import main
from tests.evaluate.conftest import EPITOME_FILES, write_epitome_dir

FIELDS = ("n", "auc", "auc_ci", "spearman", "spearman_ci", "f1", "f1_ci", "brier", "brier_ci", "threshold")


def test_prints_and_writes_every_field(tmp_path, capsys):
    levels = write_epitome_dir(tmp_path / "epitome")
    out = tmp_path / "out" / "validation.json"
    assert main([str(tmp_path / "epitome"), "--json", str(out), "--bootstrap", "50"]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert set(result["mechanisms"]) == {"emotional_reactions", "interpretations", "explorations"}
    for mechanism, m in result["mechanisms"].items():
        assert set(FIELDS) <= set(m), mechanism
        assert m["n"] == len(levels[mechanism]) == 30
        assert 0.0 <= m["auc"] <= 1.0 and m["auc_ci"][0] <= m["auc"] <= m["auc_ci"][1]
        assert 0.0 <= m["brier"] <= 1.0 and -1.0 <= m["spearman"] <= 1.0 and 0.0 <= m["f1"] <= 1.0
        assert f"{mechanism} (" in printed and f"{m['auc']:.3f} [{m['auc_ci'][0]:.3f}, {m['auc_ci'][1]:.3f}]" in printed
        assert f"{m['brier']:.3f} [" in printed and f"{m['spearman']:.3f} [" in printed and f"{m['f1']:.3f} [" in printed
    # The hand-labelled fixture is easy: the shipped scorer must rank it far better than chance.
    assert result["mechanisms"]["explorations"]["auc"] > 0.8
    factors = result["factors"]
    assert set(factors["emotion_recognition"]) == {"emotional_reactions", "interpretations"}
    assert set(factors["supportive_reflection"]) == {"interpretations"}
    for mapped in factors.values():
        for a in mapped.values():
            assert a["n"] == 30 and 0.0 <= a["auc"] <= 1.0 and len(a["auc_ci"]) == 2
    assert "emotion_recognition" in printed and "vs emotional_reactions" in printed
    assert result["training_overlap"]["pairs"] == 0 and "NOTE" not in printed  # none of these pairs trained on


def test_unreadable_input_is_one_line_and_nonzero(tmp_path, capsys):
    write_epitome_dir(tmp_path)
    path = tmp_path / EPITOME_FILES["emotional_reactions"]
    path.write_text(path.read_text().replace(",2,", ",7,", 1))
    assert run_command("launch.validate_scorer", main, [str(tmp_path), "--json", str(tmp_path / "v.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("launch.validate_scorer: ") and "\n" not in err
    assert "emotional-reactions-reddit.csv: row 2, column 'level': '7' is not 0, 1 or 2" in err
    assert not (tmp_path / "v.json").exists()
    assert run_command("launch.validate_scorer", main, [str(tmp_path / "missing")]) == 2
    assert "column 'directory': not found" in capsys.readouterr().err
