"""Photos dropped on a painter or pasted, and the canvas's shortcuts, in JupyterLab, in Chromium.

* A PNG file dropped on the Cleanup painter (a real ``DataTransfer`` carrying a ``File``, as a
  drag from the desktop delivers) becomes the photo, bytes as they were; a GIF (neither sent
  nor converted) is refused in the page, in the upload's plain words, and the photo stays; a
  PNG pasted (a ``paste`` event carrying the file) becomes the photo.
* With the drawing canvas focused: ``]`` and ``[`` change the brush size, R, E and B choose the
  rectangle, the eraser and the brush, ``+`` zooms in and ``0`` fits; the notebook's own
  command-mode keys do not fire (no cell is added by B).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from labpage import kernel_value, run_all, wait_until
from PIL import Image
from test_browser_zoom import transform_of

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
CELL = """\
from clipdrop_widgets import CleanupApp
app = CleanupApp()
app.add_class("cdw-test-app")
app
"""

JS_SEND_FILE = """([selector, kind, b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  if (kind === 'drop') {
    for (const t of ['dragenter', 'dragover', 'drop'])
      target.dispatchEvent(new DragEvent(t, { dataTransfer: dt, bubbles: true, cancelable: true }));
  } else {
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true,
                                                       cancelable: true }));
  }
  return true;
}"""


def encoded(size: tuple[int, int], fmt: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), np.uint8)
    image = Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def photo_state(page, nb) -> dict:
    return kernel_value(page, nb.path, """\
import hashlib
_d = app.chooser.data
_say(name=app.chooser.name, size=list(app.painter.image.size),
     sha=hashlib.sha256(_d).hexdigest() if isinstance(_d, bytes) else None)
