"""The probes (tests/launch/probes.py) whose refusal needs no process of its own, in-process and in seconds:
bad options refused when the config is built, a sweep value of the wrong type refused before any trial,
ratings refused at import, a truncated GGUF refused before any stage. The same probes as real commands
(exit status, one line, nothing written): tests/launch/test_probes.py, `make test-probes`."""

import pandas as pd
import pytest

from tests.launch.probes import PROBES, Workspace
from tide.config import ConfigError, compose_config
from tide.core.runtime import PROJECT_ROOT

# Probes of the config alone: their command's overrides must not build.
CONFIG_PROBES = [p for p in PROBES if p.kind == "input" and p.command[0] in ("launch.pipeline", "launch.train")
                 and not any("{" in arg for arg in p.command)]


def probe(name: str):
    return next(p for p in PROBES if p.name == name)


def test_every_config_probe_is_here():
    assert {p.name for p in CONFIG_PROBES} == {"plus-foo", "max-steps-0", "bad-eval-metrics", "temperature-negative"}


@pytest.mark.parametrize("config_probe", CONFIG_PROBES, ids=lambda p: p.name)
def test_a_bad_option_is_refused_when_the_config_is_built(config_probe):
    with pytest.raises(ConfigError) as refused:
        compose_config(list(config_probe.command[1:]))
    assert config_probe.fragment in str(refused.value) and "\n" not in str(refused.value)


def test_max_steps_takes_a_step_count_or_minus_one():
    assert compose_config(["train.max_steps=-1"]).train.max_steps == -1
    assert compose_config(["train.max_steps=5"]).train.max_steps == 5
    with pytest.raises(ConfigError, match=r"^train.max_steps: must be > 0 \(optimizer steps\) or -1 .*got -2$"):
        compose_config(["train.max_steps=-2"])


def test_a_sweep_value_of_the_wrong_type_is_refused_before_any_trial(tmp_path):
    from tide.sweep.plan import compose_trials
    from tide.sweep.spec import SweepSpecError, load_spec

    sweep = probe("sweep-value-wrong-type")
    path = Workspace(tmp_path, PROJECT_ROOT).sweep_spec()
    # 'fast' is the second value: no representative trial holds it, so only the check of every value finds it.
    with pytest.raises(SweepSpecError, match=r"parameters\.train\.learning_rate: the value 'fast' is refused: "
                                             r"train\.learning_rate: expected float, got 'fast'"):
        compose_trials(load_spec(path), [a for a in sweep.command if "=" in a])


def test_both_ends_of_a_range_are_checked(tmp_path):
    from tide.sweep.plan import compose_trials
    from tide.sweep.spec import SweepSpecError, parse_spec

    spec = parse_spec({"method": "random", "run_cap": 2, "metric": {"name": "eval/cosine/mean"},
                       "parameters": {"experiment": {"value": "smoke"}, "train.lora.r": {"min": 4, "max": 8.5}}})
    # The trials are built at the range's low end (4, an int); its high end is no int.
    with pytest.raises(SweepSpecError, match=r"parameters\.train\.lora\.r: the value 8\.5 is refused: .*expected int"):
        compose_trials(spec)


def ratings_of(items, conditions, extra_items=()) -> pd.DataFrame:
    rows = [{"rater_id": f"r{r}", "item_id": item, "model": "tiny", "condition": condition, "empathy": 1 + r % 5}
            for r in range(3) for item in [*items, *extra_items] for condition in conditions]
    return pd.DataFrame(rows)


def test_ratings_of_an_unknown_item_are_refused_in_one_line_with_the_count_and_first_ids(tmp_path):
    from tide.evaluate.ratings import RatingsFormatError, check_items

    frame = ratings_of(["1-1", "1-2"], ["zero_shot", "finetuned"], extra_items=["999-9"])
    with pytest.raises(RatingsFormatError) as refused:
        check_items(frame, ["1-1", "1-2", "1-3"], "ratings.csv", "run/generations")
    assert str(refused.value) == ("ratings.csv: 1 unknown item(s) in 6 rating(s), not among the 3 dialogues replied "
                                  "to in run/generations: 999-9")
    check_items(frame[frame["item_id"] != "999-9"], ["1-1", "1-2"], "ratings.csv", "run/generations")


def test_ratings_of_one_condition_are_refused_at_import_naming_the_file(tmp_path):
    from tide.evaluate.ratings import RatingsFormatError, import_ratings

    path = tmp_path / "ratings_one_condition.csv"
    ratings_of(["1-1", "1-2"], ["finetuned"]).to_csv(path, index=False)
    with pytest.raises(RatingsFormatError, match=rf"^{path}: rates condition\(s\) \['finetuned'\] only; the analysis "
                                                 r"compares each condition with 'zero_shot'"):
        import_ratings(path)
    ratings_of(["1-1"], ["zero_shot"]).to_csv(path, index=False)
    with pytest.raises(RatingsFormatError, match=r"rates condition\(s\) \['zero_shot'\] only"):
        import_ratings(path)


def test_ratings_are_checked_against_replies_made_elsewhere_at_import(tmp_path):
    from tide.evaluate.ratings import RatingsFormatError, import_ratings

    replies = tmp_path / "generations" / "zero_shot"
    replies.mkdir(parents=True)
    pd.DataFrame({"dialogue_id": ["1-1", "1-2"], "condition": "zero_shot", "model": "tiny", "reply": "ok"}).to_parquet(
        replies / "part-0.parquet")
    path = tmp_path / "ratings.csv"
    ratings_of(["1-1", "1-2"], ["zero_shot", "finetuned"], extra_items=["999-9"]).to_csv(path, index=False)
    with pytest.raises(RatingsFormatError, match=r"1 unknown item\(s\) in 6 rating\(s\).*: 999-9$"):
        import_ratings(path, generations_dir=tmp_path / "generations")
    assert len(import_ratings(path)) == 18   # no replies to check against yet: the evaluation checks them later


def test_the_synthetic_ratings_tool_writes_no_file_the_analysis_cannot_use(tmp_path, capsys):
    from tide.evaluate.ratings import main

    metrics = tmp_path / "metrics.parquet"
    pd.DataFrame({"dialogue_id": ["1-1", "1-2"], "model": "tiny", "condition": "finetuned"}).to_parquet(metrics)
    assert main([str(metrics), str(tmp_path / "ratings.csv"), "--raters", "3"]) == 2
    assert not (tmp_path / "ratings.csv").exists()
    assert "rates condition(s) ['finetuned'] only" in capsys.readouterr().err


def test_a_truncated_gguf_is_refused_before_any_stage(tmp_path):
    from launch.common import check_named_files
    from tests.configs import config_for
    from tide.config import with_options
    from tide.models.gguf import GGUFError

    gguf = Workspace(tmp_path, PROJECT_ROOT).truncated_gguf()
    config = with_options(config_for("model=smollm2_135m"), {"model.gguf_file": gguf})
    with pytest.raises(GGUFError, match="trunc.gguf"):
        check_named_files(config, "data")
