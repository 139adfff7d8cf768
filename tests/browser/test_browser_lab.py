"""The apps in JupyterLab, in a real Chromium: draw, paint, Run, compare, fail, restart, reload.

Each test opens its own notebook (its own kernel) in the module's JupyterLab, acts with the
mouse, and checks pixels read from the page (``getImageData`` on the canvases, and screenshots
for what the user sees) against what the kernel holds (read through ``window.jupyterapp``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from labpage import (
    canvas_rgba,
    drag,
    kernel_run,
    kernel_value,
    open_notebook,
    png_from_b64,
    restart_kernel,
    run_all,
    wait_until,
)
from pixels import along, far_from, iou, is_white, path_mask

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

#: A stroke across the sketch pad, in pad pixels (the pad is shown 1:1).
SKETCH_PATH = [(90.0, 110.0), (400.0, 140.0), (380.0, 400.0), (140.0, 360.0), (250.0, 250.0)]
#: Seconds any single wait may take (the machine is shared: generous, never asserted on).
WAIT = 30.0

SKETCH_CELL = """\
from clipdrop_widgets import SketchToImageApp
app = SketchToImageApp()
app.add_class("cdw-test-app")
app.compare.add_class("cdw-test-compare")
app
"""


# -- locators and reads -----------------------------------------------------------------------
def stack_of(page, scope: str = ".cdw-test-app"):
    """The painter's layer stack (the grid box holding an ink canvas) inside ``scope``."""
    return page.locator(f"{scope} .widget-gridbox:has(canvas.cdw-ink)").first


def committed_layer(stack):
    return stack.locator(":scope > canvas").last


def ink_layer(stack):
    return stack.locator("canvas.cdw-ink")


def compare_canvas(page, scope: str = ".cdw-test-app"):
    return page.locator(f"{scope} .cdw-test-compare canvas").first


def wait_committed(stack, probe: np.ndarray, *, predicate=is_white) -> np.ndarray:
    """Wait until the ink layer is empty again (Python committed the stroke and released the
    live copy) and the committed layer shows ``probe``; returns the committed pixels."""

    def done():
        ink = canvas_rgba(ink_layer(stack))
        if ink[..., 3].any():
            return None
        layer = canvas_rgba(committed_layer(stack))
        return layer if predicate(layer, probe).all() else None

    return wait_until(done, timeout=WAIT, what="the stroke to be committed by Python")


def frame_matches_model(page, nb, frame) -> np.ndarray | None:
    """The compare view's pixels if they show what Python composed (``snapshot()``: the
    images fitted, split at ``position``), else ``None``.

    Compared column by column, so a divider drawn at another position fails even though it
    changes few pixels; the columns next to the model's divider are skipped (the page draws a
    handle there, and antialiases the line differently).
    """
    shown = canvas_rgba(frame)[..., :3].astype(int)
    model = kernel_value(page, nb.path, """\
_c = app.compare
_say(x=_c.position * _c.frame_size[0] if _c.before and _c.after else None,
     png=_png64(_c.snapshot()))
""")
    expected = np.asarray(png_from_b64(model["png"]).convert("RGB")).astype(int)
    if expected.shape != shown.shape:
        return None
    columns = np.abs(shown - expected).mean(axis=(0, 2))
    if model["x"] is not None:
        x = int(model["x"])
        columns[max(0, x - 8): x + 9] = 0
    return shown if columns.max() < 15 and columns.mean() < 6 else None


def hold_kernel(page, path: str, gate: str) -> None:
    """Keep the kernel busy (its main thread waits, up to 60 s, for the file ``gate`` in the
    notebook's folder to exist); returns once the kernel reports busy."""
    code = ("import os as _os, time as _time\n_t0 = _time.time()\n"
            f"while not _os.path.exists({gate!r}) and _time.time() - _t0 < 60:\n"
            "    _time.sleep(0.02)\n")
    page.evaluate("([path, code]) => { window.__cdwPanel(path).sessionContext.session.kernel"
                  ".requestExecute({code, store_history: false}); }", [path, code])
    wait_until(lambda: kernel_status(page, path) == "busy" or None, timeout=WAIT,
               what="the kernel to be busy")


