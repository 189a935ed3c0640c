"""Evaluation inputs built from the synthetic data: a data artifact and a run's generation files.

Replies are references with known perturbations, so the expected direction of every comparison is known:
- finetuned: the reference with one sentence dropped (close to the reference);
- zero_shot: another dialogue's reference (same style, wrong content), for the larger model with its own
  first sentence kept, so the larger model's zero-shot is better and its gain smaller.
"""

import random

import pandas as pd
import pytest

from tests.configs import config_under

MODELS = {"small": 0.5, "large": 3.0}
SMALL_DATA = ["data.synthetic.n_personas=40", "data.synthetic.conversations_per_persona=5",
              "data.synthetic.self_harm_rate=0.1"]


def compose_config(outputs, *overrides, **options):
    """The typed config of the small synthetic data, with every output under `outputs`."""
    return config_under(outputs, *SMALL_DATA, "logger=none", "eval.bootstrap_samples=200", *overrides, **options)


def fake_generations(references: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    ids = references["dialogue_id"].tolist()
    others = ids[1:] + ids[:1]
    by_id = references.set_index("dialogue_id")
    for model, params_b in MODELS.items():
        for dialogue_id, other in zip(ids, others):
            sentences = by_id.loc[dialogue_id, "reference"].split(". ")
            if len(sentences) > 1:
                sentences.pop(rng.randrange(len(sentences)))
            finetuned = ". ".join(sentences)
            zero_shot = by_id.loc[other, "reference"]
            if model == "large":
                zero_shot = sentences[0] + ". " + zero_shot
            for condition, reply in (("zero_shot", zero_shot), ("finetuned", finetuned)):
                rows.append({"dialogue_id": dialogue_id, "persona_id": by_id.loc[dialogue_id, "persona_id"],
                             "scenario": by_id.loc[dialogue_id, "scenario"], "condition": condition, "model": model,
                             "model_params_b": params_b, "reply": reply, "finish_reason": "eos", "error": None})
    return pd.DataFrame(rows)


def write_generations(run_dir, generations: pd.DataFrame) -> None:
    for condition, frame in generations.groupby("condition"):
        out = run_dir / "generations" / condition
        out.mkdir(parents=True, exist_ok=True)
        half = len(frame) // 2  # two shards per condition, as the generation stage writes them
        frame.iloc[:half].to_parquet(out / "part-00000.parquet", index=False)
        frame.iloc[half:].to_parquet(out / "part-00001.parquet", index=False)


@pytest.fixture(scope="session")
def eval_inputs(tmp_path_factory):
    """(config, test-split references): a data artifact and a run directory with fake generations."""
    from tide.data.artifact import load_split
    from tide.data.prepare import prepare_dataset

    outputs = tmp_path_factory.mktemp("eval-outputs")
    config = compose_config(outputs)
    prepare_dataset(config.data)
    references = load_split(config.data.artifact_dir, "test").to_pandas()
    write_generations(outputs / "runs" / config.run.name, fake_generations(references))
    return config, references


# EPITOME-format fixtures (tide/evaluate/epitome.py), written by the tests: never read from ../shared.
EPITOME_FILES = {"emotional_reactions": "emotional-reactions-reddit.csv",
                 "interpretations": "interpretations-reddit.csv", "explorations": "explorations-reddit.csv"}
SEEKER_POSTS = ("I can't sleep and I keep replaying the accident every night.",
                "My family doesn't understand why I'm always on edge since I came back.",
                "I feel like a failure because I can't even go to the store anymore.",
                "Everyone says I should be over it by now but I'm not.",
                "I had another panic attack at work today and had to leave.",
                "I don't know who to talk to about what happened to me.")
# (response, ER level, IP level, EX level): hand-labelled the way EPITOME's annotators label.
RESPONSES = (
    ("I'm so sorry you're going through this, that sounds really painful and scary.", 2, 1, 0),
    ("I understand how exhausting this must feel. I went through something similar and it took time.", 1, 2, 0),
    ("What do you think sets it off? How have you been coping so far?", 0, 0, 2),
    ("Just get over it, everyone has problems.", 0, 0, 0),
    ("Have you tried exercise?", 0, 0, 1),
)


def write_epitome_dir(directory, posts: int = len(SEEKER_POSTS)) -> dict[str, list[int]]:
    """Three EPITOME CSVs (every response style for each of `posts` seeker posts); returns the levels."""
    import csv
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    levels = {}
    for column, (mechanism, name) in enumerate(EPITOME_FILES.items(), start=1):
        levels[mechanism] = []
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
            for p, post in enumerate(SEEKER_POSTS[:posts]):
                for r, response in enumerate(RESPONSES):
                    level = response[column]
                    writer.writerow([f"sp{p}", f"rp{p}_{r}", post, response[0], level,
                                     response[0].split(",")[0] + "|" if level else ""])
                    levels[mechanism].append(level)
    return levels
