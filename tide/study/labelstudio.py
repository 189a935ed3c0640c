"""The study as a Label Studio project: a labeling config (XML) and the tasks to import (JSON).

Label Studio's task format is a list of `{"data": {...}}` objects whose keys are the `$variables` of the
labeling config; each scale is a `Choices` group of single-choice radio buttons (`choice="single-radio"`,
`required="true"`) on the reply, one `Choice` per point, so any range (not only 1..n stars) is asked as
it is in the forms. One task per item (attention checks included), carrying its opaque item_id and
nothing else that could unblind the annotator; demographics are asked outside Label Studio.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from tide.config.schema import StudyScaleConfig


def labeling_config(scales: tuple[StudyScaleConfig, ...], instructions: str) -> str:
    """The labeling config: the instructions, the client's message, the reply, and a radio row per scale."""
    lines = ["<View>",
             f"  <Header value={quoteattr(instructions)}/>",
             '  <Header value="The person wrote:" size="5"/>',
             '  <Text name="client_turn" value="$client_turn"/>',
             '  <Header value="The reply:" size="5"/>',
             '  <Text name="reply" value="$reply"/>']
    for scale in scales:
        question = f"{scale.question} ({scale.min} = {scale.low}, {scale.max} = {scale.high})"
        lines += [f"  <Header value={quoteattr(question)} size=\"6\"/>",
                  f'  <Choices name="{scale.name}" toName="reply" choice="single-radio" showInline="true" '
                  f'required="true">']
        lines += [f'    <Choice value="{value}"/>' for value in range(scale.min, scale.max + 1)]
        lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def tasks(items: list[dict]) -> list[dict]:
    """One Label Studio task per item: its opaque id, the client's message and the reply."""
    return [{"data": {"item_id": item["item_id"], "client_turn": item["client_turn"], "reply": item["reply"]}}
            for item in items]
