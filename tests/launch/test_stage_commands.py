"""Every command goes through the stage runner: `launch.train` alone, then `launch.pipeline`, reuses the
trained adapter (the records agree), and a changed setting between them is refused as within the pipeline."""

import json
import os
import subprocess
import sys

from tests.launch.test_data import SMALL
from tests.stages.trial_run import FAST
from tide.core.runtime import PROJECT_ROOT
from tide.stages import read_record


def command(module: str, outputs, *overrides) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", module, *SMALL, *FAST, "logger=none", "run.name=cmd", *overrides]
    return subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
                          env={**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},
                               "TIDE_OUTPUTS": str(outputs)})


def test_standalone_train_then_the_pipeline_reuses_the_adapter_and_refuses_a_changed_setting(tmp_path):
    trained = command("launch.train", tmp_path)
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-3000:]
    assert "trained lora" in trained.stdout and "6/6 steps" in trained.stdout
    run_dir = tmp_path / "runs" / "cmd"
    records = {name: read_record(run_dir, name) for name in ("data", "train")}
    assert records["train"]["result"]["steps"] == 6 and read_record(run_dir, "generate") is None
    adapter = (run_dir / "adapter" / "adapter_model.safetensors").read_bytes()

    changed = command("launch.pipeline", tmp_path, "train.lora.r=8")
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    [line] = [line for line in changed.stderr.splitlines() if line.startswith("launch.pipeline:")]
    assert "holds train results made with other settings (" in line and "train.lora.r: 4 -> 8" in line
    assert read_record(run_dir, "train") == records["train"]  # nothing touched

    piped = command("launch.pipeline", tmp_path)
    assert piped.returncode == 0, piped.stdout[-2000:] + piped.stderr[-3000:]
    result = json.loads((run_dir / "pipeline.json").read_text())
    assert result["stages"]["data"] == result["stages"]["train"] == "skipped (complete)"
    assert result["stages"]["generate"] == "6 new rows of 6"
    assert {name: read_record(run_dir, name) for name in ("data", "train")} == records  # the records agree
    assert result["fingerprints"]["train"] == records["train"]["fingerprint"]
    assert (run_dir / "adapter" / "adapter_model.safetensors").read_bytes() == adapter
    assert read_record(run_dir, "generate")["after"]["train"] == records["train"]["fingerprint"]

    rerun = command("launch.train", tmp_path, "train.max_steps=4", "pipeline.force=true")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert read_record(run_dir, "train")["result"]["steps"] == 4  # forced: replaced, as the pipeline does
    assert read_record(run_dir, "generate") is not None  # a one-stage command leaves later stages' records
    stale = command("launch.pipeline", tmp_path, "train.max_steps=4")  # the settings train was forced to
    assert stale.returncode == 2  # the replies came from the old adapter: refused until forced, as in the pipeline
    assert "holds generate results made with other settings (an earlier stage changed (data, train))" in stale.stderr
