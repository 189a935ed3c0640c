"""The data stage from the `data` slice: the artifact's reuse key, reuse, and the synthetic source."""

import json

import pytest

from tests.configs import config_for
from tide.config import compose_mapping, to_plain
from tide.data.artifact import load_split
from tide.data.prepare import prepare_dataset


def test_config_key_is_the_composed_yaml_and_a_rerun_reuses(tmp_path, synthetic_dir):
    """The key is the composed `data` dict, as it was when prepare_dataset took that dict: artifacts built
    before the typed slices are still reused."""
    overrides = ["data=tide", f"data.dir={synthetic_dir}", f"data.artifact_dir={tmp_path / 'art'}"]
    data = config_for(*overrides).data
    built = prepare_dataset(data)
    assert built["config_key"] == json.dumps(compose_mapping(overrides)["data"], sort_keys=True, default=str)
    assert built["config_key"] == json.dumps(to_plain(data), sort_keys=True, default=str)
    assert not built["reused"] and sum(split["dialogues"] for split in built["splits"].values()) == 200

    again = prepare_dataset(data)
    assert again["reused"] and again["fingerprint"] == built["fingerprint"]
    forced = prepare_dataset(data, force=True)
    assert not forced["reused"] and forced["fingerprint"] == built["fingerprint"]


def test_synthetic_source_is_generated_from_data_synthetic(tmp_path):
    options = {"data.synthetic.n_personas": 12, "data.synthetic.conversations_per_persona": 3,
               "data.dir": str(tmp_path / "raw"), "data.artifact_dir": str(tmp_path / "art")}
    data = config_for(**options).data
    manifest = prepare_dataset(data)
    assert manifest["source"] == "synthetic" and manifest["reader"]["dialogues"] == 36
    assert json.loads((tmp_path / "raw" / "synthetic.json").read_text()) == to_plain(data.synthetic)
    assert {name: split["personas"] for name, split in manifest["splits"].items()} == {"train": 10, "val": 1, "test": 1}
    assert len(load_split(tmp_path / "art", "val")) == 3


def test_tide_source_needs_a_directory_or_the_hub(tmp_path):
    missing = config_for("data=tide", **{"data.dir": str(tmp_path / "none")}).data
    with pytest.raises(FileNotFoundError, match="data.dir: TIDE directory not found"):
        prepare_dataset(missing)
    nowhere = config_for("data=tide", **{"data.dir": None, "data.hub": None}).data
    with pytest.raises(ValueError, match="set data.dir to a local TIDE directory or configure data.hub"):
        prepare_dataset(nowhere)
