"""The C-SSRS reader (malformed lists, substitutions, bad input), the shipped detector's files, and
launch.train_risk / launch.validate_safety on a small made-up C-SSRS directory."""

import json
from pathlib import Path

import numpy as np
import pytest

from tide.evaluate.cssrs import CSSRS_FILE, CssrsFormatError, read_cssrs, split_broken_list, undo_substitutions
from tide.evaluate.risk import SCORER_DIR, RiskDetector

CSSRS = Path(__file__).resolve().parents[1] / "fixtures" / "safety" / "cssrs"


def test_reader_repairs_and_reports():
    data = read_cssrs(CSSRS)
    report = data.report
    assert report["users"] == 16 and report["labels"]["Ideation"] == 5 and report["labels"]["Supportive"] == 4
    assert report["malformed_lists"]["rows"] == 1 and report["malformed_lists"]["where"] == ["row 13 (user-12)"]
    cut = next(u for u in data.users if u.user == "user-12")
    assert cut.truncated and cut.posts[0] == "I don't want to be alive anymore." and cut.posts[1].startswith("I went for")
    posts = {u.user: u.posts for u in data.users}
    assert posts["user-1"][0].startswith("Please don't hurt yourself.")     # "Pain yourself", "dont"
    assert posts["user-2"][0].startswith("Sounds like you had")              # "Hyperactive behavior"
    assert posts["user-3"][1].startswith("high school was hard")             # "Drug abuse school"
    assert report["substitutions_undone"] == {"Hyperactive behavior": 1, "Drug abuse": 1, "Pain (verb)": 1}


def test_broken_list_keeps_complete_posts_and_the_cut_one():
    assert split_broken_list("['one', \"two's\", 'thr") == ["one", "two's", "thr"]
    counts = {}
    assert undo_substitutions("I Ventricular Dysfunction, Left my house", counts) == "I left my house"
    assert counts == {"Ventricular Dysfunction, Left": 1}


@pytest.mark.parametrize("row, message", [
    ("user-1,\"['a']\",Unsure", "row 2, column 'Label': unknown label 'Unsure'"),
    ("user-1,not a list,Ideation", "row 2, column 'Post': not a list of posts"),
    (",\"['a']\",Ideation", "row 2, column 'User': empty user"),
])
def test_reader_errors_name_file_row_and_column(tmp_path, row, message):
    (tmp_path / CSSRS_FILE).write_text("User,Post,Label\n" + row + "\n")
    with pytest.raises(CssrsFormatError, match=message) as error:
        read_cssrs(tmp_path)
    assert "\n" not in str(error.value) and CSSRS_FILE in str(error.value)


def test_shipped_detector_is_small_plain_and_complete():
    sizes = sum((SCORER_DIR / name).stat().st_size for name in ("risk.npz", "risk.json"))
    assert sizes < 5 * 2 ** 20
    with np.load(SCORER_DIR / "risk.npz", allow_pickle=False) as arrays:  # plain arrays, no pickle
        assert {"lexicon/coef", "embedding/coef"} <= set(arrays.files)
    detector = RiskDetector()
    assert detector.layers == (3, 4, 5, 6) and 0 < detector.threshold < 1
    assert set(detector.meta["cv"]["user_level"]) >= {"auc", "sensitivity", "specificity", "threshold", "n"}
    assert len(detector.meta["lexicon"]["terms"]) == 50 and detector.meta["gate"]["phrases"]


def test_train_then_validate_on_a_small_directory(tmp_path, capsys):
    from launch.train_risk import main as train
    from launch.validate_safety import main as validate

    assert train([str(CSSRS), "--out", str(tmp_path / "det"), "--folds", "2", "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "malformed Post lists: 1 rows" in printed and "user " in printed and "Indicator users flagged" in printed
    out = tmp_path / "figures.json"
    assert validate([str(CSSRS), "--detector", str(tmp_path / "det"), "--json", str(out), "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "AUC" in printed and "16 of 16 users were in the detector's training data" in printed
    assert "not a clinical instrument" in printed
    figures = json.loads(out.read_text())
    assert set(figures) == {"user_level", "post_level", "indicator_flag_rate"}  # the shape
    for level in ("user_level", "post_level"):
        assert set(figures[level]) == {"auc", "sensitivity", "specificity", "threshold", "n"}
        for rate in ("auc", "sensitivity", "specificity"):
            assert set(figures[level][rate]) == {"value", "ci_low", "ci_high"}
            assert figures[level][rate]["ci_low"] <= figures[level][rate]["value"] <= figures[level][rate]["ci_high"]
    assert figures["user_level"]["n"] == 13 and figures["post_level"]["n"] == 27
    assert set(figures["indicator_flag_rate"]) == {"value", "ci_low", "ci_high", "n"}
    assert figures["indicator_flag_rate"]["n"] == 3


def test_validate_refuses_bad_input_in_one_line(tmp_path, capsys):
    from launch.errors import run_command
    from launch.validate_safety import main as validate

    assert run_command("launch.validate_safety", validate, [str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and CSSRS_FILE in error and "no such file" in error
