"""The Studio in Voila's default mode, in a real Chromium.

In the default mode Voila runs the whole notebook before the page connects, so every canvas
command sent during execution is lost; the widgets redraw when a page connects
(``widgets/_canvas.py`` ``on_client_ready``). The notebook below draws into every kind of
canvas before any page exists (a sketch stroke, two masks, a finished text-to-image run), so a
missing redraw shows as a blank or empty canvas. A plain ipycanvas canvas drawn the same way,
without a redraw, is the control: it is expected to stay blank.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from labpage import canvas_rgba, drag, first_visible, wait_until
from pixels import along, is_white

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

WAIT = 30.0
#: Pre-drawn in Python before the page connects (native pixels; the pad is shown 1:1).
PRE_SKETCH = [(60.0, 420.0), (450.0, 380.0)]
#: A stroke drawn in the page.
PAGE_SKETCH = [(120.0, 80.0), (260.0, 300.0), (420.0, 90.0)]

STUDIO_CELLS = [
    """\
from IPython.display import display
from ipycanvas import Canvas
from clipdrop_widgets import Studio

studio = Studio()
studio.add_class("cdw-test-studio")
# Drawn while Voila executes the notebook, before any page is connected:
studio.apps["sketch_to_image"].pad.add_stroke(PRE_SKETCH, width=10)
for name in ("cleanup", "text_inpainting"):
    painter = studio.apps[name].painter
    w, h = painter.image.size
    painter.add_stroke([(0.25 * w, 0.5 * h), (0.75 * w, 0.5 * h)], width=w / 12)
t2i = studio.apps["text_to_image"]
t2i.prompt.value = "a red fox in a snowy forest at sunset"
t2i.run()
assert t2i.wait(60) and t2i.result is not None, t2i.status
for app in studio.apps.values():
    app.compare.add_class("cdw-test-compare")

