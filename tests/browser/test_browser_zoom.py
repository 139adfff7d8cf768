"""Zoom and pan on a 12-megapixel photo, in JupyterLab, in a real Chromium.

Ctrl+wheel zooms 4x around the pointer; every layer (photo, mask, live ink) gets the same
transform; a small mask painted while zoomed reaches the kernel exactly where it was drawn, at
the photo's native resolution (the kernel's mask is compared with the path mapped through the
page's own transform); the zoom buttons step in and out; the hand pans; Fit goes back; Run
cleans with that mask.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from labpage import canvas_rgba, drag, kernel_value, run_all, wait_until
from pixels import along, far_from, iou, path_mask
from test_browser_lab import is_mask_ink, kernel_png, status_text

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
NATIVE = (4000, 3000)  # 12 megapixels
APP_CELL = f"""\
import numpy as np
from PIL import Image
from clipdrop_widgets import CleanupApp
_y, _x = np.mgrid[0:{NATIVE[1]}, 0:{NATIVE[0]}]
_photo = np.dstack([(_x * 255 // {NATIVE[0]}), (_y * 255 // {NATIVE[1]}),
                    ((_x // 50 + _y // 50) % 2) * 200]).astype(np.uint8)
app = CleanupApp()
app.chooser.load(Image.fromarray(_photo), name="12 MP")
app.painter.brush_size = 4
app.add_class("cdw-test-app")
app.compare.add_class("cdw-test-compare")
app
"""
#: A small zigzag, in CSS pixels of the zoomed box (what the user sees).
PATH = [(120.0, 100.0), (220.0, 110.0), (140.0, 150.0), (240.0, 170.0)]
WHEEL_4X = -693.147  # exp(693.147 * 0.002) = 4 (zoom.js WHEEL_SCALE)


def transform_of(locator) -> tuple[float, float, float]:
    """``(zoom, x, y)`` from an element's ``translate(x, y) scale(zoom)`` (identity if none)."""
    css = locator.evaluate("e => e.style.transform") or ""
    if not css:
        return 1.0, 0.0, 0.0
    m = re.fullmatch(r"translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)", css)
    assert m, css
    x, y, zoom = map(float, m.groups())
    return zoom, x, y


def test_zoomed_mask_is_exact_at_native_resolution(notebook, shot):
    nb = notebook("zoom", [APP_CELL])
    page = nb.page
    run_all(page, nb.path, timeout=180)
    app = page.locator(".cdw-test-app")
    stack = app.locator(".widget-gridbox:has(canvas.cdw-ink)").first
    stack.wait_for(timeout=WAIT * 1000)
    host = stack.locator(".cdw-ink-host")
    ink, mask_layer = stack.locator("canvas.cdw-ink"), stack.locator("canvas.cdw-mask-layer")
    photo = stack.locator("img")
    wait_until(lambda: photo.evaluate("i => i.complete && i.naturalWidth > 0"), timeout=WAIT,
               what="the photo to load")
    geo = kernel_value(page, nb.path, "_say(display=list(app.painter.display_size), "
                                      "native=list(app.painter.image.size))")
    (dw, dh), (nw, nh) = geo["display"], geo["native"]
    assert (nw, nh) == NATIVE

    # Ctrl+wheel over (200, 150): 4x, that point kept under the pointer; all layers alike.
    box = host.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 150)
    page.keyboard.down("Control")
    page.mouse.wheel(0, WHEEL_4X)
    page.keyboard.up("Control")
    wait_until(lambda: transform_of(ink)[0] > 3.99 or None, timeout=WAIT, what="4x zoom")
    zoom, x, y = transform_of(ink)
    assert zoom == pytest.approx(4.0, abs=1e-3)
    # (the wheel event's position is in whole CSS pixels: within one pixel)
    assert ((200 - x) / zoom, (150 - y) / zoom) == (pytest.approx(200, abs=1),
                                                    pytest.approx(150, abs=1))
    assert transform_of(mask_layer) == transform_of(ink) == transform_of(photo)
    assert "400 %" in app.inner_text()  # the zoom bar under the picture
    # the buttons step in and back out
    app.get_by_role("button", name="Zoom in").click()
    wait_until(lambda: transform_of(ink)[0] > 4.9 or None, timeout=WAIT, what="zoom in")
    app.get_by_role("button", name="Zoom out").click()
    wait_until(lambda: abs(transform_of(ink)[0] - 4) < 1e-6 or None, timeout=WAIT,
               what="zoom out")
    zoom, x, y = transform_of(ink)

    # Paint a small zigzag while zoomed (drawn in the box's coordinates).
    drag(page, host, PATH, steps=10)
    content = [((px - x) / zoom, (py - y) / zoom) for px, py in PATH]  # display CSS pixels
    probe = along(content, 1.0)

    def committed():
        if canvas_rgba(ink)[..., 3].any():
            return None
        layer = canvas_rgba(mask_layer)
        return layer if is_mask_ink(layer, probe).all() else None

    layer = wait_until(committed, timeout=WAIT, what="the zoomed stroke to be committed")
    assert not (layer[..., 3] > 127)[far_from(path_mask(content, 4, (dw, dh)), 3)].any(), \
        "the mask layer has paint away from where it was drawn"
    # The kernel's mask, at 4000x3000: the path mapped through the page's transform.
    sx, sy = nw / dw, nh / dh
    native_path = [(cx * sx, cy * sy) for cx, cy in content]
    expected = path_mask(native_path, 4 * (sx + sy) / 2, (nw, nh))
    mask = kernel_png(page, nb.path, "app.painter.mask") > 0
    assert mask.shape == (nh, nw)
    assert iou(mask, expected) > 0.9, f"IoU {iou(mask, expected):.3f}"
    ys, xs = np.nonzero(mask)
    ex_ys, ex_xs = np.nonzero(expected)
    for got, want in ((xs.min(), ex_xs.min()), (xs.max(), ex_xs.max()),
                      (ys.min(), ex_ys.min()), (ys.max(), ex_ys.max())):
        assert abs(int(got) - int(want)) <= 3, "the mask's extent is off by more than 3 px"
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
    page.wait_for_timeout(300)
    shot("zoomed-mask", app, docs_name="zoomed_mask.png")

    # The hand pans by the drag; Fit goes back to the whole photo.
    app.get_by_role("button", name=re.compile("^Pan")).click()
    drag(page, host, [(300.0, 200.0), (200.0, 150.0)], steps=5)
    wait_until(lambda: transform_of(ink)[1] < x - 99 or None, timeout=WAIT, what="the pan")
    _z, x2, y2 = transform_of(ink)
    assert (x2 - x, y2 - y) == (pytest.approx(-100, abs=0.5), pytest.approx(-50, abs=0.5))
    assert kernel_value(page, nb.path, "_say(n=len(app.painter.operations))")["n"] == 1, \
        "the pan drew a stroke"
    app.get_by_role("button", name="Fit the picture in the box").click()
    wait_until(lambda: transform_of(ink) == (1.0, 0.0, 0.0) or None, timeout=WAIT,
               what="Fit")

    app.get_by_role("button", name=re.compile(r"^\W*Run$")).click()
    wait_until(lambda: "Done in" in status_text(page) or None, timeout=120, what="the run")
    assert not page.console_errors, page.console_errors
