"""Stroke latency in a real browser: SketchPad and MaskPainter beside two references.

    .venv/bin/python benchmarks/bench_latency.py [--rounds 8] [--json benchmarks/out/latency.json]

Starts a JupyterLab on loopback (``tests/browser/servers.py``), opens one notebook showing four
drawing surfaces of the same size, one above the other, in one page:

* ``plain canvas``: a ``<canvas>`` drawn by its own JavaScript in ``pointermove`` (with
  ``getCoalescedEvents()``), no kernel involved: the physical limit of the page;
* ``SketchPad`` and ``MaskPainter``: ours (live ink drawn by ``ink.js``, points batched to
  Python);
* ``naive ipycanvas``: an ipycanvas ``Canvas`` drawing each segment from a Python
  ``on_mouse_move`` handler (what ipycanvas alone gives);
* ``MaskPainter 4x, 12.8 MP``: a MaskPainter on a 6400x2000 photo, zoomed 4x (Ctrl+wheel, as
  a user zooms) before the drags; its probe reads the canvas pixel under each move through the
  zoom.

Each drag is a press, 100 moves 6 px apart along a horizontal line dispatched every 8 ms
through the DevTools protocol (``Input.dispatchMouseEvent``, not awaited one by one: Playwright's
``page.mouse.move`` waits for each acknowledgement and cannot go that fast), and a release.
Latency of a move = the page's ``performance.now()`` when the pixel under it first reads as
painted (``getImageData``, checked right after every draw call on the subject's canvases, with
a 4 ms poll as backup) minus the moment Python sent the move, on one clock (the page's and
Python's clocks are matched over 30 round trips, keeping the fastest). The drags are
interleaved between subjects, round by round, so all see the same machine state.

Also counted, per stroke: the points that reached Python's stroke model (SketchPad,
MaskPainter: ``len(strokes[-1].points)``; naive: mouse events its handler got), and the
kernel messages the stroke cost (ink layer custom messages; one comm message per event for the
naive pad). Reported, not asserted. Results: ``benchmarks/results/latency.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "browser"))

from labpage import (  # noqa: E402 - the browser suite's helpers
    JS_ALL_EXECUTED,
    JS_CELL_ERRORS,
    JS_COLLAPSE,
    JS_INSTALL,
    JS_KERNEL_IDLE,
    JS_KERNEL_RUN,
    JS_RUN_ALL,
)
from servers import CHROMIUM, CHROMIUM_ARGS, start_lab, write_notebook  # noqa: E402

W, H = 640, 200  # every surface, CSS pixels = canvas pixels
BRUSH = 3  # px: a move's pixel is painted only by its own segment (moves are 6 px apart)
MOVES, STEP_PX, SPACING_S = 100, 6, 0.008
X0 = 14  # first point; the last move lands at X0 + 600
ROW0, ROW_STEP = 10, 12  # one row per round: no clearing needed for up to 16 rounds
ZOOMED = "MaskPainter 4x, 12.8 MP"
SUBJECTS = ["plain canvas", "SketchPad", "MaskPainter", "naive ipycanvas", ZOOMED]
#: The zoomed subject: a 6400x2000 photo (12.8 megapixels) shown in the same 640x200 box,
#: zoomed 4x at its top-left corner (zoom.js, Ctrl+wheel), brush 2 canvas pixels (8 on screen):
#: the 6-pixel moves are 1.5 canvas pixels apart, and each move's pixel is still painted by
#: its own segment only.
ZOOM, ZOOM_PHOTO, ZOOM_BRUSH = 4.0, (6400, 2000), 2
ZOOM_WHEEL = -693.147  # exp(693.147 * 0.002) = 4 (zoom.js WHEEL_SCALE)

SETUP = f'''
import json, time
import anywidget, traitlets, ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas
from PIL import Image
from clipdrop_widgets import SketchPad, MaskPainter

W, H, BRUSH = {W}, {H}, {BRUSH}

class PlainCanvas(anywidget.AnyWidget):
    """The reference: a canvas drawn by its own pointer handler; Python is never involved."""
    _esm = """
    export default {{ render({{ model, el }}) {{
      const W = {W}, H = {H}, c = document.createElement('canvas');
      c.width = W; c.height = H; c.className = 'cdw-bench-plain';
      c.style.cssText = 'display:block;width:' + W + 'px;height:' + H + 'px;touch-action:none';
      const ctx = c.getContext('2d');
      ctx.fillStyle = 'black'; ctx.fillRect(0, 0, W, H);
      let last = null, n = 0;
      const pos = (e) => {{ const r = c.getBoundingClientRect();
                           return [e.clientX - r.left, e.clientY - r.top]; }};
      const seg = (a, b) => {{ ctx.strokeStyle = 'white'; ctx.lineWidth = {BRUSH};
        ctx.lineCap = 'round'; ctx.beginPath(); ctx.moveTo(a[0], a[1]);
        ctx.lineTo(b[0], b[1]); ctx.stroke(); }};
      c.addEventListener('pointerdown', (e) => {{ c.setPointerCapture(e.pointerId);
        last = pos(e); n = 1; seg(last, [last[0] + 0.01, last[1]]); }});
      c.addEventListener('pointermove', (e) => {{
        if (last === null) return;
        const co = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
        for (const ev of (co.length ? co : [e])) {{
          const p = pos(ev); seg(last, p); last = p; n++;
        }}
      }});
      c.addEventListener('pointerup', () => {{ last = null; model.set('points', n);
        model.set('strokes', model.get('strokes') + 1); model.save_changes(); }});
      el.appendChild(c);
    }} }};
    """
    points = traitlets.Int(0).tag(sync=True)    # points drawn in the last stroke
    strokes = traitlets.Int(0).tag(sync=True)   # strokes finished

plain = PlainCanvas()
pad = SketchPad(width=W, height=H, brush_size=BRUSH)
painter = MaskPainter(Image.new("RGB", (W, H), (40, 40, 40)), max_width=W, max_height=H,
                      brush_size=BRUSH)
zoomed = MaskPainter(Image.new("RGB", {ZOOM_PHOTO}, (40, 40, 40)), max_width=W, max_height=H,
                     brush_size={ZOOM_BRUSH})

# The naive pad: each segment drawn by a Python handler, one draw message per event.
naive = Canvas(width=W, height=H, layout=widgets.Layout(width=f"{{W}}px", height=f"{{H}}px"))
naive.fill_style = "black"; naive.fill_rect(0, 0, W, H)
naive_state = {{"last": None, "events": [], "strokes": 0}}
def _down(x, y):
    naive_state["last"] = (x, y); naive_state["events"] = [("down", x, y)]
def _move(x, y):
    if naive_state["last"] is None:
        return
    naive.stroke_style = "white"; naive.line_width = BRUSH; naive.line_cap = "round"
    naive.stroke_line(*naive_state["last"], x, y)
    naive_state["last"] = (x, y); naive_state["events"].append(("move", x, y))
def _up(x, y):
    naive_state["last"] = None; naive_state["events"].append(("up", x, y))
    naive_state["strokes"] += 1
naive.on_mouse_down(_down); naive.on_mouse_move(_move); naive.on_mouse_up(_up)

# Kernel messages per stroke from each ink layer (the widgets' own handler is left as is).
ink_msgs = {{"SketchPad": {{}}, "MaskPainter": {{}}, "zoomed": {{}}}}
def _counter(name):
    def count(_w, content, _buffers):
        if content.get("type") == "points":
            ink_msgs[name][content["id"]] = ink_msgs[name].get(content["id"], 0) + 1
    return count
pad._ink.on_msg(_counter("SketchPad"))
painter._ink.on_msg(_counter("MaskPainter"))
zoomed._ink.on_msg(_counter("zoomed"))

def _row(label, widget, cls):
    widget.add_class(cls)
    return widgets.VBox([widgets.HTML(f"<b>{{label}}</b>"), widget])

view = widgets.VBox([_row("plain canvas", plain, "cdw-bench-s0"),
                     _row("SketchPad", pad, "cdw-bench-s1"),
                     _row("MaskPainter", painter, "cdw-bench-s2"),
                     _row("naive ipycanvas", naive, "cdw-bench-s3"),
                     _row("MaskPainter, 12.8 MP photo, zoomed 4x", zoomed, "cdw-bench-s4")])
'''

# The probe: which canvases belong to each subject, and when each target pixel turns painted.
PROBE_JS = """() => {
  const subjects = [
    () => [document.querySelector('.cdw-bench-s0 canvas')],
    () => [...document.querySelectorAll('.cdw-bench-s1 .widget-gridbox canvas')],
    () => [...document.querySelectorAll('.cdw-bench-s2 .widget-gridbox canvas')],
    () => [document.querySelector('canvas.cdw-bench-s3') ||
           document.querySelector('.cdw-bench-s3 canvas')],
    () => [...document.querySelectorAll('.cdw-bench-s4 .widget-gridbox canvas')],
  ];
  // the box each subject is shown in (the zoomed one's canvases are transformed: its stack)
  const frames = subjects.map((f, i) => i === 4
    ? () => document.querySelector('.cdw-bench-s4 .widget-gridbox') : () => f()[0]);
  const st = { armed: null, maxX: -1e9, checks: 0, longtasks: [] };
  // main-thread tasks over 50 ms (the page's own stalls, whoever caused them)
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) st.longtasks.push([e.startTime, e.duration]);
  }).observe({ entryTypes: ['longtask'] });
  // painted: opaque and red-channel bright (white ink, or the mask colour #ff2d55)
  const painted = (d) => d[0] > 200 && d[3] > 200;
  function check() {
    const a = st.armed;
    if (!a) return;
    st.checks++;
    for (let i = a.first; i < a.targets.length; i++) {
      const [x, y, px] = a.targets[i];
      if (px > st.maxX + 0.5) break;          // the pointer has not got there yet
      if (a.hits[i] >= 0) continue;
      for (const ctx of a.ctxs) {
        if (painted(ctx.getImageData(x, y, 1, 1).data)) { a.hits[i] = performance.now(); break; }
      }
    }
    while (a.first < a.targets.length && a.hits[a.first] >= 0) a.first++;
    if (a.first >= a.targets.length) a.done = performance.now();
  }
  for (const name of ['stroke', 'fill', 'fillRect', 'strokeRect', 'drawImage', 'putImageData']) {
    const orig = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      const r = orig.apply(this, args);
      const a = st.armed;
      if (a && a.canvases.has(this.canvas)) check();
      return r;
    };
  }
  const seen = (e) => {
    const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of (evs.length ? evs : [e])) st.maxX = Math.max(st.maxX, ev.clientX);
  };
  window.addEventListener('pointermove', seen, true);
  window.addEventListener('pointerdown', seen, true);
  function poll() { if (st.armed) { check(); setTimeout(poll, 4); } }
  window.__lat = {
    boxes() {
      return frames.map((f) => { const r = f().getBoundingClientRect();
                                 return [r.left, r.top, r.width, r.height]; });
    },
    // targets: [canvasX, canvasY, pageX] per move, in order along the line
    arm(subject, targets) {
      // the live-ink canvas first: it is the one that turns first, so one read usually does
      const canvases = subjects[subject]().filter(Boolean)
        .sort((x, y) => y.classList.contains('cdw-ink') - x.classList.contains('cdw-ink'));
      st.maxX = -1e9;
      st.armed = { canvases: new Set(canvases), since: performance.now(),
                   ctxs: canvases.map((c) => c.getContext('2d')),
                   targets, hits: new Array(targets.length).fill(-1), first: 0, done: null };
      poll();
    },
    state() { const a = st.armed; return a ? { first: a.first, n: a.targets.length } : null; },
    disarm() {
      const a = st.armed;
      st.armed = null;
      if (!a) return null;
      return { hits: a.hits, longtasks: st.longtasks.filter(([t]) => t >= a.since) };
    },
  };
}"""


async def kernel_run(page, path: str, code: str, timeout: float = 60) -> str:
    result = await page.evaluate(JS_KERNEL_RUN, [path, code, timeout * 1000])
    if result["err"]:
        raise RuntimeError(f"kernel code failed: {result['err']}\n{code}")
    return str(result["out"])


async def kernel_json(page, path: str, code: str) -> object:
    out = (await kernel_run(page, path, code)).strip().splitlines()
    return json.loads(out[-1])


async def clock_offset(page, samples: int = 30) -> float:
    """Milliseconds to add to ``time.perf_counter() * 1000`` to get the page's
    ``performance.now()``, from the fastest of ``samples`` round trips."""
    best = None
    for _ in range(samples):
        t0 = time.perf_counter()
        now = await page.evaluate("() => performance.now()")
        t1 = time.perf_counter()
        rtt = t1 - t0
        if best is None or rtt < best[0]:
            best = (rtt, now - (t0 + t1) / 2 * 1000)
    assert best is not None
    return best[1]


async def drag(cdp, points: list[tuple[float, float]]) -> list[float]:
    """Press at points[0], then one move per later point every SPACING_S without awaiting the
    acknowledgements, then release; returns the perf_counter time each move was sent."""
    await cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": points[0][0],
                                                "y": points[0][1]})
    await cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": points[0][0],
                                                "y": points[0][1], "button": "left",
                                                "buttons": 1, "clickCount": 1})
    sent: list[float] = []
    tasks = []
    start = time.perf_counter() + 0.02
    for i, (x, y) in enumerate(points[1:]):
        target = start + i * SPACING_S
        while (left := target - time.perf_counter()) > 0.002:
            await asyncio.sleep(left - 0.0015)
        while time.perf_counter() < target:
            pass
        sent.append(time.perf_counter())
        tasks.append(asyncio.ensure_future(cdp.send(
            "Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y,
                                         "button": "left", "buttons": 1})))
        await asyncio.sleep(0)  # let the send go out now
    await asyncio.gather(*tasks)
    x, y = points[-1]
    await cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x, "y": y,
                                                "button": "left", "buttons": 0,
                                                "clickCount": 1})
    return sent


STATS_CODE = {
    "SketchPad": 'print(json.dumps({"points": len(pad.strokes[-1].points), '
                 '"msgs": list(ink_msgs["SketchPad"].values())[-1]}))',
    "MaskPainter": 'print(json.dumps({"points": len(painter.strokes[-1].points), '
                   '"msgs": list(ink_msgs["MaskPainter"].values())[-1]}))',
    "naive ipycanvas": 'print(json.dumps({"points": sum(e[0] != "up" for e in '
                       'naive_state["events"]), "msgs": len(naive_state["events"])}))',
    "plain canvas": 'print(json.dumps({"points": plain.points, "msgs": 0}))',
    ZOOMED: 'print(json.dumps({"points": len(zoomed.strokes[-1].points), '
            '"msgs": list(ink_msgs["zoomed"].values())[-1]}))',
}
COUNT_CODE = {
    "SketchPad": "print(len(pad.strokes))",
    "MaskPainter": "print(len(painter.strokes))",
    "naive ipycanvas": "print(naive_state['strokes'])",
    "plain canvas": "print(plain.strokes)",
    ZOOMED: "print(len(zoomed.strokes))",
}


async def settle(page, path: str, name: str, before: str, timeout: float = 15) -> None:
    """Wait until the kernel has the finished stroke and the probe is done (or gave up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = (await kernel_run(page, path, COUNT_CODE[name])).strip()
        probe = await page.evaluate("() => window.__lat.state()")
        if count != before and probe and probe["first"] >= probe["n"]:
            return
        await asyncio.sleep(0.05)


async def zoom_in(page, cdp, box: list[float]) -> tuple[float, float, float]:
    """Ctrl+wheel at the zoomed subject's top-left corner, as a user zooms; returns the
    ``(zoom, x, y)`` its layers then share (read from the ink canvas's transform)."""
    left, top = box[0], box[1]
    await cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": left, "y": top})
    await cdp.send("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": left, "y": top,
                                                "deltaX": 0, "deltaY": ZOOM_WHEEL,
                                                "modifiers": 2})  # Ctrl
    await asyncio.sleep(0.3)
    css = await page.evaluate(
        "() => document.querySelector('.cdw-bench-s4 canvas.cdw-ink').style.transform")
    import re

    m = re.fullmatch(r"translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)",
                     css or "")
    if m is None:
        raise RuntimeError(f"the zoomed painter did not zoom: transform {css!r}")
    x, y, zoom = map(float, m.groups())
    if abs(zoom - ZOOM) > 1e-3:
        raise RuntimeError(f"zoomed {zoom}x, not {ZOOM}x")
    return zoom, x, y