def kernel_status(page, path: str) -> str:
    return page.evaluate("(path) => window.__cdwPanel(path).sessionContext.session.kernel"
                         ".status", path)


def status_text(page, scope: str = ".cdw-test-app") -> str:
    return page.locator(scope).inner_text()


def kernel_png(page, path: str, expression: str) -> np.ndarray:
    text = kernel_run(page, path, f"print(_png64({expression}))")
    return np.asarray(png_from_b64(text))


# -- 1. sketch to image ---------------------------------------------------------------------
def test_sketch_draw_run_compare(notebook, shot):
    nb = notebook("sketch", [SKETCH_CELL])
    page = nb.page
    run_all(page, nb.path)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)

    # Draw while the kernel is busy: the whole stroke shows at once (live ink, no round trip)
    # and nothing is committed; once the kernel is free, Python commits it, the committed
    # layer keeps it and the live ink goes.
    gate = Path(nb.lab.extra["root"]) / f"release-{nb.path}"
    hold_kernel(page, nb.path, gate.name)
    drag(page, ink_layer(stack), SKETCH_PATH, steps=12)
    probe = along(SKETCH_PATH, 3.0)
    ink, layer = canvas_rgba(ink_layer(stack)), canvas_rgba(committed_layer(stack))
    assert kernel_status(page, nb.path) == "busy", "the kernel was released too early"
    assert is_white(ink, probe).all(), "the live ink does not show the stroke"
    assert not is_white(layer, probe).any(), "committed while the kernel was busy?"
    shot("live-ink", stack)
    gate.touch()
    layer = wait_committed(stack, probe)
    shot("drawn", stack)
    state = kernel_value(page, nb.path, """\
s = app.pad.strokes
_say(n=len(s), points=[len(x.points) for x in s], width=[float(x.width) for x in s],
     tool=[x.tool for x in s], size=list(app.pad.size))
""")
    assert state["n"] == 1 and state["tool"] == ["pen"], state
    # every pointer event of the drag reached the stroke model (1 press, 12 moves a segment)
    assert state["points"][0] >= 1 + 12 * (len(SKETCH_PATH) - 1), state
    width = state["width"][0]
    expected = path_mask(SKETCH_PATH, width, tuple(state["size"]))
    browser_white = layer[..., :3].min(axis=2) > 127
    assert not browser_white[far_from(expected, 6)].any(), "white pixels away from the stroke"
    python_white = kernel_png(page, nb.path, "app.pad.to_image(512)") > 127
    assert iou(browser_white, python_white) > 0.85, "to_image() disagrees with the page"
    # a 6-pixel line: IoU with Pillow's own line is noisy; check coverage and spill instead
    assert python_white[probe[:, 1].astype(int), probe[:, 0].astype(int)].all(), \
        "to_image() misses part of the path drawn"
    assert not python_white[far_from(expected, 3)].any(), "to_image() spills off the path"
    seen = shot("pad", stack)
    assert is_white(seen, probe).mean() > 0.98, "the screenshot does not show the stroke"

    # Run: the sketch and the result appear in the compare view, as Python composed them.
    frame = compare_canvas(page)
    # Before Run the frame holds only its hint (what will appear there), as Python drew it.
    empty = wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
                       what="the empty compare view to show its hint")
    quarter = empty.shape[0] // 4
    assert np.ptp(empty[:quarter]) < 8 and np.ptp(empty[-quarter:]) < 8, \
        "the compare view shows something besides its hint before Run"
    page.locator(".cdw-test-app textarea").first.fill("an owl on a branch, watercolor")
    page.locator(".cdw-test-app button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in status_text(page), timeout=WAIT, what="the run to finish")
    fw, fh = kernel_value(page, nb.path, "_say(frame=list(app.compare.frame_size))")["frame"]

    shown = wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
                       what="the compare view to match")
    left, right = shown[:, : fw // 2 - 4], shown[:, fw // 2 + 4:]
    assert (left.max(axis=2) < 40).mean() > 0.7, "left of the divider is not the sketch"
    assert right.std() > 20, "right of the divider shows no picture"
    shot("after-run", page.locator(".cdw-test-app"), docs_name="sketch_to_image_app.png")

    # Drag the divider from the middle to a fifth: the kernel's position follows, the split
    # moves (the band between showed the sketch, now the result), and the frame still matches
    # the model.
    css = frame.bounding_box()["width"] / fw  # the frame may be shown smaller than its pixels
    drag(page, frame, [(fw * 0.5 * css, fh * 0.5 * css), (fw * 0.2 * css, fh * 0.5 * css)],
         steps=10)
    def position():
        return kernel_value(page, nb.path, "_say(p=app.compare.position)")["p"]

    wait_until(lambda: abs(position() - 0.2) < 0.01 or None, timeout=WAIT,
               what="the divider position to reach Python")
    moved = wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
                       what="the compare view to follow")
    pos = position()
    band = slice(int(fw * 0.25), int(fw * 0.45))
    assert np.abs(moved[:, band] - shown[:, band]).mean() > 20, "the split did not move"
    assert (shown[:, band].max(axis=2) < 40).mean() > 0.7, "the band was not the sketch"
    assert (moved[:, band].max(axis=2) < 40).mean() < 0.2, "the band still shows the sketch"
    x = round(pos * fw)
    assert (moved[:, x - 1: x + 2].min(axis=2) > 200).any(axis=1).mean() > 0.9, \
        "no divider line at the new position"
    shot("divider", page.locator(".cdw-test-app .cdw-test-compare"))
    assert not page.console_errors, page.console_errors


