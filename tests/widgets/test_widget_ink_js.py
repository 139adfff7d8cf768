"""ink.js run under Node with a fake canvas, model and clock: batching, coordinates, release.

No browser here (tests/browser covers real pointer latency); this checks the module's logic:
every point reaches Python, at most one message per BATCH_MS while drawing plus one final,
CSS scaling undone, and a stroke's live ink kept until Python releases it.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from node_harness import NODE, run_module

from clipdrop_widgets.widgets import ink as ink_module
from clipdrop_widgets.widgets.ink import PartialStrokes, decode_ink_message

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { createInk, shortcut, strokeWidth } from "./ink.mjs";

const BATCH_MS = Number(process.argv[2]); // the synced trait's value, given by the test

let clock = 0;
let timers = [];
let frames = [];
globalThis.setTimeout = (fn, ms) => { const t = { at: clock + ms, fn }; timers.push(t); return t; };
globalThis.clearTimeout = (t) => { timers = timers.filter((x) => x !== t); };
globalThis.requestAnimationFrame = (fn) => { frames.push(fn); };
function advance(ms) {
  const end = clock + ms;
  for (;;) {
    const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
    if (!due) break;
    clock = due.at;
    timers = timers.filter((t) => t !== due);
    due.fn();
  }
  clock = end;
}
function frame() { const f = frames; frames = []; f.forEach((fn) => fn()); }

const ops = [];
const ctx = new Proxy({}, {
  get: (o, k) => (k in o ? o[k] : (...a) => ops.push(k)),
  set: (o, k, v) => { o[k] = v; return true; },
});
const handlers = {};
const canvas = {
  width: 0, height: 0, style: {}, dataset: {},
  getContext: () => ctx,
  getBoundingClientRect: () => ({ left: 10, top: 20, width: 256, height: 192 }),
  addEventListener: (n, f) => { handlers[n] = f; },
  removeEventListener: (n) => { delete handlers[n]; },
  setPointerCapture: () => {},
};
const traits = { width: 512, height: 384, size: 6, color: "white", eraser_color: "black",
                 tool: "pen", enabled: true, opacity: 1, batch_ms: BATCH_MS };
const listeners = {};
const sent = [];
const model = {
  get: (k) => traits[k],
  on: (n, f) => { listeners[n] = f; },
  off: (n) => { delete listeners[n]; },
  send: (content, _cb, buffers) => {
    const pts = buffers ? Array.from(new Float32Array(buffers[0].buffer)) : [];
    sent.push({ at: clock, content, pts });
  },
};
const ink = createInk({ model, canvas, now: () => clock });

function ev(x, y, extra = {}) {
  return { pointerId: 1, pointerType: "mouse", button: 0, clientX: x, clientY: y,
           preventDefault() {}, ...extra };
}

// a fast 800 ms drag: a move every 8 ms, each carrying 2 coalesced points
handlers.pointerdown(ev(10, 20));
let lineTos = [];
for (let i = 1; i <= 100; i++) {
  advance(8);
  const a = ev(10 + i, 20 + i / 2), b = ev(10.5 + i, 20.25 + i / 2);
  const before = ops.filter((o) => o === "lineTo").length;
  handlers.pointermove({ ...b, getCoalescedEvents: () => [a, b] });
  lineTos.push(ops.filter((o) => o === "lineTo").length - before);
}
advance(3);
const awaitingWhileDrawing = canvas.dataset.cdwAwaiting;
handlers.pointerup(ev(120, 75));
const pendingAfterUp = ink.pending.size;
const awaitingAfterUp = canvas.dataset.cdwAwaiting;
const strokeId = sent[sent.length - 1].content.id;
listeners["msg:custom"]({ type: "release", id: "another stroke" });
const awaitingAfterOtherRelease = canvas.dataset.cdwAwaiting;
listeners["msg:custom"]({ type: "release", id: strokeId });
const awaitingAfterRelease = canvas.dataset.cdwAwaiting;
frame();
const pendingAfterOneFrame = ink.pending.size;
frame();
const pendingAfterTwoFrames = ink.pending.size;

// the rectangle tool: one final message with its two corners
traits.tool = "rect";
const before = sent.length;
handlers.pointerdown(ev(20, 30));
advance(50);
handlers.pointermove(ev(60, 70));
advance(300);
handlers.pointermove(ev(80, 90));
handlers.pointerup(ev(90, 100));
const rect = sent.slice(before);

// disabled: the pointer goes through
traits.enabled = false;
handlers.pointerdown(ev(30, 30));
const disabledSent = sent.length;

// keys while the ink canvas has focus: undo/redo go to Python, Tab is left to the browser
traits.enabled = true;
traits.tool = "brush";
const keys = [];
for (const k of [{ key: "z", ctrlKey: true }, { key: "Z", ctrlKey: true, shiftKey: true },
                 { key: "z", metaKey: true }, { key: "y", ctrlKey: true }, { key: "Tab" },
                 { key: "Tab", shiftKey: true }, { key: "z" }, { key: "[" }, { key: "]" },
                 { key: "b" }, { key: "E", shiftKey: true }, { key: "r" },
                 { key: "[", ctrlKey: true }]) {
  let prevented = false;
  const n = sent.length;
  handlers.keydown({ ...k, preventDefault() { prevented = true; }, stopPropagation() {} });
  keys.push({ shortcut: shortcut(k), prevented, sent: sent.slice(n).map((m) => m.content) });
}

// the brush circle: true size (6 canvas px = 3 CSS px here), centred on the pointer
const brush = { style: {} };
const handlers2 = {};
const canvas2 = { ...canvas, dataset: {}, addEventListener: (n, f) => { handlers2[n] = f; } };
createInk({ model, canvas: canvas2, brush, now: () => clock });
handlers2.pointermove(ev(74, 68));
const brushShown = { ...brush.style };
handlers2.pointerleave(ev(0, 0));
const brushLeft = brush.style.display;

// pen pressure: the pad's pen takes its width from it; a mouse, the brush, no pressure do not
const widths = [
  strokeWidth(8, "pen", { pointerType: "pen", pressure: 1 }),
  strokeWidth(8, "pen", { pointerType: "pen", pressure: 0.25 }),
  strokeWidth(8, "pen", { pointerType: "pen", pressure: 0 }),
  strokeWidth(8, "pen", { pointerType: "mouse", pressure: 0.5 }),
  strokeWidth(8, "brush", { pointerType: "pen", pressure: 1 }),
];

console.log(JSON.stringify({ BATCH_MS, sent, keys, brushShown, brushLeft, lineTos, widths,
                             pendingAfterUp, pendingAfterOneFrame, awaitingWhileDrawing,
                             awaitingAfterUp, awaitingAfterOtherRelease, awaitingAfterRelease,
                             pendingAfterTwoFrames, rect, disabledSent,
                             size: [canvas.width, canvas.height] }));
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return _run_harness()


def _run_harness() -> dict[str, Any]:
    batch_ms = ink_module.InkLayer().batch_ms  # what the browser is told
    return run_module("ink", HARNESS, str(batch_ms))


def test_the_browser_batches_by_the_synced_trait(run: dict[str, Any]) -> None:
    layer = ink_module.InkLayer()
    assert run["BATCH_MS"] == layer.batch_ms == ink_module.BATCH_MS == 100
    assert layer.trait_metadata("batch_ms", "sync")
    assert run["size"] == [512, 384]


def test_every_message_is_the_shape_its_typed_dict_says(run: dict[str, Any]) -> None:
    shapes = {"points": ink_module.InkPointsMessage, "key": ink_module.InkKeyMessage}
    messages = [m["content"] for m in run["sent"]]
    assert {m["type"] for m in messages} == set(shapes)
    for message in messages:
        assert set(message) == set(shapes[message["type"]].__annotations__), message


def test_a_fast_drag_sends_every_point_in_few_batches(run: dict[str, Any]) -> None:
    drag = [m for m in run["sent"] if m["content"].get("tool") == "pen"]
    times = [m["at"] for m in drag]
    assert len(drag) <= 803 // 100 + 2  # 803 ms of drawing
    assert all(b - a >= 100 for a, b in itertools.pairwise(times[:-1]))  # the final is free
    assert [m["content"]["final"] for m in drag] == [False] * (len(drag) - 1) + [True]
    assert all(m["content"]["n"] * 2 == len(m["pts"]) for m in drag)
    points = np.concatenate([np.reshape(m["pts"], (-1, 2)) for m in drag])
    assert len(points) == 1 + 200 + 1  # the press, every coalesced point, the release
    # CSS pixels (256 x 192 on screen) mapped to canvas pixels (512 x 384)
    np.testing.assert_allclose(points[0], [0, 0])
    np.testing.assert_allclose(points[1], [2, 1])
    np.testing.assert_allclose(points[-1], [220, 110])
    assert run["lineTos"] == [2] * 100  # each move draws only its new segments


def test_live_ink_stays_until_python_releases_it(run: dict[str, Any]) -> None:
    assert run["pendingAfterUp"] == 1
    assert run["pendingAfterOneFrame"] == 1  # waits a frame for ipycanvas to paint its copy
    assert run["pendingAfterTwoFrames"] == 0


def test_the_canvas_counts_finished_strokes_python_has_not_committed(run: dict[str, Any]) -> None:
    """What the app's Run waits for (keyboard.js): 0 while drawing (a stroke in progress is
    not awaited), 1 once the stroke is finished and sent, 0 at Python's release."""
    assert run["awaitingWhileDrawing"] == "0"
    assert run["awaitingAfterUp"] == "1"
    assert run["awaitingAfterOtherRelease"] == "1"
    assert run["awaitingAfterRelease"] == "0"  # at once: Python has committed it


