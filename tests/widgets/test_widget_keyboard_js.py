"""keyboard.js run under Node with fake elements: which keys it takes, where focus goes.

The browser suite (tests/browser/test_browser_photos.py) presses the keys in Chromium; this
checks the module's decisions one by one: Ctrl/Cmd+Enter inside the app runs it (and is kept
from the notebook, which would run the cell again), Tab on an ipycanvas canvas is kept from
the canvas's handler (which cancels it) but not cancelled, and focus lost from Run or Cancel
goes to whichever of the two is enabled.
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
import { createKeyboard, keyAction, focusTarget } from "./keyboard.mjs";

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
createKeyboard({ model: { send: (m) => sent.push(m) }, el, doc, Observer: class { observe() {} } });
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
out.sent = sent;
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
    assert run["sent"] == [{"type": "run"}]
    assert run["tab"] == {"prevented": False, "stopped": True}  # the browser moves focus
    assert run["plainKey"] == {"prevented": False, "stopped": False}


def test_focus_goes_between_run_and_cancel(run: dict[str, Any]) -> None:
    assert run["whileRunDisabled"] is None  # nothing enabled yet: wait for Cancel
    assert run["afterCancelEnabled"] == "cdw-cancel"
    assert run["afterRunEnds"] == "cdw-run"
    assert run["userMovedOn"] is None and run["focusElsewhere"] is None


def test_class_names_match_python() -> None:
    source = (Path(keyboard_module.__file__).parent / "keyboard.js").read_text()
    for name in (keyboard_module.APP_CLASS, keyboard_module.RUN_CLASS,
                 keyboard_module.CANCEL_CLASS):
        assert f'"{name}"' in source
