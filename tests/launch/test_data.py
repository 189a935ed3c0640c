"""The data stage end to end: the entry point composes, runs offline, writes a reusable artifact."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launch.data import format_summary, run
from tests.configs import config_under
from tests.conftest import SMALL_ARCHITECTURE, SMALL_TOKENIZER
from tide.core.runtime import PROJECT_ROOT
from tide.data.artifact import load_split
from tide.data.reader import TideFormatError
from tide.stages import read_record

SMALL_MODEL = [f"model.tokenizer.vocab_size={SMALL_TOKENIZER['vocab_size']}",
               *[f"model.architecture.{k}={v}" for k, v in SMALL_ARCHITECTURE.items() if k != "model_type"]]
SMALL = ["data.synthetic.n_personas=30", "data.synthetic.conversations_per_persona=4", *SMALL_MODEL]


def config(outputs, *overrides):
    """The typed config (TideConfig) for a small synthetic TIDE and model under `outputs`."""
    small = SMALL_MODEL if "data=tide" in overrides else SMALL
    return config_under(outputs, *small, *overrides)


def test_runs_offline_and_is_deterministic_and_resumable(tmp_path, no_network):
    first = run(config(tmp_path / "a"))
    splits = {name: set(load_split(first["artifact_dir"], name)["persona_id"]) for name in ("train", "val", "test")}
    assert not (splits["train"] & splits["val"] or splits["train"] & splits["test"] or splits["val"] & splits["test"])
    assert sum(s["dialogues"] for s in first["manifest"]["splits"].values()) == 120
    assert (Path(config(tmp_path / "a").model.path) / "config.json").is_file()  # models/tiny-<data.name>-<digest>
    assert first["tokens"]["total"]["max"] > first["tokens"]["prompt"]["p50"] > 0

    record = read_record(config(tmp_path / "a").run.dir, "data")
    again = run(config(tmp_path / "a"))  # complete for these settings: the runner skips the stage
    assert again == first and read_record(config(tmp_path / "a").run.dir, "data") == record
    elsewhere = run(config(tmp_path / "b"))
    assert not elsewhere["manifest"]["reused"]
    assert elsewhere["manifest"]["fingerprint"] == first["manifest"]["fingerprint"]
    other_seed = run(config(tmp_path / "c", "data.split.seed=1"))
    assert other_seed["manifest"]["fingerprint"] != first["manifest"]["fingerprint"]

    text = format_summary(first)
    assert "TIDE data (synthetic): 120 dialogues, 30 personas" in text and "p99" in text
    assert "seen 120 dialogues = 120 kept + 0 skipped" in text  # the reader accounts for every dialogue
    assert "dialogues per persona: 4 for 30 personas" in text
    assert json.loads((Path(first["artifact_dir"]) / "summary.json").read_text())


def test_real_tide_directory_strict_and_lenient(tmp_path, write_persona, synthetic_dir):
    import shutil

    source = tmp_path / "TIDE"
    shutil.copytree(synthetic_dir, source)
    (source / "conversations" / "3_conversations.json").write_text("[{broken")
    strict = config(tmp_path / "out", "data=tide", f"data.dir={source}")
    with pytest.raises(TideFormatError, match=r"3_conversations\.json: <json>: malformed JSON"):
        run(strict)
    assert not Path(strict.data.artifact_dir).exists()  # nothing half-written

    summary = run(config(tmp_path / "out", "data=tide", f"data.dir={source}", "data.lenient=true"))
    issues = json.loads((Path(summary["artifact_dir"]) / "data_issues.json").read_text())
    assert issues["skipped"] == 1 and issues["by_kind"] == {"malformed_json": 1}
    assert summary["manifest"]["reader"]["personas"] == 39


def test_missing_tide_directory_names_the_option(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.dir: TIDE directory not found"):
        run(config(tmp_path, "data=tide", f"data.dir={tmp_path / 'nowhere'}"))


def test_command_line_runs_with_the_network_unreachable(tmp_path):
    env = {**os.environ, "TIDE_OUTPUTS": str(tmp_path), "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    done = subprocess.run([sys.executable, "-m", "launch.data", "experiment=smoke", *SMALL], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TIDE data (synthetic): 120 dialogues" in done.stdout and "self-harm clients" in done.stdout
    assert len(list((tmp_path / "data").glob("synthetic-30x4-s0-*/manifest.json"))) == 1  # named by its settings
    assert not (PROJECT_ROOT / "tmp").exists()

    bad = subprocess.run([sys.executable, "-m", "launch.data", "model=gpt5"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "model" in bad.stderr and "gpt5" in bad.stderr