""")


def test_drop_and_paste_a_photo(notebook, shot):
    nb = notebook("inputs", [CELL])
    page = nb.page
    run_all(page, nb.path)
    stack = ".cdw-test-app .widget-gridbox:has(canvas.cdw-ink)"
    page.locator(stack).first.wait_for(timeout=WAIT * 1000)
    import hashlib

    dropped = encoded((800, 600), "PNG", 1)
    page.wait_for_timeout(500)  # the drop zone is set up once the view is in the page
    page.evaluate(JS_SEND_FILE, [stack, "drop", base64.b64encode(dropped).decode(),
                                 "dropped.png", "image/png"])
    state = wait_until(lambda: (s := photo_state(page, nb))["name"] == "dropped.png" and s,
                       timeout=WAIT, what="the dropped photo to reach the kernel")
    assert state["size"] == [800, 600]
    assert state["sha"] == hashlib.sha256(dropped).hexdigest(), "not the dropped bytes"
    wait_until(lambda: "Loaded \"dropped.png\"" in page.locator(".cdw-test-app").inner_text()
               or None, timeout=WAIT, what="the upload line to say it was loaded")

    # A GIF dropped (no format the service takes or the client converts): refused in the
    # page, in the upload's words; the photo stays.
    gif = encoded((640, 480), "GIF", 2)
    page.evaluate(JS_SEND_FILE, [stack, "drop", base64.b64encode(gif).decode(),
                                 "holiday.gif", "image/gif"])
    line = page.locator(".cdw-test-app .cdw-upload-line")
    wait_until(lambda: "Not loaded" in line.inner_text() or None, timeout=WAIT,
               what="the GIF to be refused")
    assert '"holiday.gif" is not a' in line.inner_text(), line.inner_text()
    assert photo_state(page, nb)["name"] == "dropped.png"
    shot("refused", page.locator(".cdw-test-app"))

    # A PNG pasted while the drawing canvas has focus.
    pasted = encoded((512, 512), "PNG", 3)
    page.locator(f"{stack} canvas.cdw-ink").first.focus()
    page.evaluate(JS_SEND_FILE, [f"{stack} canvas.cdw-ink", "paste",
                                 base64.b64encode(pasted).decode(), "pasted.png", "image/png"])
    state = wait_until(lambda: (s := photo_state(page, nb))["name"] == "pasted.png" and s,
                       timeout=WAIT, what="the pasted photo to reach the kernel")
    assert state["size"] == [512, 512]
    assert state["sha"] == hashlib.sha256(pasted).hexdigest()
    assert not page.console_errors, page.console_errors


def test_shortcuts_on_the_focused_canvas(notebook, shot):
    nb = notebook("shortcuts", [CELL])
    page = nb.page
    run_all(page, nb.path)
    ink = page.locator(".cdw-test-app canvas.cdw-ink").first
    ink.wait_for(timeout=WAIT * 1000)
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    ink.focus()

    def painter() -> dict:
        return kernel_value(page, nb.path, "_say(size=app.painter.brush_size, "
                                           "tool=app.painter.tool)")

    start = painter()["size"]
    page.keyboard.press("]")
    wait_until(lambda: painter()["size"] > start or None, timeout=WAIT, what="] to grow")
    bigger = painter()["size"]
    page.keyboard.press("[")
    page.keyboard.press("[")
    wait_until(lambda: painter()["size"] < bigger - 1 or None, timeout=WAIT,
               what="[ to shrink")
    for key, tool in (("r", "rect"), ("e", "eraser"), ("b", "brush")):
        page.keyboard.press(key)
        wait_until(lambda tool=tool: painter()["tool"] == tool or None, timeout=WAIT,
                   what=f"{key} to choose {tool}")
    # the page's slider and tool buttons follow
    assert page.locator(".cdw-test-app .widget-toggle-buttons button.mod-active").first \
        .inner_text().strip() == "Brush"
    page.keyboard.press("+")
    wait_until(lambda: abs(transform_of(ink)[0] - 1.25) < 1e-6 or None, timeout=WAIT,
               what="+ to zoom in")
    page.keyboard.press("0")
    wait_until(lambda: transform_of(ink) == (1.0, 0.0, 0.0) or None, timeout=WAIT,
               what="0 to fit")
    # none of these reached the notebook (B would add a cell, 0 0 restart the kernel)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert not page.console_errors, page.console_errors


SKETCH_CELL = """\
from clipdrop_widgets import SketchToImageApp
app = SketchToImageApp()
app.add_class("cdw-test-app")
app
"""


def test_pen_pressure_sets_the_stroke_width(notebook):
    """A pen pressing hard (CDP ``pointerType: "pen"``, ``force``) draws a wider sketch line
    than a light one; the mouse draws at the brush size."""
    nb = notebook("pressure", [SKETCH_CELL])
    page = nb.page
    run_all(page, nb.path)
    ink = page.locator(".cdw-test-app canvas.cdw-ink").first
    ink.wait_for(timeout=WAIT * 1000)
    box = ink.bounding_box()
    cdp = page.context.new_cdp_session(page)

    def stroke(y: float, force: float, kind: str) -> None:
        base = {"pointerType": kind, "force": force, "button": "left"}
        x0, y0 = box["x"] + 60, box["y"] + y
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x0, "y": y0, **base})
        cdp.send("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x0, "y": y0,
                                              "buttons": 1, "clickCount": 1, **base})
        for i in range(1, 20):
            cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x0 + 15 * i,
                                                  "y": y0, "buttons": 1, **base})
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x0 + 285, "y": y0,
                                              "buttons": 0, "clickCount": 1, **base})

    for n, (y, force, kind) in enumerate([(100, 1.0, "pen"), (200, 0.25, "pen"),
                                          (300, 0.5, "mouse")], 1):
        stroke(y, force, kind)
        wait_until(lambda n=n: kernel_value(page, nb.path, "_say(n=len(app.pad.strokes))")["n"]
                   == n or None, timeout=WAIT, what=f"stroke {n}")
    state = kernel_value(page, nb.path, "_say(w=[float(s.width) for s in app.pad.strokes], "
                                        "size=app.pad.brush_size)")
    hard, light, mouse = state["w"]
    size = state["size"]
    assert hard == pytest.approx(size * 1.5, rel=0.02), state
    assert light == pytest.approx(size * 0.75, rel=0.02), state
    assert mouse == pytest.approx(size, rel=0.02), state