def test_rectangle_sends_its_corners_once(run: dict[str, Any]) -> None:
    assert len(run["rect"]) == 1
    content = run["rect"][0]["content"]
    assert content["tool"] == "rect" and content["final"] and content["n"] == 2
    np.testing.assert_allclose(run["rect"][0]["pts"], [20, 20, 160, 160])


def test_disabled_ink_sends_nothing(run: dict[str, Any]) -> None:
    assert run["disabledSent"] == len([m for m in run["sent"]
                                       if m["content"]["type"] == "points"])


def test_python_reassembles_the_batches_node_produced(run: dict[str, Any]) -> None:
    partial = PartialStrokes()
    whole = None
    for message in (m for m in run["sent"] if m["content"].get("tool") == "pen"):
        buffer = memoryview(np.asarray(message["pts"], np.float32).tobytes())
        whole = partial.add(decode_ink_message(message["content"], [buffer]))
    assert whole is not None and whole.shape == (202, 2) and len(partial) == 0


def test_shortcuts_on_the_ink_canvas_and_tab_left_alone(run: dict[str, Any]) -> None:
    keys = run["keys"]
    assert [k["shortcut"] for k in keys] == ["undo", "redo", "undo", "redo", None, None, None,
                                             "smaller", "bigger", "brush", "eraser", "rect",
                                             None]
    # Tab moves focus on; a plain letter that is no shortcut, or Ctrl+[, is left alone
    assert [k["prevented"] for k in keys] == [True] * 4 + [False] * 3 + [True] * 5 + [False]
    assert [k["sent"] for k in keys[7:12]] == [[{"type": "key", "action": a}] for a in
                                              ("smaller", "bigger", "brush", "eraser", "rect")]
    assert keys[0]["sent"] == [{"type": "key", "action": "undo"}]
    assert keys[1]["sent"] == [{"type": "key", "action": "redo"}]
    assert all(k["sent"] == [] for k in keys[4:7] + keys[12:])


def test_brush_circle_is_the_true_size_under_the_pointer(run: dict[str, Any]) -> None:
    shown = run["brushShown"]
    # 6 canvas pixels shown at half size (256 CSS px for 512 canvas px): 3 CSS px, centred
    assert shown["display"] == "block" and shown["width"] == "3px" and shown["height"] == "3px"
    assert shown["transform"] == "translate(62.5px, 46.5px)"
    assert run["brushLeft"] == "none"


def test_pen_pressure_sets_the_sketch_pens_width(run: dict[str, Any]) -> None:
    # full pressure 1.5x, light 0.75x; no pressure reported, a mouse, or the mask brush: as is
    assert run["widths"] == [12, 6, 8, 8, 8]
