"""The study's design: which replies become items, which participant rates which, in what order.

- draw: per scenario, the same dialogues for every system (each system's reply to a drawn dialogue is one
  item), so systems are compared on the same client turns and every system x scenario cell is equal;
- attention checks: instructed-response items ("select 2 on every scale") and gold items (a plainly
  dismissive reply that must be rated low), shown to every participant;
- assign: each rating item to `ratings_per_item` distinct participants, greedily to whoever has the fewest
  items so far (loads differ by at most one), then evened out by swaps so that each participant sees the
  systems and scenarios about equally often and a client turn as rarely as possible more than once;
- order: each participant's items shuffled, the checks spread through them, never first.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pandas as pd

from tide.config.schema import StudyAttentionConfig, StudyScaleConfig
from tide.study.sources import StudyError

ITEM_COLUMNS = ("system", "model", "condition", "scenario", "dialogue_id", "client", "reply")


def draw(candidates: pd.DataFrame, per_scenario: int, scenarios: tuple[str, ...] | None,
         rng: random.Random) -> pd.DataFrame:
    """The rating items: per scenario, `per_scenario` dialogues every system replied to, each system's reply."""
    systems = sorted(candidates["system"].unique())
    available = sorted(candidates["scenario"].unique())
    wanted = list(scenarios) if scenarios is not None else available
    unknown = [scenario for scenario in wanted if scenario not in available]
    if unknown:
        raise StudyError(f"study.scenarios: {unknown[0]!r} is not a scenario of these runs (known: {available})")
    picked = []
    for scenario in wanted:
        rows = candidates[candidates["scenario"] == scenario]
        replied = rows.groupby("dialogue_id")["system"].nunique()
        shared = sorted(replied[replied == len(systems)].index)
        if len(shared) < per_scenario:
            raise StudyError(f"study.dialogues_per_scenario={per_scenario}: scenario {scenario!r} has "
                             f"{len(shared)} dialogue(s) with a usable reply from all {len(systems)} systems; "
                             "lower it, or name the scenarios to use in study.scenarios")
        chosen = set(rng.sample(shared, per_scenario))
        picked.append(rows[rows["dialogue_id"].isin(chosen)])
    items = pd.concat(picked, ignore_index=True)
    return items.sort_values(["scenario", "dialogue_id", "system"], kind="stable").reset_index(drop=True)


def attention_items(attention: StudyAttentionConfig, scales: tuple[StudyScaleConfig, ...], drawn: pd.DataFrame,
                    rng: random.Random) -> pd.DataFrame:
    """The attention checks, each on a client turn of a drawn dialogue, with the answer it requires.

    `expected` is the key's spelling read by the importer (tide/study/spec.py): `scale=value`,
    `scale<=value` or `scale>=value`, several joined by `;`.
    """
    dialogues = drawn.drop_duplicates("dialogue_id")
    count = attention.instructed + attention.gold
    if count == 0:
        return pd.DataFrame(columns=["kind", *ITEM_COLUMNS, "expected"])
    hosts = dialogues.iloc[rng.sample(range(len(dialogues)), count) if count <= len(dialogues)
                           else [rng.randrange(len(dialogues)) for _ in range(count)]]
    value = attention.instructed_value
    checks = [("attention", attention.instructed_text.replace("{value}", str(value)),
               ";".join(f"{scale.name}={value}" for scale in scales))] * attention.instructed
    checks += [("gold", reply, f"{attention.gold_scale}<={attention.gold_max}")
               for reply in attention.gold_replies[:attention.gold]]
    return pd.DataFrame([{"kind": kind, "system": "", "model": "", "condition": "", "scenario": host["scenario"],
                          "dialogue_id": host["dialogue_id"], "client": host["client"], "reply": reply,
                          "expected": expected}
                         for (kind, reply, expected), (_, host) in zip(checks, hosts.iterrows())])


