"""LLM-as-judge: rubric answers parsed strictly, invalid answers retried and counted (fake model; tiny model)."""

import pytest

from tests.configs import config_for
from tide.config import with_options
from tide.evaluate.judge import (JUDGE_SCORES, judge_columns, judge_replies, judge_request, judge_sampling,
                                 parse_judgement)

VALID = "emotion_recognition: 4\ndistress_normalization: 3\nsupportive_reflection: 5\noverall: 4"


@pytest.mark.parametrize("answer,expected", [
    (VALID, {"emotion_recognition": 4, "distress_normalization": 3, "supportive_reflection": 5, "overall": 4}),
    ("Sure!\n**Emotion_Recognition**: 2\n- distress_normalization = 2\nsupportive_reflection: 2\noverall: 1 (weak)",
     {"emotion_recognition": 2, "distress_normalization": 2, "supportive_reflection": 2, "overall": 1}),
    (VALID.replace("overall: 4", ""), None),             # a score missing
    (VALID.replace("overall: 4", "overall: 6"), None),   # out of range
    (VALID.replace("overall: 4", "overall: 3.5"), None),  # not an integer
    (VALID + "\noverall: 2", None),                      # said twice
    ("I cannot rate this.", None),
    ("", None),
])
def test_parse_judgement(answer, expected):
    assert parse_judgement(answer) == expected


class FakeJudge:
    """Answers from a script per attempt; records what it was asked."""

    def __init__(self, script):
        self.script, self.calls = script, []

    def __call__(self, prompts, attempt):
        self.calls.append((attempt, list(prompts)))
        return [self.script(prompt, attempt) for prompt in prompts]


def test_retries_invalid_answers_and_counts_them():
    def script(prompt, attempt):
        if "never" in prompt:
            return "no idea"
        return VALID if "first" in prompt or attempt >= 1 else "overall: 4"

    judge = FakeJudge(script)
    result = judge_replies(["c1", "c2", "c3"], ["first try", "second try", "never valid"], judge, max_retries=2)
    assert [attempt for attempt, _ in judge.calls] == [0, 1, 2]
    assert [len(prompts) for _, prompts in judge.calls] == [3, 2, 1]  # only the invalid ones are asked again
    assert judge.calls[0][1][0] == judge_request("c1", "first try") and "Reply:\nfirst try" in judge.calls[0][1][0]
    assert result["attempts"] == [1, 2, 3]
    assert result["scores"][2] is None and result["scores"][1]["overall"] == 4
    assert result["counts"] == {"replies": 3, "scored": 2, "invalid_after_retries": 1, "invalid_answers": 4,
                                "retries": 3}
    columns = judge_columns(result)
    assert set(columns) == {f"judge_{name}" for name in JUDGE_SCORES} | {"judge_attempts"}
    assert columns["judge_overall"] == [4, 4, None]


def test_a_model_that_drops_answers_is_an_error():
    with pytest.raises(RuntimeError, match="returned 1 answers for 2 prompts"):
        judge_replies(["a", "b"], ["x", "y"], lambda prompts, attempt: ["x"])


def test_the_judges_own_decoding_per_attempt():
    judge = with_options(config_for("eval=judge").eval.judge, {"temperature": 0.7, "max_new_tokens": 16, "seed": 5})
    first, retry = judge_sampling(judge, 0), judge_sampling(judge, 2)
    assert not first.do_sample and retry.do_sample and (first.seed, retry.seed) == (5, 7)
    assert retry.temperature == 0.7 and retry.max_new_tokens == 16 and retry.top_p == 1.0


@pytest.mark.slow
def test_tiny_model_through_the_generation_path(tiny_model_dir, ray_local):
    from tide.evaluate.judge import generation_judge_model

    config = config_for("eval=judge", "model=tiny")
    model = with_options(config.model, {"path": str(tiny_model_dir), "params_b": 0.001})
    generate = with_options(config.generate, {"backend": "hf", "precision": "float32", "batch_size": 4,
                                              "concurrency": 1, "cpus_per_actor": 1, "gpus_per_actor": 0,
                                              "shard_rows": 8})
    judge = with_options(config.eval.judge, {"model_cfg": model, "temperature": 0.7, "max_new_tokens": 16,
                                             "seed": 0})
    judge_model = generation_judge_model(judge, generate)
    result = judge_replies(["I can't sleep."] * 3, ["That sounds exhausting."] * 3, judge_model, max_retries=1)
    counts = result["counts"]
    # An untrained tiny model answers with noise: the plumbing runs, invalid answers are counted, not guessed.
    assert counts["replies"] == 3 and counts["scored"] + counts["invalid_after_retries"] == 3
    assert counts["invalid_answers"] >= counts["invalid_after_retries"]
    assert all(s is None or set(s) == set(JUDGE_SCORES) for s in result["scores"])