control = Canvas(width=48, height=48)   # drawn the same way, with no redraw on connect
control.add_class("cdw-test-control")
control.fill_style = "red"
control.fill_rect(0, 0, 48, 48)
display(studio, control)
""".replace("PRE_SKETCH", repr(PRE_SKETCH)),
]

#: Over the spoon of the coffee-cup sample (fractions of the painter's display size): down the
#: handle, then back and forth over the bowl.
SPOON = [(0.69, 0.12), (0.665, 0.45), (0.63, 0.58), (0.55, 0.60), (0.70, 0.64), (0.54, 0.68),
         (0.70, 0.72), (0.54, 0.76), (0.69, 0.80), (0.56, 0.84), (0.66, 0.87)]

TABS = ["Text to image", "Sketch to image", "Cleanup", "Text inpainting", "Replace background"]


def _blank(rgba: np.ndarray) -> bool:
    return not rgba[..., 3].any()


def visible_canvases(page):
    """The Studio's visible canvases that show content (the live-ink layers are empty by design
    between strokes)."""
    canvases = page.locator(".cdw-test-studio canvas:not(.cdw-ink)")
    return [c for c in canvases.all() if c.is_visible()]


def describe(canvas) -> str:
    return canvas.evaluate("c => (c.className || 'canvas') + ' ' + c.width + 'x' + c.height")


def test_studio_in_voila_default_mode(voila, page, shot):
    server = voila("studio", STUDIO_CELLS)
    page.goto(server.url(), timeout=120_000)
    page.locator(".cdw-test-studio").wait_for(timeout=120_000)
    tabs = page.locator(".cdw-test-studio .lm-TabBar-tab")
    # the five seed operations have their own tabs; the six others sit in three groups
    wait_until(lambda: tabs.count() >= len(TABS) + 3 or None, timeout=WAIT, what="the tabs")

    for title in TABS:
        page.locator(".cdw-test-studio .lm-TabBar-tab", has_text=title).first.click()
        wait_until(lambda: len(visible_canvases(page)) > 0 or None, timeout=WAIT,
                   what=f"canvases in the {title} tab")

        def all_drawn():
            canvases = visible_canvases(page)
            blank = [describe(c) for c in canvases if _blank(canvas_rgba(c))]
            return None if blank else canvases

        try:
            canvases = wait_until(all_drawn, timeout=WAIT, what=f"{title}: canvases drawn")
        except TimeoutError:
            blank = [describe(c) for c in visible_canvases(page) if _blank(canvas_rgba(c))]
            shot(f"blank-{title}", page)
            raise AssertionError(f"{title}: blank canvases in Voila: {blank}") from None
        name = title.lower().replace(" ", "-")
        shot(f"tab-{name}", page.locator(".cdw-test-studio"))

        # What each canvas shows is what Python drew before the page connected.
        for canvas in canvases:
            pixels = canvas_rgba(canvas)
            kind = describe(canvas)
            if "cdw-mask-layer" in kind:
                h, w = pixels.shape[:2]
                row = pixels[h // 2, int(w * 0.3): int(w * 0.7)]
                assert (row[:, 3] > 200).all() and (row[:, 0] > 200).all(), \
                    f"{title}: the mask painted before the page connected is missing"
        if title == "Sketch to image":
            layer = first_visible(
                page.locator(".cdw-test-studio .widget-gridbox:has(canvas.cdw-ink) > canvas"))
            assert is_white(canvas_rgba(layer), along(PRE_SKETCH, 3.0)).all(), \
                "the sketch stroke drawn before the page connected is missing"
        if title == "Text to image":
            frame = first_visible(page.locator(".cdw-test-studio .cdw-test-compare canvas"))
            assert canvas_rgba(frame)[..., :3].std() > 20, "the text-to-image result is missing"

    control = canvas_rgba(page.locator("canvas.cdw-test-control"))
    if not _blank(control):
        warnings.warn("Voila's default mode kept a canvas drawn before the page connected: "
                      "the redraw checks above no longer prove the redraw", stacklevel=1)

    # A stroke drawn in the page works: live ink, then committed by Python; then Run.
    page.locator(".cdw-test-studio .lm-TabBar-tab", has_text="Sketch to image").first.click()
    stack = first_visible(page.locator(".cdw-test-studio .widget-gridbox:has(canvas.cdw-ink)"))
    drag(page, stack.locator("canvas.cdw-ink"), PAGE_SKETCH, steps=10)
    probe = along(PAGE_SKETCH, 3.0)

    def committed():
        if canvas_rgba(stack.locator("canvas.cdw-ink"))[..., 3].any():
            return None
        layer = canvas_rgba(stack.locator(":scope > canvas").last)
        return True if is_white(layer, probe).all() else None

    wait_until(committed, timeout=WAIT, what="the stroke drawn in Voila to be committed")
    panel = first_visible(page.locator(".cdw-test-studio .widget-tab-contents > *"))
    panel.locator("textarea").first.fill("an owl on a branch")
    panel.locator("button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in panel.inner_text() or None, timeout=WAIT,
               what="the sketch run in Voila")
    frame = first_visible(panel.locator(".cdw-test-compare canvas"))
    wait_until(lambda: canvas_rgba(frame)[..., :3].std() > 20 or None, timeout=WAIT,
               what="the result in the compare view")
    shot("sketch-run", page.locator(".cdw-test-studio"))

    # Paint over the spoon in the cleanup tab, Run: the README's picture (docs/images/studio.png).
    page.locator(".cdw-test-studio .lm-TabBar-tab", has_text="Cleanup").first.click()
    panel = first_visible(page.locator(".cdw-test-studio .widget-tab-contents > *"))
    stack = first_visible(panel.locator(".widget-gridbox:has(canvas.cdw-ink)"))
    # Clear the mask drawn before the page connected (Clear redraws the layer, empty).
    panel.locator("button:has-text('Clear')").first.click()
    wait_until(lambda: not canvas_rgba(stack.locator("canvas.cdw-mask-layer"))[..., 3].any()
               or None, timeout=WAIT, what="Clear to empty the mask layer")
    box = stack.bounding_box()
    assert box is not None
    spoon = [(fx * box["width"], fy * box["height"]) for fx, fy in SPOON]
    drag(page, stack.locator("canvas.cdw-ink"), spoon, steps=6)
    probe = along(spoon, 3.0)

    def mask_committed():
        if canvas_rgba(stack.locator("canvas.cdw-ink"))[..., 3].any():
            return None
        layer = canvas_rgba(stack.locator("canvas.cdw-mask-layer"))
        ix, iy = probe[:, 0].astype(int), probe[:, 1].astype(int)
        return True if (layer[iy, ix, 3] > 200).all() else None

    wait_until(mask_committed, timeout=WAIT, what="the mask painted in Voila to be committed")
    panel.locator("button:has-text('Run')").first.click()
    wait_until(lambda: "Done in" in panel.inner_text() or None, timeout=WAIT,
               what="the cleanup run in Voila")
    frame = first_visible(panel.locator(".cdw-test-compare canvas"))
    wait_until(lambda: canvas_rgba(frame)[..., :3].std() > 20 or None, timeout=WAIT,
               what="the cleaned photo in the compare view")
    page.wait_for_timeout(300)  # let the released live ink clear before the picture
    shot("cleanup-run", page.locator(".cdw-test-studio"), docs_name="studio.png")
    assert not page.console_errors, page.console_errors