def assign(items: pd.DataFrame, participants: list[str], per_item: int, rng: random.Random) -> dict[str, list[str]]:
    """participant -> the rating items they rate (unordered): every item to `per_item` distinct participants,
    loads within one of each other, each participant's systems, scenarios and dialogues as even as swaps make them."""
    attributes = {row["item_id"]: (row["system"], row["scenario"], row["dialogue_id"]) for _, row in items.iterrows()}
    load: Counter = Counter()
    given: dict[str, list[str]] = {participant: [] for participant in participants}
    dialogues_seen = defaultdict(Counter)
    # Dialogues in random order, each dialogue's systems together: the greedy choice then spreads one
    # dialogue's replies over different participants.
    blocks = [list(group["item_id"]) for _, group in items.groupby("dialogue_id")]
    rng.shuffle(blocks)
    for item_id in (item_id for block in blocks for item_id in rng.sample(block, len(block))):
        dialogue = attributes[item_id][2]
        tiebreak = {participant: rng.random() for participant in participants}
        ranked = sorted(participants, key=lambda p: (load[p], dialogues_seen[p][dialogue], tiebreak[p]))
        for participant in ranked[:per_item]:
            given[participant].append(item_id)
            load[participant] += 1
            dialogues_seen[participant][dialogue] += 1
    return _balance(given, attributes, rng)


# How much an uneven count costs, per attribute (system, scenario, dialogue): seeing one client turn twice
# matters most (a rater compares the replies), then uneven systems, then uneven scenarios.
WEIGHTS = (2.0, 1.0, 3.0)


def _balance(given: dict[str, list[str]], attributes: dict, rng: random.Random) -> dict[str, list[str]]:
    """Random swaps of two participants' items, kept when they make the counts per participant more even.

    A swap keeps every load and every item's number of ratings; the cost is the sum of squared counts of
    each participant's systems, scenarios and dialogues (weighted), lowest when they are even."""
    participants = [p for p in given if given[p]]
    counts = {p: Counter((k, value) for item in given[p] for k, value in enumerate(attributes[item])) for p in given}
    held = {p: set(items) for p, items in given.items()}
    for _ in range(40 * sum(map(len, given.values())) if len(participants) > 1 else 0):
        p, q = rng.sample(participants, 2)
        i, j = rng.choice(given[p]), rng.choice(given[q])
        if i in held[q] or j in held[p]:
            continue
        change = _swap_cost(counts[p], attributes[i], attributes[j]) + _swap_cost(counts[q], attributes[j], attributes[i])
        if change < 0:
            for who, out, into in ((p, i, j), (q, j, i)):
                given[who][given[who].index(out)] = into
                held[who].remove(out)
                held[who].add(into)
                for k, (old, new) in enumerate(zip(attributes[out], attributes[into])):
                    counts[who][(k, old)] -= 1
                    counts[who][(k, new)] += 1
    return given


def _swap_cost(counts: Counter, out: tuple, into: tuple) -> float:
    """The change in one participant's cost when item `out` leaves and `into` arrives."""
    change = 0.0
    for k, (old, new) in enumerate(zip(out, into)):
        if old != new:  # (n_new + 1)^2 - n_new^2 + (n_old - 1)^2 - n_old^2
            change += WEIGHTS[k] * (2 * (counts[(k, new)] - counts[(k, old)]) + 2)
    return change


def order(given: dict[str, list[str]], checks: list[str], rng: random.Random) -> pd.DataFrame:
    """The long assignments table (participant_id, position, item_id): each participant's items shuffled,
    the attention checks spread evenly through them and never first."""
    rows = []
    for participant, item_ids in given.items():
        sequence = list(item_ids)
        rng.shuffle(sequence)
        shuffled_checks = list(checks)
        rng.shuffle(shuffled_checks)
        for index, check in enumerate(shuffled_checks):
            # evenly spaced slots, later slots first so earlier insertions do not shift them
            slot = max(1, round((len(shuffled_checks) - index) * len(item_ids) / (len(shuffled_checks) + 1)))
            sequence.insert(slot, check)
        rows += [{"participant_id": participant, "position": position, "item_id": item_id}
                 for position, item_id in enumerate(sequence, start=1)]
    return pd.DataFrame(rows, columns=["participant_id", "position", "item_id"])