def summarise(latencies: list[float]) -> dict[str, float]:
    a = np.asarray(latencies)
    return {"min": float(a.min()), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)),
            "mean": float(a.mean()), "max": float(a.max()), "n": len(a)}


async def run(rounds: int, json_path: Path | None) -> dict[str, object]:
    from playwright.async_api import async_playwright

    tmp = Path(tempfile.mkdtemp(prefix="cdw-latency-"))
    nb_path = "latency.ipynb"
    # the setup lives in a module beside the notebook: a one-line cell keeps the four surfaces
    # at the top of the page, inside the viewport the drags are dispatched to
    (tmp / "notebooks").mkdir(parents=True)
    (tmp / "notebooks" / "latency_setup.py").write_text(SETUP)
    write_notebook(tmp / "notebooks" / nb_path, ["from latency_setup import *\nview"])
    lab = start_lab(tmp / "notebooks", tmp / "home")
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1300, "height": 1900},
                                          device_scale_factor=1)
            await page.goto(lab.url(f"lab/tree/{nb_path}"), timeout=120_000)
            await page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell",
                                         timeout=120_000)
            await page.evaluate(JS_INSTALL)
            await page.wait_for_function(JS_KERNEL_IDLE, arg=nb_path, timeout=120_000)
            await page.evaluate(JS_COLLAPSE)
            await page.evaluate(JS_RUN_ALL, nb_path)
            await page.wait_for_function(JS_ALL_EXECUTED, arg=nb_path, timeout=120_000)
            errors = await page.evaluate(JS_CELL_ERRORS, nb_path)
            if errors:
                raise RuntimeError(f"benchmark notebook failed: {errors}")
            await page.wait_for_function(
                "() => document.querySelectorAll('.cdw-bench-s1 .widget-gridbox canvas').length"
                " >= 2 && document.querySelector('.cdw-bench-s0 canvas') &&"
                " document.querySelectorAll('.cdw-bench-s3').length", timeout=60_000)
            await asyncio.sleep(1.0)
            await page.evaluate(PROBE_JS)
            boxes = await page.evaluate("() => window.__lat.boxes()")
            cdp = await page.context.new_cdp_session(page)
            zoom = await zoom_in(page, cdp, boxes[SUBJECTS.index(ZOOMED)])
            offset = await clock_offset(page)

            lat: dict[str, list[float]] = {s: [] for s in SUBJECTS}
            by_index: dict[str, list[list[float]]] = {s: [] for s in SUBJECTS}
            missed: dict[str, int] = dict.fromkeys(SUBJECTS, 0)
            longtasks: dict[str, list[list[int]]] = {s: [] for s in SUBJECTS}
            strokes: dict[str, list[dict[str, int]]] = {s: [] for s in SUBJECTS}
            load = [os.getloadavg()[0]]
            for r in range(rounds):
                k = r % len(SUBJECTS)
                order = SUBJECTS[k:] + SUBJECTS[:k]  # rotate who goes first
                y = ROW0 + (r % 16) * ROW_STEP
                for name in order:
                    s = SUBJECTS.index(name)
                    left, top = boxes[s][0], boxes[s][1]
                    canvas_pts = [(X0 + i * STEP_PX, y) for i in range(MOVES + 1)]
                    page_pts = [(left + x + 0.5, top + y + 0.5) for x, y in canvas_pts]
                    # the canvas pixel under each move (through the zoom for the zoomed one)
                    to_canvas = ((lambda x, y: ((x - zoom[1]) / zoom[0], (y - zoom[2]) / zoom[0]))
                                 if name == ZOOMED else (lambda x, y: (x, y)))
                    targets = [[*to_canvas(x + 0.5, y + 0.5), px] for (x, y), (px, _) in
                               zip(canvas_pts[1:], page_pts[1:], strict=True)]
                    before = (await kernel_run(page, nb_path, COUNT_CODE[name])).strip()
                    await page.evaluate("([s, t]) => window.__lat.arm(s, t)", [s, targets])
                    sent = await drag(cdp, page_pts)
                    await settle(page, nb_path, name, before)
                    probe = await page.evaluate("() => window.__lat.disarm()")
                    hits = probe["hits"]
                    longtasks[name].append([round(d) for _, d in probe["longtasks"]])
                    row = []
                    for t_sent, hit in zip(sent, hits, strict=True):
                        if hit is None or hit < 0:
                            missed[name] += 1
                            row.append(float("nan"))
                            continue
                        row.append(hit - (t_sent * 1000 + offset))
                    lat[name].extend(v for v in row if v == v)
                    by_index[name].append(row)
                    strokes[name].append(await kernel_json(page, nb_path, STATS_CODE[name]))
                load.append(os.getloadavg()[0])
                print(f"round {r + 1}/{rounds}: " + ", ".join(
                    f"{n} p95 {np.nanpercentile(by_index[n][-1], 95):.0f} ms"
                    for n in SUBJECTS), flush=True)
            await page.screenshot(path=str(tmp / "latency-page.png"), full_page=True)
            await browser.close()
    finally:
        lab.stop()

    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1min": [round(v, 2) for v in load]},
        "method": {"moves": MOVES, "spacing_ms": SPACING_S * 1000, "step_px": STEP_PX,
                   "brush_px": BRUSH, "rounds": rounds, "zoomed": {"zoom": ZOOM,
                   "photo": list(ZOOM_PHOTO), "brush_px": ZOOM_BRUSH}},
        "screenshot": str(tmp / "latency-page.png"),
        "subjects": {},
    }
    for name in SUBJECTS:
        rows = np.asarray(by_index[name], float)
        st = strokes[name]
        summary = summarise(lat[name]) if lat[name] else {}
        per_drag_p95 = [float(np.nanpercentile(r, 95)) for r in rows]
        plain_p95 = [float(np.nanpercentile(r, 95)) for r in
                     np.asarray(by_index["plain canvas"], float)]
        summary.update({
            "per_drag_p95": [round(v, 1) for v in per_drag_p95],
            "p95_minus_plain_median": float(np.median(np.subtract(per_drag_p95, plain_p95))),
            "missed": missed[name],
            "longtasks_ms_per_drag": longtasks[name],
            "first20_p50": float(np.nanmedian(rows[:, :20])),
            "last20_p50": float(np.nanmedian(rows[:, -20:])),
            "points_per_stroke": statistics.mean(x["points"] for x in st),
            "kept_share": statistics.mean(min(1.0, (x["points"] - 1) / MOVES) for x in st),
            "msgs_per_stroke": statistics.mean(x["msgs"] for x in st),
        })
        results["subjects"][name] = summary  # type: ignore[index]
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1))
    return results


