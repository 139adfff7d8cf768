"""keyboard.js run under Node with fake elements: which keys it takes, where focus goes.

The browser suite (tests/browser/test_browser_photos.py) presses the keys in Chromium; this
checks the module's decisions one by one: Ctrl/Cmd+Enter inside the app runs it (and is kept
from the notebook, which would run the cell again), Tab on an ipycanvas canvas is kept from
the canvas's handler (which cancels it) but not cancelled, and focus lost from Run or Cancel
goes to whichever of the two is enabled (a second Enter does not press Cancel), a press of Run
(clicked, or Ctrl/Cmd+Enter) is one message carrying the kept inputs as shown on the page (text,
chosen index), in place of the button's own click, sent once the strokes and uploads before it
are taken, and a Studio around the app runs it from its own controls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from node_harness import NODE, run_module

from clipdrop_widgets.widgets import keyboard as keyboard_module

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { createKeyboard, keyAction, focusTarget, pageInputs, runPressed, awaitingPython,
         owner, notebookCell, RUN_WAIT_MS, CANCEL_GUARD_MS,
         SUPPRESS_ATTRIBUTE } from "./keyboard.mjs";

// A small fake DOM: elements with classes, a parent, children, dataset; closest() and
// querySelector(All)() for the selectors keyboard.js uses.
function matches(n, sel) {
  if (sel.startsWith(".")) return n.classes.includes(sel.slice(1));
  if (sel.startsWith("[class*=")) return n.classes.some((c) => c.includes(sel.slice(9, -2)));
  if (sel === "[data-cdw-awaiting]") return "cdwAwaiting" in n.dataset;
  return sel.split(",").map((x) => x.trim().toUpperCase()).includes(n.tagName);
}
function node(tag, classes = [], parent = null, extra = {}) {
  const n = { tagName: tag, classes, parent, children: [], disabled: false, dataset: {},
              ...extra };
  n.classList = { contains: (c) => n.classes.includes(c),
                  [Symbol.iterator]: () => n.classes[Symbol.iterator]() };
  n.closest = (sel) => {
    for (let x = n; x; x = x.parent) if (matches(x, sel)) return x;
    return null;
  };
  n.contains = (m) => {
    for (let x = m; x; x = x.parent) if (x === n) return true;
    return false;
  };
  n.querySelectorAll = (sel) => {
    const found = [];
    const walk = (x) => {
      for (const c of x.children) { if (matches(c, sel)) found.push(c); walk(c); }
    };
    walk(n);
    return found;
  };
  n.querySelector = (sel) => n.querySelectorAll(sel)[0] || null;
  n.focus = (options) => { doc.activeElement = n; n.focusOptions = options; };
  n.attributes = {};
  n.setAttribute = (k, v) => { n.attributes[k] = String(v); };
  n.getAttribute = (k) => (k in n.attributes ? n.attributes[k] : null);
  if (parent) parent.children.push(n);
  return n;
}
const name = (n) => (n ? n.classes[0] : null);
const listenersOf = [];
const doc = { activeElement: null, body: null,
              addEventListener: (n, f, c) => { listenersOf.push({ n, f, c }); },
              removeEventListener() {} };
doc.body = node("BODY");
doc.activeElement = doc.body;

// A Studio (an app root) holding an app (an app root) and its own controls.
const studio = node("DIV", ["cdw-app", "studio"], doc.body);
const keyField = node("INPUT", ["key"], studio, { type: "password" });
const showButton = node("BUTTON", ["show"], studio);
const studioEl = node("DIV", ["studio-keyboard"], studio);
const app = node("DIV", ["cdw-app", "app"], studio);
const compare = node("CANVAS", ["lm-Widget"], app);
const ink = node("CANVAS", ["cdw-ink"], app);
const run = node("BUTTON", ["cdw-run"], app);
const icon = node("I", ["fa-play"], run);
const cancel = node("BUTTON", ["cdw-cancel"], app);
cancel.disabled = true; // an idle app: Run enabled, Cancel disabled
const appEl = node("DIV", ["app-keyboard"], app);
const outside = node("CANVAS", ["outside"], doc.body);

const out = {};
out.owners = [owner(ink), owner(showButton), owner(outside)].map((r) => (r ? r.classes[1] : null));
out.actions = [
  keyAction({ key: "Enter", ctrlKey: true, target: ink }, app),
  keyAction({ key: "Enter", metaKey: true, target: compare }, app),
  keyAction({ key: "Enter", target: run }, app),
  keyAction({ key: "Tab", target: compare }, app),
  keyAction({ key: "Tab", shiftKey: true, target: compare }, app),
  keyAction({ key: "Tab", target: ink }, app),
  keyAction({ key: "Enter", ctrlKey: true, target: outside }, app),
  keyAction({ key: "Enter", ctrlKey: true, target: ink }, studio), // the app's, not the Studio's
  keyAction({ key: "Enter", ctrlKey: true, target: showButton }, studio),
  keyAction({ key: "Enter", ctrlKey: true, target: keyField }, studio),
];

// focus after Run is pressed: Run disabled (nothing enabled yet), then Cancel enabled, ...
const body = doc.body;
run.disabled = true;
out.whileRunDisabled = name(focusTarget(app, run, run, body));
cancel.disabled = false;
out.afterCancelEnabled = name(focusTarget(app, run, body, body));
out.studioLeavesItAlone = name(focusTarget(studio, run, body, body));
run.disabled = false;
cancel.disabled = true;
out.afterRunEnds = name(focusTarget(app, cancel, cancel, body));
out.userMovedOn = name(focusTarget(app, ink, body, body));
out.focusElsewhere = name(focusTarget(app, run, ink, body));

// the two keyboards' document listeners
let clock = 1000;
Date.now = () => clock;
const timers = [];
const later = (fn, ms) => { timers.push([clock + ms, fn]); timers.sort((a, b) => a[0] - b[0]); };
function advance(ms) {
  const end = clock + ms;
  while (timers.length && timers[0][0] <= end) {
    const [at, fn] = timers.shift();
    clock = at;
    fn();
  }
  clock = end;
}
const observers = [];
class Observer { constructor(cb) { this.cb = cb; observers.push(this); } observe() {} }
const sent = { app: [], studio: [] };
const models = { app: { send: (m) => sent.app.push(m) },
                 studio: { send: (m) => sent.studio.push(m) } };
createKeyboard({ model: models.app, el: appEl, doc, later, Observer, watcher: false });
createKeyboard({ model: models.studio, el: studioEl, doc, later, Observer, watcher: false });
// The document's listeners, capture phase first; `inside` (the target's own handlers, e.g.
// ipycanvas's or a menu's) between the two phases. A stopped event goes no further.
function fire(type, ev, inside = () => {}) {
  const r = { prevented: false, stopped: false };
  const full = { detail: 1, ...ev, defaultPrevented: false,
                 preventDefault() { r.prevented = true; full.defaultPrevented = true; },
                 stopPropagation() { r.stopped = true; } };
  for (const phase of [true, false]) {
    if (!phase && !r.stopped) inside(full);
    for (const l of listenersOf) {
      if (l.n !== type || l.c !== phase || r.stopped) continue;
      if (phase) out.capture = out.capture !== false && l.c;
      l.f(full);
    }
  }
  return r;
}
const take = () => ({ app: sent.app.splice(0), studio: sent.studio.splice(0) });
out.ctrlEnter = fire("keydown", { key: "Enter", ctrlKey: true, target: ink });
out.ctrlEnterSent = take();
out.tab = fire("keydown", { key: "Tab", target: compare });
out.plainKey = fire("keydown", { key: "a", target: compare });
out.onStudio = fire("keydown", { key: "Enter", ctrlKey: true, target: showButton });
out.onStudioSent = take();
out.onKeyField = fire("keydown", { key: "Enter", ctrlKey: true, target: keyField });
out.onKeyFieldSent = take();

// kept inputs, as on the screen: a prompt (Textarea), a template (Text), a drop-down
function box(tag, input, value) {
  const b = node("DIV", ["widget-text", tag], app);
  if (input === "SELECT") node("SELECT", [], b, { selectedIndex: value });
  else if (input !== null) node(input, [], b, { value });
  return b;
}
const boxes = [box("cdw-input-abc123", "TEXTAREA", "a lighthouse at dusk"),
               box("cdw-input-def456", "INPUT", "a {animal}"),
               box("cdw-input-ghi789", "SELECT", 2),
               box("cdw-input-nothing", null, "")];
const typed = pageInputs(app);
out.typed = typed;
out.pressed = [name(runPressed(run, app)), name(runPressed(icon, app)),
               name(runPressed(cancel, app)), name(runPressed(run, null)),
               name(runPressed(icon, studio))];
out.clickRun = fire("click", { target: icon });
out.clickCancel = fire("click", { target: cancel });
out.afterClick = take();
fire("keydown", { key: "Enter", metaKey: true, target: ink });
out.afterCtrlEnter = take();

// a stroke finished but not yet committed by Python: Run waits for it, once
ink.dataset.cdwAwaiting = "1";
out.awaiting = awaitingPython(app);
fire("click", { target: run });
fire("click", { target: run }); // pressed again while waiting: ignored
advance(200);
out.whileAwaiting = take();
boxes[0].children[0].value = "typed while waiting";
ink.dataset.cdwAwaiting = "0";
advance(20);
out.afterCommit = take();
// a photo being uploaded: Run waits for Python's answer as well
const upload = node("DIV", ["cdw-upload"], app);
upload.dataset.cdwAwaiting = "1";
fire("keydown", { key: "Enter", ctrlKey: true, target: ink });
advance(60000);
out.whileUploading = take();
upload.dataset.cdwAwaiting = "0";
advance(20);
out.afterUpload = take().app.length;
// something Python never takes: Run goes after RUN_WAIT_MS all the same
ink.dataset.cdwAwaiting = "2";
fire("click", { target: run });
advance(RUN_WAIT_MS - 100);
out.beforeGiveUp = sent.app.length;
advance(200);
out.afterGiveUp = take().app.length;
ink.dataset.cdwAwaiting = "0";

// Enter twice on Run: focus moves to Cancel as Run is disabled; the second press is ignored
fire("focusin", { target: run });
doc.activeElement = run;
run.disabled = true;
cancel.disabled = false;
for (const o of observers) o.cb();
out.focusAfterRun = name(doc.activeElement);
clock += 100;
out.secondEnter = fire("click", { target: cancel, detail: 0 }); // a keyboard press
out.mouseClick = fire("click", { target: cancel, detail: 1 }); // a click always cancels
clock += CANCEL_GUARD_MS;
out.laterEnter = fire("click", { target: cancel, detail: 0 });
run.disabled = false;
cancel.disabled = true;

run.disabled = true; // a click on a disabled Run sends nothing
out.pressedDisabled = name(runPressed(run, app));
run.disabled = false;

// the kernel is gone: sending throws; the press is dropped with a warning, nothing thrown
const warned = [];
console.warn = (...a) => warned.push(a.join(" "));
models.app.send = () => { throw new Error("Cannot send"); };
let threw = false;
try { fire("click", { target: run }); } catch (err) { threw = true; }
out.deadKernel = { threw, warned: warned.length };
out.suppressed = [studio, app, run, compare, doc.body, outside].map(
  (n) => n.getAttribute(SUPPRESS_ATTRIBUTE));

// Escape inside an app: the focus goes to the notebook cell around it (JupyterLab, Notebook
// 7 then enter command mode); outside a notebook it is left alone.
const escape = (target, inside) => {
  doc.activeElement = target;
  const r = fire("keydown", { key: "Escape", target }, inside);
  return [r, name(doc.activeElement)];
};
out.escapeNoCell = [notebookCell(app), ...escape(run)];
const cell = node("DIV", ["jp-Cell"], doc.body);
studio.parent = cell;
cell.children.push(studio);
const prompt = boxes[0].children[0];
out.escapeActions = [keyAction({ key: "Escape", target: prompt }, app),
                     keyAction({ key: "Escape", shiftKey: true, target: prompt }, app),
                     keyAction({ key: "Escape", target: prompt }, studio),
                     keyAction({ key: "Escape", target: outside }, app)];
out.escapePrompt = escape(prompt);
// ipywidgets' text view stops every key at the prompt: taken in the capture phase
doc.activeElement = prompt;
out.escapePromptStopped = [fire("keydown", { key: "Escape", target: prompt },
                                (ev) => ev.stopPropagation()), name(doc.activeElement)];
doc.activeElement = prompt;
out.escapeComposing = [fire("keydown", { key: "Escape", target: prompt, isComposing: true },
                            (ev) => ev.stopPropagation()), doc.activeElement === prompt];
out.escapeFocusOptions = cell.focusOptions;
out.escapeStudio = escape(showButton);
out.escapeCanvas = escape(compare, (ev) => ev.preventDefault()); // ipycanvas cancels every key
out.escapeTaken = escape(run, (ev) => ev.preventDefault()); // e.g. a menu closing
out.escapeOutside = escape(outside);
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_module("keyboard", HARNESS)


def test_which_keys_the_app_takes(run: dict[str, Any]) -> None:
    assert run["owners"] == ["app", "studio", None]  # the nearest app root
    assert run["actions"] == ["run", "run", None, "tab", "tab", None, None,
                              None,  # a key inside the app is the app's, not the Studio's
                              "run",  # Ctrl+Enter on a Studio control: its current app runs
                              None]  # on the key field: Enter takes the key there


def test_ctrl_enter_runs_once_and_tab_is_not_cancelled(run: dict[str, Any]) -> None:
    assert run["capture"] is True  # before ipycanvas's own handler on the canvas
    assert run["ctrlEnter"] == {"prevented": True, "stopped": True}
    assert run["ctrlEnterSent"] == {"app": [{"type": "run", "inputs": {}}], "studio": []}
    assert run["tab"] == {"prevented": False, "stopped": True}  # the browser moves focus
    assert run["plainKey"] == {"prevented": False, "stopped": False}


def test_ctrl_enter_on_the_studios_own_controls_never_reruns_the_cell(
        run: dict[str, Any]) -> None:
    assert run["onStudio"] == {"prevented": True, "stopped": True}
    assert run["onStudioSent"] == {"app": [], "studio": [{"type": "run", "inputs": {}}]}
    assert run["onKeyField"] == {"prevented": False, "stopped": False}
    assert run["onKeyFieldSent"] == {"app": [], "studio": []}


def test_a_press_of_run_is_one_message_with_the_inputs_on_the_screen(
        run: dict[str, Any]) -> None:
    typed = {"abc123": {"value": "a lighthouse at dusk"}, "def456": {"value": "a {animal}"},
             "ghi789": {"index": 2}}
    assert run["typed"] == typed  # by model id; a box without an input is skipped
    # Run's own root presses it (its icon too); the Studio around it does not
    assert run["pressed"] == ["cdw-run", "cdw-run", None, None, None]
    # the button's own click message (without the text) is not sent; Cancel is left alone
    assert run["clickRun"] == {"prevented": True, "stopped": True}
    assert run["clickCancel"] == {"prevented": False, "stopped": False}
    assert run["afterClick"] == {"app": [{"type": "run", "inputs": typed}], "studio": []}
    assert run["afterCtrlEnter"] == {"app": [{"type": "run", "inputs": typed}], "studio": []}
    assert run["pressedDisabled"] is None


def test_run_waits_for_strokes_and_uploads_python_has_not_taken(run: dict[str, Any]) -> None:
    assert run["awaiting"] == 1
    assert run["whileAwaiting"] == {"app": [], "studio": []}  # no press went ahead
    # one run, with the text as it is when it goes
    assert run["afterCommit"] == {"app": [{"type": "run", "inputs": {
        "abc123": {"value": "typed while waiting"}, "def456": {"value": "a {animal}"},
        "ghi789": {"index": 2}}}], "studio": []}
    assert run["whileUploading"] == {"app": [], "studio": []}  # a minute in: still waiting
    assert run["afterUpload"] == 1
    assert run["beforeGiveUp"] == 0 and run["afterGiveUp"] == 1


def test_enter_twice_on_run_does_not_cancel(run: dict[str, Any]) -> None:
    assert run["focusAfterRun"] == "cdw-cancel"  # focus is kept, on Cancel
    assert run["secondEnter"] == {"prevented": True, "stopped": True}  # ignored
    assert run["mouseClick"] == {"prevented": False, "stopped": False}  # a click cancels
    assert run["laterEnter"] == {"prevented": False, "stopped": False}  # so does Enter later


def test_a_press_with_no_kernel_is_dropped_with_a_warning(run: dict[str, Any]) -> None:
    assert run["deadKernel"] == {"threw": False, "warned": 1}


def test_focus_goes_between_run_and_cancel(run: dict[str, Any]) -> None:
    assert run["whileRunDisabled"] is None  # nothing enabled yet: wait for Cancel
    assert run["afterCancelEnabled"] == "cdw-cancel"
    assert run["studioLeavesItAlone"] is None  # the app's buttons are the app's to move
    assert run["afterRunEnds"] == "cdw-run"
    assert run["userMovedOn"] is None and run["focusElsewhere"] is None


def test_class_names_match_python() -> None:
    source = (Path(keyboard_module.__file__).parent / "keyboard.js").read_text()
    for name in (keyboard_module.APP_CLASS, keyboard_module.RUN_CLASS,
                 keyboard_module.CANCEL_CLASS, keyboard_module.INPUT_CLASS_PREFIX):
        assert f'"{name}"' in source


def test_the_notebook_shortcuts_never_see_keys_inside_an_app(run: dict[str, Any]) -> None:
    """Issue 21: Ctrl+Enter on a canvas re-ran the cell in Notebook 7 and B inserted a cell.
    Lumino skips its key bindings inside ``data-lm-suppress-shortcuts``: every app root (the
    Studio's too) carries it, and so does each element of an app that got focus (the
    notebook's selectors match the focused element itself); nothing outside the apps does.
    (Pressed in JupyterLab and Notebook 7 in tests/browser/test_browser_notebook_keys.py.)"""
    assert run["suppressed"] == ["true", "true", "true", None, None, None]


def test_escape_leaves_the_app_for_the_notebook_cell(run: dict[str, Any]) -> None:
    """Finding 17 (walk 22): in JupyterLab and Notebook 7, Escape in the Studio's prompt did
    nothing (the shortcuts are kept away), so "Esc, then navigate cells" took Tab presses.
    Escape now gives the focus to the cell around the app, as JupyterLab does in command
    mode; an Escape something inside the app took (a menu closing) stays there, and outside
    a notebook (Voila) nothing happens."""
    assert run["escapeNoCell"] == [None, {"prevented": False, "stopped": False}, "cdw-run"]
    assert run["escapeActions"] == ["leave", None, None, None]
    assert run["escapePrompt"] == [{"prevented": True, "stopped": False}, "jp-Cell"]
    # a prompt's view stops every key from bubbling (ipywidgets): Escape still leaves (walk 22
    # #17, in the prompt textarea), unless an input method was composing with it
    assert run["escapePromptStopped"] == [{"prevented": True, "stopped": True}, "jp-Cell"]
    assert run["escapeComposing"] == [{"prevented": False, "stopped": True}, True]
    assert run["escapeFocusOptions"] == {"preventScroll": True}
    assert run["escapeStudio"] == [{"prevented": True, "stopped": False}, "jp-Cell"]
    # on a canvas it is taken before ipycanvas's handler, which cancels every key
    assert run["escapeCanvas"] == [{"prevented": True, "stopped": True}, "jp-Cell"]
    assert run["escapeTaken"] == [{"prevented": True, "stopped": False}, "cdw-run"]
    assert run["escapeOutside"] == [{"prevented": False, "stopped": False}, "outside"]


TOGGLE_HARNESS = r"""
import { rebuiltButton } from "./keyboard.mjs";

// A toggle group as ipywidgets rebuilds it: the old buttons detached, new ones in their place.
const body = { isConnected: true };
const button = (label, extra = {}) => ({ tagName: "BUTTON", label, isConnected: true,
                                          disabled: false, ...extra });
const group = { isConnected: true, children: [button("x2"), button("x4"), button("Size")] };
const focused = group.children[1];
const rebuild = (extra = {}) => {
  for (const b of group.children) b.isConnected = false;
  group.children = [button("x2"), button("x4", extra), button("Size")];
};
const name = (b) => (b === null ? null : b.label);
const said = {};
said.before = name(rebuiltButton(focused, group, 1, focused, body));
rebuild();
said.rebuilt = name(rebuiltButton(focused, group, 1, body, body));
said.rebuiltNoActive = name(rebuiltButton(focused, group, 1, null, body));
said.movedOn = name(rebuiltButton(focused, group, 1, { isConnected: true }, body));
said.itsNewSelf = rebuiltButton(focused, group, 1, focused, body) === group.children[1];
rebuild({ disabled: true });
said.disabled = name(rebuiltButton(focused, group, 1, body, body));
group.isConnected = false;
said.groupGone = name(rebuiltButton(focused, group, 1, body, body));
console.log(JSON.stringify(said));
"""


def test_a_row_rebuilt_by_the_kernel_gives_the_focus_back_at_the_same_place() -> None:
    """ipywidgets' ToggleButtons rebuild every button for a change the kernel makes: the
    button at the focused one's place takes the focus back, unless the focus went elsewhere
    meanwhile, or the new button is disabled, or the group left the page (the browser test:
    tests/browser/test_browser_layout.py, Upscale's x4 moved to Size)."""
    said = run_module("keyboard", TOGGLE_HARNESS)
    assert said == {"before": None, "rebuilt": "x4", "rebuiltNoActive": "x4", "movedOn": None,
                    "itsNewSelf": True, "disabled": None, "groupGone": None}, said


WATCH_HARNESS = r"""
import { createKeyboard } from "./keyboard.mjs";

// Fakes: elements with classes and a parent; a document that dispatches focus events; one
// MutationObserver stand-in per group, whose callback the "kernel" runs after a rebuild.
const listeners = [];
const doc = { activeElement: null, body: null,
              addEventListener: (n, f) => listeners.push([n, f]), removeEventListener() {} };
const fire = (type, target) => { for (const [n, f] of listeners) if (n === type) f({ target }); };
function node(tag, classes, parent) {
  const n = { tagName: tag, classes, parent, parentElement: parent, children: [],
              isConnected: true, disabled: false, attrs: {} };
  n.classList = { contains: (c) => classes.includes(c),
                  [Symbol.iterator]: () => classes[Symbol.iterator]() };
  n.closest = (sel) => {
    for (let x = n; x; x = x.parent) if (x.classes.includes(sel.slice(1))) return x;
    return null;
  };
  n.setAttribute = (k, v) => { n.attrs[k] = v; };
  n.getAttribute = (k) => n.attrs[k] ?? null;
  n.focus = () => { move(n); };
  if (parent) parent.children.push(n);
  return n;
}
function move(to) {  // the focus moves: focusout on the old element, focusin on the new one
  const from = doc.activeElement;
  doc.activeElement = to;
  if (from && from !== doc.body) fire("focusout", from);
  if (to !== doc.body) fire("focusin", to);
}
const watching = new Set();
class Observer {
  constructor(cb) { this.cb = cb; }
  observe(target) { this.target = target; watching.add(this); }
  disconnect() { watching.delete(this); }
}
const timers = [];
const later = (fn) => timers.push(fn);
const flush = () => { while (timers.length) timers.shift()(); };
doc.body = node("BODY", ["body"], null);
doc.activeElement = doc.body;
const app = node("DIV", ["cdw-app"], doc.body);
const el = node("DIV", ["keyboard"], app);
const group = node("DIV", ["widget-toggle-buttons"], app);
const other = node("DIV", ["cdw-app"], doc.body);  // another app, its own keyboard
const otherField = node("INPUT", ["field"], other);
const prompt = node("TEXTAREA", ["prompt"], app);
const toggle = (label) => node("BUTTON", ["widget-toggle-button", label], group);
["x2", "x4", "size"].forEach(toggle);
createKeyboard({ model: { send() {} }, el, doc, later, Observer, watcher: false });
createKeyboard({ model: { send() {} }, el: node("DIV", ["kb"], other), doc, later, Observer,
                 watcher: false });
// The kernel's change: every button replaced (the focused one leaves the page: the focus goes
// to the body without a focus event, as in Chromium), then the observers run.
function rebuild() {
  for (const b of group.children) b.isConnected = false;
  const focusedGone = doc.activeElement !== doc.body && !doc.activeElement.isConnected;
  if (focusedGone) doc.activeElement = doc.body;
  group.children = [];
  ["x2", "x4", "size"].forEach(toggle);
  for (const o of [...watching]) if (o.target === group) o.cb();
  flush();
}
const where = () => doc.activeElement.classes.at(-1);
const said = {};
move(group.children[1]);  // x4, by keyboard
rebuild();
said.rebuilt = where();
rebuild();  // again: the new x4 is watched too
said.rebuiltTwice = where();
move(prompt);
rebuild();
said.onThePrompt = where();
move(group.children[1]);
move(doc.body);  // a click on the page's background
flush();
rebuild();
said.leftForTheBackground = where();
move(group.children[1]);
move(otherField);  // into another app
rebuild();
said.inAnotherApp = where();
// a history card's row: the old buttons go, the new ones come one by one a moment later
move(group.children[1]);
for (const b of group.children) b.isConnected = false;
doc.activeElement = doc.body;
group.children = [];
for (const o of [...watching]) if (o.target === group) o.cb();
said.whileEmpty = where();
for (const label of ["show", "download"]) {
  toggle(label);
  for (const o of [...watching]) if (o.target === group) o.cb();
}
said.oneByOne = where();
// a row grown in front (a prompt's Undo put before Use): the button like it, not its place
move(group.children[1]);
for (const b of group.children) b.isConnected = false;
doc.activeElement = doc.body;
group.children = [];
["undo", "show", "download"].forEach(toggle);
for (const o of [...watching]) if (o.target === group) o.cb();
said.grownInFront = where();
// a row emptied, and nothing at the place for longer than the wait: the watch gives up
move(group.children[1]);
for (const b of group.children) b.isConnected = false;
doc.activeElement = doc.body;
group.children = [];
const start = Date.now();
for (const o of [...watching]) if (o.target === group) o.cb();
Date.now = () => start + 6000;
["a", "b"].forEach(toggle);
for (const o of [...watching]) if (o.target === group) o.cb();
said.givenUp = where();
console.log(JSON.stringify(said));
"""


def test_the_focused_button_is_watched_only_while_it_has_the_focus() -> None:
    """keyboard.js watches the row of the button that has the focus. A rebuild gives the
    focus back at the same place (again after a second rebuild; in a history card's row, when
    the new button comes a moment after the old one went), or to the button like it when the
    row grew in front; once the person has left the
    button (the prompt, the page's background, another app), a rebuild takes nothing, nor
    does a button that comes more than REPLACED_WAIT_MS later."""
    said = run_module("keyboard", WATCH_HARNESS)
    assert said == {"rebuilt": "x4", "rebuiltTwice": "x4", "onThePrompt": "prompt",
                    "leftForTheBackground": "body", "inAnotherApp": "field",
                    "whileEmpty": "body", "oneByOne": "download", "grownInFront": "download",
                    "givenUp": "body"}, said