# -- 2. cleanup: paint a mask ---------------------------------------------------------------
#: A zigzag over the middle of the photo (the coffee cup), in fractions of the display size.
MASK_PATH = [(0.30, 0.30), (0.70, 0.30), (0.70, 0.48), (0.30, 0.48), (0.30, 0.66), (0.70, 0.66)]

CLEANUP_CELL = """\
from email.parser import BytesParser
from email.policy import default as _policy
from clipdrop_widgets import CleanupApp
app = CleanupApp()
app.add_class("cdw-test-app")
app.compare.add_class("cdw-test-compare")

# What goes over the wire: every multipart part the client posts, by field name.
sent = []
_post = app.client._session.post
def _spy(url, data=None, headers=None, **kw):
    msg = BytesParser(policy=_policy).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\\r\\n\\r\\n" + data)
    sent.append({p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                 for p in msg.iter_parts()})
    return _post(url, data=data, headers=headers, **kw)
app.client._session.post = _spy
app
"""


def is_mask_ink(rgba: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The mask colour (#ff2d55) painted opaque on the mask layer under ``xy``."""
    ix, iy = xy[:, 0].astype(int), xy[:, 1].astype(int)
    px = rgba[iy, ix].astype(int)
    return (px[:, 3] > 200) & (px[:, 0] > 200) & (px[:, 1] < 120)


def test_cleanup_paint_mask_run(notebook, shot):
    nb = notebook("cleanup", [CLEANUP_CELL])
    page = nb.page
    run_all(page, nb.path)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    geo = kernel_value(page, nb.path, """\
p = app.painter
_say(display=list(p.display_size), native=list(p.image.size), brush=p.brush_size)
""")
    (dw, dh), (nw, nh) = geo["display"], geo["native"]
    page.locator(".cdw-test-app img.widget-image").first.wait_for(timeout=WAIT * 1000)
    wait_until(lambda: stack.locator("img").evaluate("i => i.complete && i.naturalWidth > 0"),
               timeout=WAIT, what="the photo to load")
    before = shot("photo", stack).astype(int)[:dh, :dw]

    path = [(fx * dw, fy * dh) for fx, fy in MASK_PATH]
    drag(page, ink_layer(stack), path, steps=10)
    probe = along(path, 3.0)
    layer = wait_committed(stack, probe, predicate=is_mask_ink)
    after = shot("painted", stack).astype(int)[:dh, :dw]

    # The overlay shows: along the path the photo is blended half and half with the mask
    # colour (#ff2d55 at the layer's 50 % opacity); far from it the photo is unchanged.
    expected_display = path_mask(path, geo["brush"], (dw, dh))
    on = along(path, 6.0).astype(int)
    blend = 0.5 * before[on[:, 1], on[:, 0]] + 0.5 * np.array([255, 45, 85])
    error = np.abs(after[on[:, 1], on[:, 0]] - blend).max(axis=1)
    assert (error < 20).mean() > 0.95, "the mask overlay does not show along the path"
    far = far_from(expected_display, 8)
    assert np.abs(after[far] - before[far]).max() < 12, "the overlay spills off the path"
    shown_mask = layer[..., 3] > 127
    assert iou(shown_mask, expected_display) > 0.9, "the mask layer is not the painted path"

    # Python's mask (native pixels) is the painted path scaled to the photo.
    scale = (nw / dw + nh / dh) / 2
    native_path = [(x * nw / dw, y * nh / dh) for x, y in path]
    expected_native = path_mask(native_path, geo["brush"] * scale, (nw, nh))
    mask = kernel_png(page, nb.path, "app.painter.mask")
    assert mask.shape == (nh, nw) and set(np.unique(mask)) <= {0, 255}
    assert iou(mask > 0, expected_native) > 0.93, "the kernel's mask is not the painted path"

    # Run: the mask that goes over the wire is exactly app.painter.mask.
    page.locator(".cdw-test-app button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in status_text(page), timeout=WAIT, what="the run to finish")
    wire = kernel_value(page, nb.path, """\
import numpy as _np
from PIL import Image as _Image
_m = _np.asarray(_Image.open(_io.BytesIO(sent[-1]["mask_file"])))
_say(posts=len(sent), fields=sorted(sent[-1]), same=bool(_np.array_equal(_m,
     _np.asarray(app.painter.mask))), shape=list(_m.shape), values=sorted(map(int, _np.unique(_m))))
""")
    assert wire["posts"] == 1 and "mask_file" in wire["fields"], wire
    assert wire["same"] and wire["shape"] == [nh, nw] and wire["values"] == [0, 255], wire
    frame = compare_canvas(page)

    wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
               what="the compare view to show the result")
    shot("after-run", page.locator(".cdw-test-app"))
    assert not page.console_errors, page.console_errors


# -- 4. failure: the engine answers 402 -------------------------------------------------------
BROKE_CELL = """\
from clipdrop_widgets import Client, SketchToImageApp
from clipdrop_widgets.engine import serve
engine = serve(port=0, background=True, credits=0)   # a loopback engine with no credits
app = SketchToImageApp(Client(base_url=engine.url, api_key="browser-test-key"))
app.add_class("cdw-test-app")
app.compare.add_class("cdw-test-compare")
app
"""


def test_out_of_credits_shows_plain_message(notebook, shot):
    nb = notebook("broke", [BROKE_CELL])
    page = nb.page
    run_all(page, nb.path)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    drag(page, ink_layer(stack), SKETCH_PATH[:3], steps=8)
    probe = along(SKETCH_PATH[:3], 3.0)
    wait_committed(stack, probe)
    prompt = page.locator(".cdw-test-app textarea").first
    prompt.fill("a castle on a hill")
    page.locator(".cdw-test-app button:has-text('Run')").first.click()
    wait_until(lambda: "Failed (402)" in status_text(page), timeout=WAIT,
               what="the 402 to be shown")
    shot("402", page.locator(".cdw-test-app"))
    text = status_text(page)
    line = next(s for s in text.splitlines() if "Failed (402)" in s)
    assert len(line) < 300, line
    body = page.locator("body").inner_text()
    for word in ("Traceback", "APIStatusError", "OutOfCreditsError", 'File "'):
        assert word not in body, f"{word!r} shown in the page"
    # Nothing went to the cell's output either (no traceback, no stderr).
    outputs = page.evaluate("""(path) => {
      const cells = window.__cdwPanel(path).content.model.cells, out = [];
      for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        for (let j = 0; c.outputs && j < c.outputs.length; j++) out.push(c.outputs.get(j).toJSON());
      }
      return out.map(o => o.output_type + ':' + (o.name || ''));
    }""", nb.path)
    assert all(o.startswith(("display_data", "execute_result")) for o in outputs), outputs
    # The user's sketch and prompt are kept; the kernel knows why.
    assert prompt.input_value() == "a castle on a hill"
    assert is_white(canvas_rgba(committed_layer(stack)), probe).all(), "the sketch was lost"
    state = kernel_value(page, nb.path, """\
_say(error=type(app.error).__name__, status=getattr(app.error, "status_code", None),
     strokes=len(app.pad.strokes), running=app.running, log=[list(x) for x in engine.engine.log])
""")
    assert state["status"] == 402 and state["strokes"] == 1 and not state["running"], state
    assert [s for _, s in state["log"]] == [402], state  # asked once, not retried
    assert page.locator(".cdw-test-app button:has-text('Run')").first.is_enabled()
    kernel_run(page, nb.path, "engine.close()")


# -- 5. a kernel restart, a page reload ---------------------------------------------------------
def draw_run_and_check(page, nb, path, *, strokes: int) -> None:
    """Draw ``path`` on the app's pad, check Python has ``strokes`` strokes, Run, and check the
    compare view shows the model's frame: the app is usable."""
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    drag(page, ink_layer(stack), path, steps=8)
    wait_committed(stack, along(path, 3.0))
    n = kernel_value(page, nb.path, "_say(n=len(app.pad.strokes))")["n"]
    assert n == strokes, f"the kernel has {n} strokes, expected {strokes}"
    page.locator(".cdw-test-app textarea").first.fill("a lighthouse at dusk")
    page.locator(".cdw-test-app button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in status_text(page), timeout=WAIT, what="the run to finish")
    frame = compare_canvas(page)

    wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
               what="the compare view to show the result")


def test_kernel_restart_then_usable(notebook, shot):
    nb = notebook("restart", [SKETCH_CELL])
    page = nb.page
    run_all(page, nb.path)
    draw_run_and_check(page, nb, SKETCH_PATH[:2], strokes=1)
    restart_kernel(page, nb.path)
    # a new kernel (the prelude's helpers are gone too, until run_all runs it again)
    assert kernel_run(page, nb.path, "print('app' in globals())").strip() == "False"
    run_all(page, nb.path)
    page.wait_for_function("() => document.querySelectorAll('.cdw-test-app').length === 1",
                           timeout=WAIT * 1000)
    draw_run_and_check(page, nb, SKETCH_PATH[2:], strokes=1)
    shot("after-restart", page.locator(".cdw-test-app"))


def test_page_reload_then_usable(notebook, shot):
    nb = notebook("reload", [SKETCH_CELL])
    page = nb.page
    run_all(page, nb.path)
    draw_run_and_check(page, nb, SKETCH_PATH[:2], strokes=1)
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
    page.reload()
    open_notebook(page, nb.url(), nb.path)
    # The same kernel: the views come back from its widget models (the result on the stage),
    # and after Discard the pad repaints its stroke for the new page (on_client_ready),
    # without running anything.
    page.locator(".cdw-test-app button:has-text('Discard')").first.click(timeout=WAIT * 1000)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    wait_committed(stack, along(SKETCH_PATH[:2], 3.0))
    shot("reloaded", page.locator(".cdw-test-app"))
    draw_run_and_check(page, nb, SKETCH_PATH[2:], strokes=2)
