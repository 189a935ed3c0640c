"""The rater's form: one self-contained HTML page per participant that works offline in any browser.

It shows the consent text and instructions, asks the demographic questions, shows each item (the client's
message and the reply) with a row of radio buttons per rating scale, and on "Save responses" checks that
every question is answered and downloads `<participant_id>-responses.csv`: one row per item with
participant_id, item_id, one column per scale, the demographic answers repeated on every row and
duration_seconds (from opening the page to saving). Everything (styles, script, the items) is inside
the page: nothing is fetched, and nothing in it names a model, a condition or a system.
"""

from __future__ import annotations

import html
import json

from tide.config.schema import StudyConfig

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
section, fieldset { border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin: 1rem 0; }
legend { font-weight: 600; }
blockquote { margin: 0.5rem 0; padding: 0.5rem 0.8rem; background: #f4f4f4; border-left: 4px solid #999; }
blockquote { white-space: pre-wrap; }
.reply { background: #eef5ff; border-left-color: #4a7bd0; }
.scale { margin: 0.8rem 0; }
.scale .points { display: flex; flex-wrap: wrap; align-items: center; gap: 0.6rem; }
.scale .end { font-size: 0.85rem; color: #555; }
.missing { outline: 2px solid #c0392b; outline-offset: 4px; }
#status { font-weight: 600; margin: 1rem 0; }
#status.problem { color: #c0392b; }
#saved-text { width: 100%; height: 8rem; display: none; }
button { font-size: 1.05rem; padding: 0.5rem 1.2rem; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<section id="consent">
  <h2>About this study</h2>
  <p id="consent-text"></p>
  <label><input type="checkbox" id="consent-given"> I have read this and agree to take part.</label>
</section>
<section id="instructions"><h2>What to do</h2><p id="instructions-text"></p></section>
<section id="about-you"><h2>About you</h2><div id="demographics"></div></section>
<div id="items"></div>
<p id="status" role="status"></p>
<button type="button" id="save">Save responses</button>
<textarea id="saved-text" readonly></textarea>
<script type="application/json" id="study-data">__STUDY_DATA__</script>
<script>
"use strict";
const study = JSON.parse(document.getElementById("study-data").textContent);
const opened = Date.now();

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function radio(name, value, label) {
  const wrap = element("label");
  wrap.append(element("input", {type: "radio", name: name, value: String(value)}), " " + label);
  return wrap;
}

function demographicQuestion(question) {
  const box = element("div", {class: "scale", id: "q-" + question.name});
  box.append(element("div", {}, question.question));
  if (question.type === "numeric") {
    const input = element("input", {type: "number", name: "demo-" + question.name, step: "1"});
    if (question.min !== null) input.min = question.min;
    if (question.max !== null) input.max = question.max;
    box.append(input);
  } else {
    const points = element("div", {class: "points"});
    for (const choice of question.choices) points.append(radio("demo-" + question.name, choice, choice));
    box.append(points);
  }
  return box;
}

function scaleRow(itemId, scale) {
  const box = element("div", {class: "scale", id: "q-" + itemId + "-" + scale.name});
  box.append(element("div", {}, scale.question));
  const points = element("div", {class: "points"});
  points.append(element("span", {class: "end"}, scale.min + " = " + scale.low));
  for (let value = scale.min; value <= scale.max; value++) {
    points.append(radio(itemId + "-" + scale.name, value, value));
  }
  points.append(element("span", {class: "end"}, scale.max + " = " + scale.high));
  box.append(points);
  return box;
}

function itemBlock(item, index) {
  const box = element("fieldset", {class: "item", id: "item-" + item.item_id});
  box.append(element("legend", {}, "Exchange " + (index + 1) + " of " + study.items.length));
  box.append(element("div", {}, "The person wrote:"), element("blockquote", {}, item.client_turn));
  box.append(element("div", {}, "The reply:"), element("blockquote", {class: "reply"}, item.reply));
  for (const scale of study.scales) box.append(scaleRow(item.item_id, scale));
  return box;
}

function answer(name) {
  const checked = document.querySelector('input[name="' + name + '"]:checked');
  if (checked) return checked.value;
  const typed = document.querySelector('input[name="' + name + '"][type="number"]');
  return typed && typed.value.trim() !== "" ? typed.value.trim() : null;
}

function problems() {
  const found = [];
  if (!document.getElementById("consent-given").checked) found.push(["consent", "please agree to take part"]);
  for (const question of study.demographics) {
    const value = answer("demo-" + question.name);
    const number = Number(value);
    const outside = question.type === "numeric" && value !== null && (!Number.isFinite(number)
      || (question.min !== null && number < question.min) || (question.max !== null && number > question.max));
    if (value === null || outside) found.push(["q-" + question.name, "please answer: " + question.question]);
  }
  study.items.forEach((item, index) => {
    for (const scale of study.scales) {
      if (answer(item.item_id + "-" + scale.name) === null)
        found.push(["q-" + item.item_id + "-" + scale.name,
                    "exchange " + (index + 1) + ": please answer: " + scale.question]);
    }
  });
  return found;
}

function quoted(value) {
  return '"' + String(value).replace(/"/g, '""') + '"';
}

function responsesCsv(seconds) {
  const header = ["participant_id", "item_id", ...study.scales.map(s => s.name),
                  ...study.demographics.map(d => d.name), "duration_seconds"];
  const demographics = study.demographics.map(d => answer("demo-" + d.name));
  const lines = [header.map(quoted).join(",")];
  for (const item of study.items) {
    const ratings = study.scales.map(s => answer(item.item_id + "-" + s.name));
    lines.push([study.participant_id, item.item_id, ...ratings, ...demographics, seconds].map(quoted).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

function save() {
  document.querySelectorAll(".missing").forEach(node => node.classList.remove("missing"));
  const status = document.getElementById("status");
  const found = problems();
  if (found.length) {
    for (const [id] of found) document.getElementById(id).classList.add("missing");
    status.className = "problem";
    status.textContent = found.length + " question(s) unanswered; first: " + found[0][1];
    document.getElementById(found[0][0]).scrollIntoView({block: "center"});
    return;
  }
  const csv = responsesCsv(Math.round((Date.now() - opened) / 1000));
  const name = study.participant_id + "-responses.csv";
  const link = element("a", {href: URL.createObjectURL(new Blob([csv], {type: "text/csv"})), download: name});
  document.body.append(link);
  link.click();
  link.remove();
  const saved = document.getElementById("saved-text");
  saved.value = csv;
  saved.style.display = "block";
  status.className = "";
  status.textContent = "Saved as " + name + ". Please send that file back. "
    + "If no file appeared, copy the text below instead.";
}

document.getElementById("consent-text").textContent = study.consent;
document.getElementById("instructions-text").textContent = study.instructions;
for (const question of study.demographics) {
  document.getElementById("demographics").append(demographicQuestion(question));
}
study.items.forEach((item, index) => document.getElementById("items").append(itemBlock(item, index)));
document.getElementById("save").addEventListener("click", save);
</script>
</body>
</html>
"""


def form_data(participant_id: str, items: list[dict], study: StudyConfig) -> dict:
    """What the page shows: the texts, the questions and this participant's items (item_id, client_turn,
    reply) in their order."""
    return {"participant_id": participant_id, "consent": study.consent, "instructions": study.instructions,
            "scales": [{"name": s.name, "question": s.question, "min": s.min, "max": s.max, "low": s.low,
                        "high": s.high} for s in study.scales],
            "demographics": [{"name": d.name, "question": d.question, "type": d.type, "choices": list(d.choices),
                              "min": d.min, "max": d.max} for d in study.demographics],
            "items": [{key: item[key] for key in ("item_id", "client_turn", "reply")} for item in items]}


def render_form(participant_id: str, items: list[dict], study: StudyConfig,
                title: str = "Rating supportive replies") -> str:
    """The self-contained HTML page for one participant."""
    data = json.dumps(form_data(participant_id, items, study), ensure_ascii=False)
    # Inside <script>, "</" could close the element early and "<!--" open a comment: escaped, JSON reads the same.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__STUDY_DATA__", data)
