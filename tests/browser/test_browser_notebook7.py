"""The five apps in Notebook 7, in a real Chromium; and a stroke drawn with touch events.

Each scenario opens its own notebook (its own kernel) in the module's Notebook 7 server, acts
as a user does (draws, paints, types, chooses a sample, presses Run), and checks the pixels the
page shows against what the kernel holds: the strokes or the mask at the photo's native size,
and the compare view against the frame Python composed. Notebook 7 is driven through the same
``window.jupyterapp`` as JupyterLab (``labpage.py``); only the server and the address differ.

The touch test runs in a touch-device page (``has_touch=True``) and draws with CDP
``Input.dispatchTouchEvent``: the browser turns the touches into pointer events of type
"touch", and every point must reach the kernel's stroke.
"""

from __future__ import annotations

import numpy as np
import pytest
from labpage import canvas_rgba, drag, kernel_value, run_all, wait_until
from pixels import along, far_from, iou, is_white, path_mask
from test_browser_lab import (
    committed_layer,
    compare_canvas,
    frame_matches_model,
    ink_layer,
    is_mask_ink,
    kernel_png,
    stack_of,
    status_text,
    wait_committed,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

WAIT = 30.0
SKETCH_PATH = [(90.0, 110.0), (400.0, 140.0), (380.0, 400.0), (140.0, 360.0), (250.0, 250.0)]
#: Over the middle of the photo, in fractions of the painter's display size.
MASK_PATH = [(0.30, 0.30), (0.70, 0.30), (0.70, 0.48), (0.30, 0.48), (0.30, 0.66), (0.70, 0.66)]


def app_cell(cls: str) -> str:
    return (f"from clipdrop_widgets import {cls}\napp = {cls}()\n"
            'app.add_class("cdw-test-app")\napp.compare.add_class("cdw-test-compare")\napp\n')


def run_and_compare(page, nb, prompt: str | None) -> np.ndarray:
    """Type ``prompt`` (if any), press Run, wait for "Done in", and for the compare view to
    show what Python composed; returns the frame's pixels."""
    if prompt is not None:
        page.locator(".cdw-test-app textarea").first.fill(prompt)
    page.get_by_role("button", name="Run").first.click()
    wait_until(lambda: "Done in" in status_text(page) or None, timeout=WAIT,
               what="the run to finish")
    frame = compare_canvas(page)
    return wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
                      what="the compare view to show the model's frame")


def paint_mask(page, nb) -> tuple[np.ndarray, dict]:
    """Paint ``MASK_PATH`` on the app's photo; check the page's mask layer and the kernel's
    native-size mask are that path; returns the kernel's mask and the geometry."""
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    wait_until(lambda: stack.locator("img").evaluate("i => i.complete && i.naturalWidth > 0"),
               timeout=WAIT, what="the photo to load")
    geo = kernel_value(page, nb.path, """\
p = app.painter
_say(display=list(p.display_size), native=list(p.image.size), brush=p.brush_size)
""")
    (dw, dh), (nw, nh) = geo["display"], geo["native"]
    path = [(fx * dw, fy * dh) for fx, fy in MASK_PATH]
    drag(page, ink_layer(stack), path, steps=10)
    layer = wait_committed(stack, along(path, 3.0), predicate=is_mask_ink)
    assert iou(layer[..., 3] > 127, path_mask(path, geo["brush"], (dw, dh))) > 0.9, \
        "the page's mask layer is not the painted path"
    scale = (nw / dw + nh / dh) / 2
    expected = path_mask([(x * nw / dw, y * nh / dh) for x, y in path], geo["brush"] * scale,
                         (nw, nh))
    mask = kernel_png(page, nb.path, "app.painter.mask")
    assert mask.shape == (nh, nw) and set(np.unique(mask)) <= {0, 255}
    assert iou(mask > 0, expected) > 0.93, "the kernel's mask is not the painted path"
    return mask, geo


def test_text_to_image_in_notebook7(nb7, shot):
    nb = nb7("t2i", [app_cell("TextToImageApp")])
    page = nb.page
    run_all(page, nb.path)
    shown = run_and_compare(page, nb, "a red fox in a snowy forest at sunset")
    assert shown.std() > 20, "the compare view shows no picture"
    state = kernel_value(page, nb.path, "_say(prompt=app.result.inputs.get('prompt'), "
                                        "size=list(app.result.size))")
    assert state["prompt"] == "a red fox in a snowy forest at sunset", state
    shot("t2i", page.locator(".cdw-test-app"))
    assert not page.console_errors, page.console_errors


