"""Optional LLM-as-judge: a local instruct model rates each reply 1-5 per empathy factor and overall.

The judge sees a rubric (the paper's three factors), the client's turn and the reply, and must answer
with four lines `name: score`. An answer that does not parse (a missing line, a score outside 1-5) is
asked again, sampled with another seed, up to `max_retries` times; replies still invalid after that
are counted and left without scores, never guessed.

The model call is one function, `JudgeModel(prompts, attempt) -> answers`, so the rubric, parsing and
retries are tested with a fake model; `generation_judge_model` runs a real model through the suite's
own Ray Data generation path (tide.generate), exactly as replies are generated. On CPU the tiny model
exercises the plumbing; its answers are mostly invalid, which is what the counters are for.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from tide.config import GenerateConfig, JudgeConfig, ModelConfig, SamplingConfig
from tide.core.domain import FACTORS

JUDGE_SCORES = (*FACTORS, "overall")
JudgeModel = Callable[[list[str], int], list[str]]

RUBRIC = """You rate how empathetic a reply to a person living with PTSD is. Score each item from 1 (absent or poor) to 5 (excellent):
emotion_recognition: the reply names or acknowledges the person's specific feelings.
distress_normalization: the reply frames their reaction as an understandable, common response to trauma, without pathologising.
supportive_reflection: the reply reflects their experience back and offers gentle support or a next step, without lecturing.
overall: the overall perceived empathy of the reply.
Answer with exactly four lines and nothing else:
emotion_recognition: <1-5>
distress_normalization: <1-5>
supportive_reflection: <1-5>
overall: <1-5>"""

_LINE = re.compile(r"^\W*(emotion_recognition|distress_normalization|supportive_reflection|overall)\W*[:=]\s*"
                   r"(\d+(?:\.\d+)?)\b", re.IGNORECASE | re.MULTILINE)


def judge_request(client: str, reply: str) -> str:
    """The user turn the judge answers (the rubric is its system prompt)."""
    return f"Person:\n{client}\n\nReply:\n{reply}\n\nRate the reply."


def parse_judgement(answer: str) -> dict | None:
    """{score name: int 1..5} when every score is present exactly once and in range; else None."""
    found: dict[str, int] = {}
    for name, value in _LINE.findall(answer or ""):
        name = name.lower()
        if name in found or float(value) != int(float(value)) or not 1 <= int(float(value)) <= 5:
            return None
        found[name] = int(float(value))
    return found if set(found) == set(JUDGE_SCORES) else None


def judge_replies(clients: list[str], replies: list[str], model: JudgeModel, max_retries: int = 2) -> dict:
    """Scores per reply (None when invalid after every attempt), attempts used, and counters."""
    requests = [judge_request(c, r) for c, r in zip(clients, replies)]
    scores: list[dict | None] = [None] * len(requests)
    attempts = [0] * len(requests)
    pending = list(range(len(requests)))
    invalid_answers = 0
    for attempt in range(max_retries + 1):
        if not pending:
            break
        answers = model([requests[i] for i in pending], attempt)
        if len(answers) != len(pending):
            raise RuntimeError(f"judge model returned {len(answers)} answers for {len(pending)} prompts")
        still_pending = []
        for i, answer in zip(pending, answers):
            attempts[i] = attempt + 1
            scores[i] = parse_judgement(answer)
            if scores[i] is None:
                invalid_answers += 1
                still_pending.append(i)
        pending = still_pending
    return {"scores": scores, "attempts": attempts,
            "counts": {"replies": len(requests), "scored": len(requests) - len(pending),
                       "invalid_after_retries": len(pending), "invalid_answers": invalid_answers,
                       "retries": sum(attempts) - len(requests)}}


def judge_columns(result: dict) -> dict[str, list]:
    """Per-row columns judge_<score> (None where invalid) and judge_attempts."""
    columns = {f"judge_{name}": [s[name] if s else None for s in result["scores"]] for name in JUDGE_SCORES}
    columns["judge_attempts"] = result["attempts"]
    return columns


def generation_judge_model(judge: JudgeConfig, generate: GenerateConfig) -> JudgeModel:
    """A JudgeModel that runs the judge's model preset (judge.model_cfg) through tide.generate's Ray Data path
    (Ray must be initialised or startable), with the generation stage's backend, precision, batching and
    actor pool (`generate`). Attempt 0 is greedy; retries sample with seeds that change with the attempt."""
    from tide.data.chat import encode_prompt
    from tide.generate.pipeline import stream_generations
    from tide.generate.prompts import row_seed
    from tide.models.loading import load_tokenizer

    model_cfg = judge.model_cfg
    if model_cfg is None:
        raise ValueError("eval.judge.model_cfg: no judge model (set eval.judge.model to a preset in conf/model)")
    tokenizer = load_tokenizer(model_cfg)

    def model(requests: list[str], attempt: int) -> list[str]:
        sampling = judge_sampling(judge, attempt)
        prompts = [{"dialogue_id": f"{i:08d}", "prompt_ids": encode_prompt(tokenizer, RUBRIC, request),
                    "seed": row_seed(sampling.seed, str(i))} for i, request in enumerate(requests)]
        rows = {}
        for shard in stream_generations(prompts, judge_plan(model_cfg, sampling, generate), generate):
            rows.update(zip(shard["dialogue_id"], shard["reply"]))
        return [rows[prompt["dialogue_id"]] for prompt in prompts]

    return model


def judge_plan(model: ModelConfig, sampling: SamplingConfig, generate: GenerateConfig):
    """The generation plan of one judging attempt: the judge's model alone (no adapter), its sampling, the
    stage's backend and precision. Its rows carry no extra columns, and nothing is written (the output
    directory and spec only matter to the generation stage's shard writer)."""
    from tide.generate.plan import ConditionPlan, EngineSpec

    engine = EngineSpec(model=model, sampling=sampling, precision=generate.precision)
    return ConditionPlan(condition="judge", output_dir=Path(), backend=generate.backend, engine=engine,
                         row_fields={}, spec={})


def judge_sampling(judge: JudgeConfig, attempt: int) -> SamplingConfig:
    """The judge's own decoding for one attempt (not the generation stage's): greedy first, then sampled at
    judge.temperature with a seed that changes with the attempt."""
    return SamplingConfig(do_sample=attempt > 0, temperature=judge.temperature, top_p=1.0,
                          max_new_tokens=judge.max_new_tokens, seed=judge.seed + attempt)
