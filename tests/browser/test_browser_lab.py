"""The apps in JupyterLab, in a real Chromium: draw, paint, Run, compare, fail, restart, reload.

Each test opens its own notebook (its own kernel) in the module's JupyterLab, acts with the
mouse, and checks pixels read from the page (``getImageData`` on the canvases, and screenshots
for what the user sees) against what the kernel holds (read through ``window.jupyterapp``).
"""

from __future__ import annotations

import numpy as np
import pytest

from labpage import (
    canvas_rgba,
    drag,
    kernel_run,
    kernel_value,
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

    # Draw: the stroke shows at once (ink), Python commits it, the committed layer keeps it.
    drag(page, ink_layer(stack), SKETCH_PATH, steps=12)
    probe = along(SKETCH_PATH, 3.0)
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
    empty = canvas_rgba(frame)
    assert np.ptp(empty[..., :3]) < 8, "the compare view shows something before Run"
    page.locator(".cdw-test-app textarea").first.fill("an owl on a branch, watercolor")
    page.locator(".cdw-test-app button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in status_text(page), timeout=WAIT, what="the run to finish")
    fw, fh = kernel_value(page, nb.path, "_say(frame=list(app.compare.frame_size))")["frame"]

    def frame_matches_model():
        shown = canvas_rgba(frame)[..., :3].astype(int)
        model = kernel_png(page, nb.path, "app.compare._snapshot()").astype(int)
        return shown if np.abs(shown - model).mean() < 6 else None

    shown = wait_until(frame_matches_model, timeout=WAIT, what="the compare view to match")
    left, right = shown[:, : fw // 2 - 4], shown[:, fw // 2 + 4:]
    assert (left.max(axis=2) < 40).mean() > 0.7, "left of the divider is not the sketch"
    assert right.std() > 20, "right of the divider shows no picture"
    shot("after-run", page.locator(".cdw-test-app"), docs_name="sketch_to_image_app.png")

    # Drag the divider from the middle to a fifth: the kernel's position follows, the split
    # moves (the band between showed the sketch, now the result), and the frame still matches
    # the model.
    drag(page, frame, [(fw * 0.5, fh * 0.5), (fw * 0.2, fh * 0.5)], steps=10)
    def position():
        return kernel_value(page, nb.path, "_say(p=app.compare.position)")["p"]

    wait_until(lambda: abs(position() - 0.2) < 0.01 or None, timeout=WAIT,
               what="the divider position to reach Python")
    moved = wait_until(frame_matches_model, timeout=WAIT, what="the compare view to follow")
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