def test_sketch_in_notebook7(nb7, shot):
    nb = nb7("sketch", [app_cell("SketchToImageApp")])
    page = nb.page
    run_all(page, nb.path)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    drag(page, ink_layer(stack), SKETCH_PATH, steps=12)
    probe = along(SKETCH_PATH, 3.0)
    layer = wait_committed(stack, probe)
    state = kernel_value(page, nb.path, """\
s = app.pad.strokes
_say(n=len(s), points=[len(x.points) for x in s], width=[float(x.width) for x in s],
     size=list(app.pad.size))
""")
    assert state["n"] == 1 and state["points"][0] >= 1 + 12 * (len(SKETCH_PATH) - 1), state
    expected = path_mask(SKETCH_PATH, state["width"][0], tuple(state["size"]))
    assert not (layer[..., :3].min(axis=2) > 127)[far_from(expected, 6)].any(), \
        "white pixels away from the stroke"
    python_white = kernel_png(page, nb.path, "app.pad.to_image(512)") > 127
    assert python_white[probe[:, 1].astype(int), probe[:, 0].astype(int)].all(), \
        "the kernel's sketch misses part of the path drawn"
    shown = run_and_compare(page, nb, "an owl on a branch, watercolor")
    fw = shown.shape[1]
    assert (shown[:, : fw // 2 - 4].max(axis=2) < 40).mean() > 0.7, "left is not the sketch"
    assert shown[:, fw // 2 + 4:].std() > 20, "right of the divider shows no picture"
    shot("sketch", page.locator(".cdw-test-app"))
    assert not page.console_errors, page.console_errors


@pytest.mark.parametrize("cls, prompt", [("CleanupApp", None),
                                         ("TextInpaintingApp", "a small red bird")])
def test_masked_apps_in_notebook7(nb7, shot, cls, prompt):
    nb = nb7(cls.lower(), [app_cell(cls)])
    page = nb.page
    run_all(page, nb.path)
    paint_mask(page, nb)
    shown = run_and_compare(page, nb, prompt)
    # The result differs from the photo under the mask, and only there (the engine's
    # previews change the masked pixels).
    diff = kernel_value(page, nb.path, """\
import numpy as _np
_p = _np.asarray(app.painter.image.convert("RGB"), int)
_r = _np.asarray(app.result.image.convert("RGB").resize(app.painter.image.size), int)
_m = _np.asarray(app.painter.mask) > 0
_d = _np.abs(_p - _r).max(axis=2)
_say(inside=float((_d[_m] > 24).mean()), outside=float((_d[~_m] > 24).mean()))
""")
    assert diff["inside"] > 0.3, diff
    assert diff["outside"] < diff["inside"] / 3, diff
    assert shown.std() > 20
    shot(cls, page.locator(".cdw-test-app"))
    assert not page.console_errors, page.console_errors


def test_replace_background_in_notebook7(nb7, shot):
    nb = nb7("replace", [app_cell("ReplaceBackgroundApp")])
    page = nb.page
    run_all(page, nb.path)
    page.locator(".cdw-test-app select").first.select_option(label="Cat")
    page.locator(".cdw-test-app button.cdw-use-sample").click()  # choosing alone loads nothing
    wait_until(lambda: "Cat: 451x300" in status_text(page) or None, timeout=WAIT,
               what="the cat sample to be chosen")
    frame = compare_canvas(page)
    wait_until(lambda: frame_matches_model(page, nb, frame), timeout=WAIT,
               what="the compare view to show the cat before Run")
    shown = run_and_compare(page, nb, "a beach at sunset")
    state = kernel_value(page, nb.path, "_say(before=list(app.compare.before.size), "
                                        "after=list(app.result.size))")
    assert state["before"] == [451, 300], state
    assert shown.std() > 20
    shot("replace", page.locator(".cdw-test-app"))
    assert not page.console_errors, page.console_errors


# -- touch ------------------------------------------------------------------------------------
TOUCH_PATH = [(80.0, 100.0), (300.0, 120.0), (420.0, 380.0), (160.0, 400.0)]


@pytest.mark.touch
def test_touch_stroke_reaches_the_kernel(nb7, shot):
    nb = nb7("touch", [app_cell("SketchToImageApp")])
    page = nb.page
    run_all(page, nb.path)
    stack = stack_of(page)
    stack.wait_for(timeout=WAIT * 1000)
    ink = ink_layer(stack)
    # what the page's pointer events say about the device
    ink.evaluate("c => { window.__cdwKinds = []; c.addEventListener('pointermove', "
                 "e => window.__cdwKinds.push(e.pointerType)); }")
    box = ink.bounding_box()
    points = [(box["x"] + x, box["y"] + y) for x, y in along(TOUCH_PATH, 12.0)]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                          "touchPoints": [{"x": points[0][0],
                                                           "y": points[0][1]}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                              "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    kinds = page.evaluate("() => window.__cdwKinds")
    assert kinds and set(kinds) == {"touch"}, f"pointer types seen: {set(kinds)}"
    probe = along(TOUCH_PATH, 3.0)
    layer = wait_committed(stack, probe)
    state = kernel_value(page, nb.path, """\
s = app.pad.strokes
_say(n=len(s), points=[[list(map(float, p)) for p in x.points] for x in s])
""")
    assert state["n"] == 1, state
    got = np.asarray(state["points"][0])
    scale = ink.evaluate("c => c.width") / box["width"]  # CSS to pad pixels (1 when 1:1)
    sent = np.asarray([((x - box["x"]) * scale, (y - box["y"]) * scale) for x, y in points])
    # every touch point reached the kernel, where it was touched (within a pixel)
    assert len(got) >= len(sent), (len(got), len(sent))
    nearest = np.linalg.norm(sent[:, None, :] - got[None, :, :], axis=2).min(axis=1)
    assert nearest.max() < 1.5, f"touch points off by up to {nearest.max():.2f} px"
    assert is_white(canvas_rgba(committed_layer(stack)), probe).all()
    assert layer is not None
    shot("touch", stack)
    assert not page.console_errors, page.console_errors
