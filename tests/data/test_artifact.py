import os

import pytest

from tide.data.artifact import fingerprint, load_split, read_manifest, save_artifact
from tide.data.reader import read_tide


@pytest.fixture(scope="module")
def records(synthetic_dir):
    return read_tide(synthetic_dir).records


def test_round_trip_through_parquet(tmp_path, records):
    splits = {"train": records[:150], "val": records[150:175], "test": records[175:]}
    manifest = save_artifact(tmp_path / "art", splits, {"source": "test"})
    assert read_manifest(tmp_path / "art") == manifest
    assert manifest["splits"]["val"]["dialogues"] == 25
    loaded = load_split(tmp_path / "art", "val")
    assert loaded.to_list() == records[150:175]
    assert sorted(os.listdir(tmp_path)) == ["art"]  # no staging directory left behind


def test_fingerprint_depends_on_content_not_order(records):
    assert fingerprint(records) == fingerprint(list(reversed(records)))
    changed = [dict(records[0], reference=records[0]["reference"] + " ")] + records[1:]
    assert fingerprint(changed) != fingerprint(records)


def test_dataset_fingerprint_changes_with_the_split(tmp_path, records):
    one = save_artifact(tmp_path / "a", {"train": records[:100], "test": records[100:]}, {})
    same = save_artifact(tmp_path / "b", {"train": records[:100], "test": records[100:]}, {})
    moved = save_artifact(tmp_path / "c", {"train": records[:99], "test": records[99:]}, {})
    assert one["fingerprint"] == same["fingerprint"] != moved["fingerprint"]


def test_missing_artifact_and_split(tmp_path, records):
    with pytest.raises(FileNotFoundError, match="no dataset artifact .* run `python -m launch.data`"):
        load_split(tmp_path / "none", "train")
    save_artifact(tmp_path / "art", {"train": records[:5]}, {})
    with pytest.raises(KeyError, match="no split 'test'"):
        load_split(tmp_path / "art", "test")


# One change of every setting that shapes an artifact (conf/data/*.yaml names it by their digest): the leaf
# changed, and the overrides (under data.) that change it.
SPLIT_CHANGES = {"split.train": ("split.train=0.7", "split.val=0.2"), "split.val": ("split.val=0.2", "split.test=0.0"),
                 "split.test": ("split.test=0.2", "split.val=0.0"), "split.seed": ("split.seed=7",),
                 "split.stratify_on": ("split.stratify_on=[trauma_type]",), "lenient": ("lenient=true",)}
SHAPING_CHANGES = {
    "synthetic": {"synthetic.n_personas": ("synthetic.n_personas=41",), "synthetic.seed": ("synthetic.seed=1",),
                  "synthetic.conversations_per_persona": ("synthetic.conversations_per_persona=3",),
                  "synthetic.layout": ("synthetic.layout=flat",),
                  "synthetic.self_harm_rate": ("synthetic.self_harm_rate=0.1",), **SPLIT_CHANGES},
    "tide": {"dir": ("dir=/data/other-TIDE",), "hub.repo_id": ("hub.repo_id=someone/TIDE",),
             "hub.revision": ("hub.revision=v2",), **SPLIT_CHANGES},
}
LOCATIONS = {"synthetic": ("dir=/elsewhere/raw",), "tide": ("hub.cache_dir=/elsewhere/hub", "hub.token_env=T")}
BASE = {"synthetic": (), "tide": ("data=tide", "data.dir=/data/TIDE")}


def _shaping_leaves(tree: dict, prefix: str = "") -> set[str]:
    leaves = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves |= _shaping_leaves(value, f"{prefix}{key}.")
        elif value is not None:  # an unused group (a synthetic source's hub)
            leaves.add(prefix + key)
    return leaves


@pytest.mark.parametrize("source", sorted(SHAPING_CHANGES))
def test_an_artifact_and_the_tiny_model_are_named_by_every_setting_that_shapes_them(tmp_path, source):
    from tests.configs import config_under
    from tide.config import to_plain
    from tide.data.artifact import shaping_settings

    def compose(*overrides):
        return config_under(tmp_path, *BASE[source], *overrides)

    base = compose()
    # the list above names every shaping leaf (a new data option must say whether it shapes the artifact)
    assert _shaping_leaves(shaping_settings(to_plain(base.data))) - {"source"} == set(SHAPING_CHANGES[source])
    for key, overrides in SHAPING_CHANGES[source].items():
        changed = compose(*(f"data.{override}" for override in overrides))
        assert changed.data.artifact_dir != base.data.artifact_dir, key
        assert changed.model.path != base.model.path, key  # the tiny model's tokenizer is trained on the split
    for override in LOCATIONS[source]:  # where things live is not what the artifact holds
        assert compose(f"data.{override}").data.artifact_dir == base.data.artifact_dir, override
    for option in ("seed=1", "model.tokenizer.vocab_size=512", "model.architecture.hidden_size=64"):
        assert compose(option).model.path != base.model.path, option  # what builds the tiny model names it too


def test_an_artifact_made_with_other_settings_is_refused_not_rewritten(tmp_path, synthetic_dir):
    from tests.configs import config_for
    from tide.data.artifact import ArtifactConflict
    from tide.data.prepare import prepare_dataset
    from tide.config import with_options

    data = config_for("data=tide", **{"data.dir": str(synthetic_dir), "data.artifact_dir": str(tmp_path / "art")}).data
    built = prepare_dataset(data)
    before = {path.name: path.read_bytes() for path in (tmp_path / "art").iterdir()}
    # a setting changed without composing the name again (with_options, or data.artifact_dir by hand)
    with pytest.raises(ArtifactConflict, match=r"art holds a data artifact made with other settings "
                                               r"\(data\.split\.seed: 42 -> 7\); it is shared"):
        prepare_dataset(with_options(data, {"split.seed": 7}, path="data"))
    assert {path.name: path.read_bytes() for path in (tmp_path / "art").iterdir()} == before  # untouched
    moved = with_options(data, {"name": "renamed", "hub.cache_dir": str(tmp_path / "hub")}, path="data")
    assert prepare_dataset(moved)["fingerprint"] == built["fingerprint"]  # not settings: reused
