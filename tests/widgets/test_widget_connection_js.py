"""keyboard.js's connection watch under Node, with a fake clock (issue 21).

After the server restarted under an open page, typing and Run did nothing and the status
still said "Ready". The outermost app pings Python every second; with no answer for 3 s, or a
message that cannot be sent, a banner says the connection is lost and what to do; an answer
removes it. An app inside a Studio does not ping (the Studio does). Python answers each ping.
The browser suite restarts a real server under an open page
(tests/browser/test_browser_lost_kernel.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from node_harness import NODE, run_module

from clipdrop_widgets.widgets.keyboard import KeyboardShortcuts

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

HARNESS = r"""
import { createWatch, LOST_CLASS, LOST_WORDS, PING_MS } from "./keyboard.mjs";

function el(classes, parent = null) {
  const n = { className: classes.join(" "), parentElement: parent, children: [], attrs: {} };
  n.classes = () => n.className.split(" ");
  const has = (x, sel) => x.classes().includes(sel.slice(1));
  n.closest = (sel) => {
    for (let x = n; x; x = x.parentElement) if (has(x, sel)) return x;
    return null;
  };
  n.querySelector = (sel) => {
    const walk = (x) => {
      for (const c of x.children) {
        if (has(c, sel)) return c;
        const f = walk(c);
        if (f) return f;
      }
      return null;
    };
    return walk(n);
  };
  n.insertBefore = (c, _ref) => { c.parentElement = n; n.children.unshift(c); };
  n.remove = () => { const p = n.parentElement; p.children.splice(p.children.indexOf(n), 1); };
  n.setAttribute = (k, v) => { n.attrs[k] = v; };
  if (parent) parent.children.push(n);
  return n;
}
const body = el(["body"]);
body.appendChild = (c) => { c.parentElement = body; body.children.push(c); };
const doc = { createElement: () => el([]), body };
const studio = el(["cdw-app"], body);
const app = el(["cdw-app"], studio);

let clock = 0, tick = null;
const sent = { studio: 0, app: 0 };
let failing = false;
const model = (name) => ({
  send() { if (failing) throw new Error("Kernel is dead"); sent[name] += 1; },
});
const every = (fn) => { tick = fn; return 1; };
const banner = () => body.querySelector(`.${LOST_CLASS}`);
const out = {};

const now = () => clock;
createWatch({ model: model("app"), root: () => app, doc, now, every, cancel() {} });
const appTick = tick;
const watch = createWatch({ model: model("studio"), root: () => studio, doc, now, every,
                            cancel() {} });
const studioTick = tick;
function advance(ms, answer) {
  for (let t = 0; t < ms; t += PING_MS) {
    clock += PING_MS; appTick(); studioTick();
    if (answer) watch.answered();
  }
}
advance(10000, true);
out.answered = { banner: banner() !== null, sent: { ...sent } };
advance(3000, false);
out.at3s = banner() !== null;
advance(1000, false);
const b = banner();
out.at4s = b ? { text: b.textContent, role: b.attrs.role, style: b.attrs.style } : null;
advance(1000, false);
out.once = body.children.filter((c) => c.classes().includes(LOST_CLASS)).length;
watch.answered();
out.afterAnswer = banner() !== null;
failing = true;
clock += PING_MS; studioTick();
out.sendFails = banner() !== null;
watch.stop();
out.afterStop = banner() !== null;
// a background tab asks nothing and shows nothing
failing = false;
const quiet = createWatch({ model: model("studio"), root: () => studio, doc, now, every,
                            cancel() {} });
const before = sent.studio;
doc.hidden = true;
for (let i = 0; i < 10; i++) { clock += PING_MS; tick(); }
out.hidden = { sent: sent.studio - before, banner: banner() !== null };
doc.hidden = false;
quiet.stop();
out.words = LOST_WORDS;
console.log(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_module("keyboard", HARNESS)


def test_answers_keep_the_page_quiet_and_only_the_outermost_app_asks(run: dict[str, Any]
                                                                     ) -> None:
    assert run["answered"] == {"banner": False, "sent": {"studio": 10, "app": 0}}


def test_no_answer_for_more_than_3_s_shows_what_to_do(run: dict[str, Any]) -> None:
    assert run["at3s"] is False  # 3 s exactly: not yet
    banner = run["at4s"]
    assert banner is not None and banner["role"] == "alert"
    # fixed, and clicks go through: it never moves the page nor covers a control
    assert "position:fixed" in banner["style"] and "pointer-events:none" in banner["style"]
    assert banner["text"].startswith("Lost the connection to the kernel")
    assert "Reload the page" in banner["text"] and "session folder" in banner["text"]
    assert run["once"] == 1


def test_an_answer_removes_it_and_a_failed_send_shows_it_at_once(run: dict[str, Any]) -> None:
    assert run["afterAnswer"] is False
    assert run["sendFails"] is True
    assert run["afterStop"] is False  # a closed view leaves no banner behind
    assert run["hidden"] == {"sent": 0, "banner": False}  # a background tab: no pings


def test_python_answers_each_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    keyboard = KeyboardShortcuts()
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(keyboard, "send", lambda content, buffers=None: sent.append(content))
    keyboard._handle(keyboard, {"type": "ping"}, [])
    keyboard._handle(keyboard, {"type": "other"}, [])
    assert sent == [{"type": "pong"}]