def table(results: dict[str, object]) -> str:
    drag_s = MOVES * SPACING_S
    lines = ["| subject | p50 ms | p95 ms | max ms | p95 per drag, min-max | p95 - plain, "
             "median of rounds | first 20 moves p50 | last 20 moves p50 | points kept "
             "| kernel msgs / stroke | msgs per 100 ms drawn |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in results["subjects"].items():  # type: ignore[union-attr]
        plain = name == "plain canvas"
        kept = f"{100 * s['kept_share']:.0f} % ({s['points_per_stroke']:.0f} pts)"
        kept += " in the page" if plain else ""
        msgs = "none (JS only)" if plain else f"{s['msgs_per_stroke']:.1f}"
        rate = "-" if plain else f"{s['msgs_per_stroke'] / drag_s / 10:.2f}"
        diff = "-" if plain else f"{s['p95_minus_plain_median']:+.1f}"
        spread = f"{min(s['per_drag_p95']):.0f}-{max(s['per_drag_p95']):.0f}"
        lines.append(f"| {name} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.0f} | {spread} "
                     f"| {diff} | {s['first20_p50']:.1f} | {s['last20_p50']:.1f} | {kept} "
                     f"| {msgs} | {rate} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="drags per subject (max 16)")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "latency.json")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 16:
        parser.error("--rounds must be 1 to 16 (one row of the canvases per round)")
    results = asyncio.run(run(args.rounds, args.json))
    print()
    print(table(results))
    print()
    print(json.dumps(results["machine"]), "missed:",
          {n: s["missed"] for n, s in results["subjects"].items()})  # type: ignore[union-attr]
    print("page screenshot:", results["screenshot"])


if __name__ == "__main__":
    main()
