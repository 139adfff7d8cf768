"""The before/after divider as a screen reader hears it (walk 22b #14), a11y.js run under Node.

The slider library (noUiSlider, under ipywidgets' FloatSlider) writes ``aria-valuenow`` as the
slider's value with one decimal, and a11y.js puts words in ``aria-valuetext``. On a 0 to 1
slider the number lagged the words by up to 5 % ("0.5" beside "54 %"), and at 0 % the words
said "before on the left, after on the right" while all of the picture was after. No browser:
the slider's range comes from `CompareSlider`, the words from a11y.js's ``dividerText``.
"""

from __future__ import annotations

import json

import pytest
from node_harness import NODE, run_module
from PIL import Image

from clipdrop_widgets.widgets.compare import CompareSlider

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { readFileSync } from "node:fs";
import { dividerText } from "./a11y.mjs";

const values = JSON.parse(readFileSync("values.json", "utf8"));
// what noUiSlider writes: aria-valuenow = value.toFixed(1); the value text, a number
console.log(JSON.stringify(values.map((v) => [v.toFixed(1), dividerText(v.toFixed(2))])));
"""


def test_the_dividers_number_and_words_agree_and_name_what_is_shown() -> None:
    compare = CompareSlider(Image.new("RGB", (400, 300), "red"),
                            Image.new("RGB", (400, 300), "blue"))
    slider = compare._slider
    values = []
    for percent in range(101):  # every arrow-key stop, Home (0) to End (100)
        slider.value = slider.min + percent * slider.step
        assert compare.position == pytest.approx(percent / 100)  # still 0 to 1 in Python
        values.append(slider.value)
    said = run_module("a11y", HARNESS, files={"values.json": json.dumps(values)})
    for percent, (now, text) in enumerate(said):
        assert float(now) == percent, (now, text)  # aria-valuenow in step with the words
        assert text.startswith(f"{percent} %: "), (now, text)
    # compare.py draws before from the left edge to the divider: at 0 all is after
    assert said[0][1] == "0 %: all after" and said[100][1] == "100 %: all before"
    assert said[30][1] == "30 %: 30 % before on the left, 70 % after on the right"


FOCUS_HARNESS = r"""
import { focusStage } from "./a11y.mjs";

// Stand-ins: an element knows its classes, parent, visibility; the document its focus.
const doc = { body: null, activeElement: null };
function node(classes, parent = null, extra = {}) {
  const n = { classes: new Set(classes), parent, tabIndex: 0, disabled: false, shown: true,
              kids: [], ...extra };
  n.closest = (sel) => {
    const wanted = sel.split(",").map((s) => s.trim().replace(/^\./, ""));
    for (let at = n; at; at = at.parent) if (wanted.some((c) => at.classes.has(c))) return at;
    return null;
  };
  n.querySelectorAll = (sel) => {
    const out = [];
    const walk = (at) => { for (const k of at.kids) { if (k.match(sel)) out.push(k); walk(k); } };
    walk(n);
    return out;
  };
  n.match = (sel) => sel.split(",").some((s) => {
    s = s.trim();
    if (s.startsWith("canvas.")) return n.tag === "CANVAS" && n.classes.has(s.slice(7));
    if (s.startsWith("button.")) return n.tag === "BUTTON" && n.classes.has(s.slice(7));
    if (s.startsWith(".cdw-uncrop-stage")) return false;
    return false;
  });
  n.focus = () => { doc.activeElement = n; };
  if (parent) parent.kids.push(n);
  return n;
}
doc.body = node(["body"]);
const app = node(["cdw-app"], doc.body);
const stage = node(["cdw-stage"], app);
const helper = node(["helper"], stage);
const ink = node(["cdw-ink"], stage, { tag: "CANVAS" });
const staging = node(["cdw-staging"], stage);
const discard = node(["discard"], staging, { tag: "BUTTON" });
const side = node(["side"], app);
const prompt = node(["prompt"], side, { tag: "TEXTAREA" });
const history = node(["history"], app);
const sendto = node(["cdw-sendto"], history);
const menu = node(["menu"], sendto, { tag: "SELECT" });
const run = node(["cdw-run"], side, { tag: "BUTTON" });
const isVisible = (n) => {
  for (let at = n; at; at = at.parent) if (!at.shown) return false;
  return true;
};
const where = () => [...doc.activeElement.classes][0];
const said = {};
// Ask for the stage's focus with the focus on `active`; `onFrame(n)` runs before the
// request's n-th retry (an animation frame).
const ask = (name, active, { setup = () => {}, onFrame = () => {} } = {}) => {
  app.shown = true; ink.shown = true; staging.shown = false;
  setup();
  doc.activeElement = active;
  const frames = [];
  let n = 0;
  focusStage(helper, { doc, isVisible, frame: (fn) => frames.push(fn) });
  while (frames.length) { n += 1; onFrame(n); frames.shift()(); }
  said[name] = where();
};
ask("press left the focus on the page", doc.body);
ask("on the hidden pressed button", discard);
ask("on the staging row, still shown", discard, { setup: () => { staging.shown = true; } });
ask("on a history card's send menu", menu);
ask("moved on to the prompt", prompt);
ask("moved on to Run", run);
const outside = node(["outside"], doc.body, { tag: "INPUT" });  // another cell's field
// the app's tab shown only at the third frame after the request (Send to another tab)
const hidden = () => { app.shown = false; };
ask("the tab shown three frames later", doc.body,
    { setup: hidden, onFrame: (n) => { if (n === 3) app.shown = true; } });
ask("moved to another cell while the tab was hidden", doc.body, { setup: hidden,
    onFrame: (n) => { if (n === 1) doc.activeElement = outside; if (n === 3) app.shown = true; } });
ask("never shown: nothing taken", doc.body, { setup: hidden });
console.log(JSON.stringify(said));
"""


def test_the_focus_follows_a_send_to_the_stage_only_if_the_person_has_not_moved_it() -> None:
    """Keep, Discard and Send to ask (from Python, a kernel round trip later) for the focus to
    go to the stage's painter. A late request must not pull the focus back from where the
    person has gone since with Tab or a click (CI16: Shift+Tab "stayed on the canvas")."""
    said = run_module("a11y", FOCUS_HARNESS)
    assert said["press left the focus on the page"] == "cdw-ink"
    assert said["on the hidden pressed button"] == "cdw-ink"
    assert said["on the staging row, still shown"] == "cdw-ink"
    assert said["on a history card's send menu"] == "cdw-ink"
    assert said["moved on to the prompt"] == "prompt"
    assert said["moved on to Run"] == "cdw-run"
    assert said["the tab shown three frames later"] == "cdw-ink"
    assert said["moved to another cell while the tab was hidden"] == "outside"
    assert said["never shown: nothing taken"] == "body"
