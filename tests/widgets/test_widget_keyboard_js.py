"""keyboard.js run under Node with fake elements: which keys it takes, where focus goes.

The browser suite (tests/browser/test_browser_photos.py) presses the keys in Chromium; this
checks the module's decisions one by one: Ctrl/Cmd+Enter inside the app runs it (and is kept
from the notebook, which would run the cell again), Tab on an ipycanvas canvas is kept from
the canvas's handler (which cancels it) but not cancelled, and focus lost from Run or Cancel
goes to whichever of the two is enabled, and a press of Run (clicked, or Ctrl/Cmd+Enter) is
one message carrying the kept inputs as shown on the page (text, chosen index), in place of the
button's own click, sent once the strokes drawn before it are committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from clipdrop_widgets.widgets import keyboard as keyboard_module

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { createKeyboard, keyAction, focusTarget, pageInputs, runPressed, strokesAwaiting,
         RUN_WAIT_MS } from "./keyboard.mjs";

function node(tag, classes = [], parent = null) {
  const n = { tagName: tag, classList: { contains: (c) => classes.includes(c) }, classes,
              parent, children: [], disabled: false };
  if (parent) parent.children.push(n);
  return n;
}
function contains(root, n) {
  for (let x = n; x; x = x.parent) if (x === root) return true;
  return false;
}
const name = (n) => (n ? n.classes[0] : null);
const app = node("DIV", ["cdw-app"]);
app.contains = (n) => contains(app, n);
const other = node("DIV");
other.contains = (n) => contains(other, n);
const compare = node("CANVAS", ["lm-Widget"], app);
const ink = node("CANVAS", ["cdw-ink"], app);
const run = node("BUTTON", ["cdw-run"], app);
const cancel = node("BUTTON", ["cdw-cancel"], app);
cancel.disabled = true; // an idle app: Run enabled, Cancel disabled
const outside = node("CANVAS", [], other);
app.querySelector = (sel) => (sel === ".cdw-run" ? run : sel === ".cdw-cancel" ? cancel : null);
app.querySelectorAll = () => []; // no kept text boxes yet
const body = node("BODY");

const out = {};
out.actions = [
  keyAction({ key: "Enter", ctrlKey: true, target: ink }, app),
  keyAction({ key: "Enter", metaKey: true, target: compare }, app),
  keyAction({ key: "Enter", target: run }, app),
  keyAction({ key: "Tab", target: compare }, app),
  keyAction({ key: "Tab", shiftKey: true, target: compare }, app),
  keyAction({ key: "Tab", target: ink }, app),
  keyAction({ key: "Enter", ctrlKey: true, target: outside }, app),
];

// focus after Run is pressed: Run disabled (nothing enabled yet), then Cancel enabled, ...
run.disabled = true;
out.whileRunDisabled = name(focusTarget(app, run, run, body));
cancel.disabled = false;
out.afterCancelEnabled = name(focusTarget(app, run, body, body));
run.disabled = false;
cancel.disabled = true;
out.afterRunEnds = name(focusTarget(app, cancel, cancel, body));
out.userMovedOn = name(focusTarget(app, ink, body, body));
out.focusElsewhere = name(focusTarget(app, run, ink, body));

// the document listener: what it stops and what it sends
const listeners = {};
const doc = { addEventListener: (n, f, c) => { listeners[n] = { f, c }; },
              removeEventListener() {}, activeElement: body, body };
const sent = [];
const el = { closest: () => app };
let clock = 0;
Date.now = () => clock;
const timers = [];
const later = (fn, ms) => { timers.push([clock + ms, fn]); };
function advance(ms) {
  const end = clock + ms;
  while (timers.length && timers[0][0] <= end) {
    const [at, fn] = timers.shift();
    clock = at;
    fn();
  }
  clock = end;
}
createKeyboard({ model: { send: (m) => sent.push(m) }, el, doc, later,
                 Observer: class { observe() {} } });
function press(ev) {
  const r = { prevented: false, stopped: false };
  listeners.keydown.f({ ...ev, preventDefault() { r.prevented = true; },
                        stopPropagation() { r.stopped = true; } });
  return r;
}
out.capture = listeners.keydown.c;
out.ctrlEnter = press({ key: "Enter", ctrlKey: true, target: ink });
out.tab = press({ key: "Tab", target: compare });
out.plainKey = press({ key: "a", target: compare });
out.sent = sent.splice(0);

// kept inputs, as on the screen: a prompt (Textarea), a template (Text), a drop-down
function box(tag, input, value) {
  const b = node("DIV", ["widget-text", tag], app);
  b.classList[Symbol.iterator] = function* () { yield* b.classes; };
  b.querySelector = (sel) => {
    if (input === null) return null;
    if (sel === "select") return input === "SELECT" ? { selectedIndex: value } : null;
    return input === "SELECT" ? null : { tagName: input, value };
  };
  return b;
}
const boxes = [box("cdw-input-abc123", "TEXTAREA", "a lighthouse at dusk"),
               box("cdw-input-def456", "INPUT", "a {animal}"),
               box("cdw-input-ghi789", "SELECT", 2),
               box("cdw-input-nothing", null, "")];
const inks = [{ dataset: { cdwAwaiting: "0" } }, { dataset: {} }];
app.querySelectorAll = (sel) => (sel === '[class*="cdw-input-"]' ? boxes
                                 : sel === "canvas.cdw-ink" ? inks : []);
out.typed = pageInputs(app);
run.closest = (sel) => (sel === ".cdw-run" ? run : null);
cancel.closest = () => null;
const icon = { closest: (sel) => (sel === ".cdw-run" ? run : null) }; // the icon inside Run
out.pressed = [name(runPressed(run, app)), name(runPressed(icon, app)),
               name(runPressed(cancel, app)), name(runPressed(run, null))];
function click(target) {
  const r = { prevented: false, stopped: false };
  listeners.click.f({ target, preventDefault() { r.prevented = true; },
                      stopPropagation() { r.stopped = true; } });
  return r;
}
out.clickRun = click(icon);
out.clickCancel = click(cancel);
out.clickCapture = listeners.click.c;
out.afterClick = sent.splice(0);
press({ key: "Enter", metaKey: true, target: ink });
out.afterCtrlEnter = sent.splice(0);

// a stroke finished but not yet committed by Python: Run waits for it, once
inks[1].dataset.cdwAwaiting = "1";
out.awaiting = strokesAwaiting(app);
click(run);
click(run); // pressed again while waiting: ignored
advance(200);
out.whileAwaiting = sent.splice(0);
boxes[0].querySelector = (sel) => (sel === "select" ? null : { value: "typed while waiting" });
inks[1].dataset.cdwAwaiting = "0";
advance(20);
out.afterCommit = sent.splice(0);
// a stroke Python never commits: Run goes after RUN_WAIT_MS all the same
inks[0].dataset.cdwAwaiting = "2";
click(run);
advance(RUN_WAIT_MS - 100);
out.beforeGiveUp = sent.length;
advance(200);
out.afterGiveUp = sent.splice(0).length;
inks[0].dataset.cdwAwaiting = "0";
run.disabled = true; // a click on a disabled Run sends nothing
out.pressedDisabled = name(runPressed(run, app));
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shutil.copy(Path(keyboard_module.__file__).parent / "keyboard.js", work / "keyboard.mjs")
        (work / "harness.mjs").write_text(HARNESS)
        out = subprocess.run([NODE, "harness.mjs"], cwd=work, capture_output=True, text=True,
                             timeout=60, check=True)
    return json.loads(out.stdout)


def test_which_keys_the_app_takes(run: dict[str, Any]) -> None:
    assert run["actions"] == ["run", "run", None, "tab", "tab", None, None]


def test_ctrl_enter_runs_once_and_tab_is_not_cancelled(run: dict[str, Any]) -> None:
    assert run["capture"] is True  # before ipycanvas's own handler on the canvas
    assert run["ctrlEnter"] == {"prevented": True, "stopped": True}
    assert run["sent"] == [{"type": "run", "inputs": {}}]
    assert run["tab"] == {"prevented": False, "stopped": True}  # the browser moves focus
    assert run["plainKey"] == {"prevented": False, "stopped": False}


def test_a_press_of_run_is_one_message_with_the_inputs_on_the_screen(run: dict[str, Any]) -> None:
    typed = {"abc123": {"value": "a lighthouse at dusk"}, "def456": {"value": "a {animal}"},
             "ghi789": {"index": 2}}
    assert run["typed"] == typed  # by model id; a box without an input is skipped
    assert run["pressed"] == ["cdw-run", "cdw-run", None, None]
    assert run["clickCapture"] is True  # before the button's own click handler
    # the button's own click message (without the text) is not sent; Cancel is left alone
    assert run["clickRun"] == {"prevented": True, "stopped": True}
    assert run["clickCancel"] == {"prevented": False, "stopped": False}
    assert run["afterClick"] == [{"type": "run", "inputs": typed}]
    assert run["afterCtrlEnter"] == [{"type": "run", "inputs": typed}]
    assert run["pressedDisabled"] is None


def test_run_waits_for_strokes_python_has_not_committed(run: dict[str, Any]) -> None:
    assert run["awaiting"] == 1
    assert run["whileAwaiting"] == []  # neither press went ahead of the stroke
    # one run, with the text as it is when it goes
    assert run["afterCommit"] == [{"type": "run", "inputs": {
        "abc123": {"value": "typed while waiting"}, "def456": {"value": "a {animal}"},
        "ghi789": {"index": 2}}}]
    assert run["beforeGiveUp"] == 0 and run["afterGiveUp"] == 1


def test_focus_goes_between_run_and_cancel(run: dict[str, Any]) -> None:
    assert run["whileRunDisabled"] is None  # nothing enabled yet: wait for Cancel
    assert run["afterCancelEnabled"] == "cdw-cancel"
    assert run["afterRunEnds"] == "cdw-run"
    assert run["userMovedOn"] is None and run["focusElsewhere"] is None


def test_class_names_match_python() -> None:
    source = (Path(keyboard_module.__file__).parent / "keyboard.js").read_text()
    for name in (keyboard_module.APP_CLASS, keyboard_module.RUN_CLASS,
                 keyboard_module.CANCEL_CLASS, keyboard_module.INPUT_CLASS_PREFIX):
        assert f'"{name}"' in source
