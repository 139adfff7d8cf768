"""A wrong key and the way back, and the apps' layout at 800 and 1920 pixels, in Chromium.

* JupyterLab: a first run on the local engine, then a key typed in the Studio for a service
  that cannot be reached (``nonexistent.invalid``): the key is "unverified", Run fails with one
  plain sentence shown whole, "Back to local engine" brings every app back and Run works, with
  the earlier results still in the history. The key is in no page text and no widget state.
* Voila: the same with a loopback engine that answers 403 to the wrong key ("rejected").
* Layout: at 800 and 1920 pixels wide, Run and the result are on screen without scrolling; at
  1920 the compare view uses the width; at 800 the Cleanup painter is shown smaller than its
  canvas and a stroke still lands on the photo's pixels under the pointer.
"""

from __future__ import annotations

import numpy as np
import pytest
from labpage import (
    canvas_rgba,
    drag,
    first_visible,
    kernel_value,
    png_from_b64,
    run_all,
    wait_until,
)
from pixels import along, iou, path_mask

from clipdrop_widgets.engine import LocalEngine, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
WRONG = "sk-WRONG-2f9d61be7c0a4"
UNREACHABLE = "http://nonexistent.invalid"
SENTENCE = ("Cannot reach nonexistent.invalid: its name could not be resolved; check the "
            "address and that this computer is online.")

STUDIO_CELL = """\
import os
from clipdrop_widgets import Studio
studio = Studio()
os.environ["CLIPDROP_API_URL"] = SERVICE   # where a typed key sends the Studio
studio.add_class("cdw-test-studio")
for _app in studio.apps.values():
    _app.compare.add_class("cdw-test-compare")
    _app.run_button.add_class("cdw-test-run")
studio
"""


def studio_cell(service: str) -> str:
    return STUDIO_CELL.replace("SERVICE", repr(service))


def panel(page):
    """The visible tab's app."""
    return first_visible(page.locator(".cdw-test-studio .widget-tab-contents > *"))


def run_in_tab(page, prompt: str, expect: str) -> str:
    """Type ``prompt``, press Run, wait until the app's text contains ``expect``."""
    app = panel(page)
    app.locator("textarea").first.fill(prompt)
    app.locator("button.cdw-test-run").first.click()
    return wait_until(lambda: expect in app.inner_text() and app.inner_text(),
                      timeout=WAIT, what=f"{expect!r} in the app")


def type_key(page, key: str) -> None:
    field = page.locator(".cdw-test-studio input[type=password]").first
    field.fill(key)
    field.press("Enter")


def header_text(page) -> str:
    return page.locator(".cdw-test-studio").first.inner_text()


def history_cards(page) -> int:
    return page.locator(".cdw-test-studio button:has-text('Show')").count()


def assert_key_nowhere(page, key: str) -> None:
    assert key not in page.content()
    assert key not in page.locator("body").inner_text()


def wrong_key_then_back(page, *, expect_failure: str, expect_badge: str, shot,
                        docs_name: str) -> None:
    """The scenario both front ends run: local run, wrong key, failed run, back, run."""
    page.locator(".cdw-test-studio").first.wait_for(timeout=120_000)
    run_in_tab(page, "a red fox in the snow", "Done in")
    wait_until(lambda: history_cards(page) == 1 or None, timeout=WAIT, what="one history card")
    back = page.locator(".cdw-test-studio button:has-text('Back to local engine')")
    assert not back.is_visible()

    type_key(page, WRONG)
    wait_until(lambda: "unverified" in header_text(page) or None, timeout=WAIT,
               what="the key shown as unverified")
    assert back.is_visible()
    text = run_in_tab(page, "a blue whale", expect_failure)
    wait_until(lambda: expect_badge in header_text(page) or None, timeout=WAIT,
               what=f"{expect_badge!r} in the header")
    assert "HTTPConnectionPool" not in text and "Errno" not in text
    assert history_cards(page) == 1  # the failure added nothing and removed nothing
    assert_key_nowhere(page, WRONG)
    shot("wrong-key", page.locator(".cdw-test-studio").first, docs_name=docs_name)

    back.click()
    wait_until(lambda: "Local engine: offline previews" in header_text(page) or None,
               timeout=WAIT, what="the local engine badge")
    assert not back.is_visible()
    assert "history is kept" in header_text(page)
    run_in_tab(page, "a blue whale", "Done in")
    wait_until(lambda: history_cards(page) == 2 or None, timeout=WAIT, what="two history cards")
    assert_key_nowhere(page, WRONG)
    assert not page.console_errors, page.console_errors


def test_wrong_key_unreachable_service_and_back_in_lab(notebook, shot):
    nb = notebook("keys", [studio_cell(UNREACHABLE)])
    page = nb.page
    run_all(page, nb.path)
    wrong_key_then_back(page, expect_failure=SENTENCE,
                        expect_badge=f"ClipDrop service at {UNREACHABLE} · not reachable",
                        shot=shot, docs_name="wrong_key.png")
    # The whole sentence is on screen: nothing cut mid-word.
    state = kernel_value(page, nb.path, """\
import json as _j
from ipywidgets import Widget as _W
_s = _j.dumps(_W.get_manager_state(drop_defaults=False), default=str)
_say(results=len(studio.history.results), local=studio.client.is_local,
     statuses=[a.status for a in studio.apps.values()], leak=KEY in _s)
""".replace("KEY", repr(WRONG)))
    assert state["results"] == 2 and state["local"] and not state["leak"], state


def test_wrong_key_rejected_and_back_in_voila(voila, page, shot):
    with serve(port=0, background=True, engine=LocalEngine(api_key="sk-the-right-one")) as h:
        server = voila("keys", [studio_cell(h.url)])
        page.goto(server.url(), timeout=120_000)
        wrong_key_then_back(page, expect_failure="Failed (403)",
                            expect_badge="· key rejected", shot=shot,
                            docs_name="wrong_key_rejected.png")
        assert "The service rejected this key" not in header_text(page)  # back: said no more


# -- layout at 800 and 1920 pixels -------------------------------------------------------------

def on_screen(page, locator) -> dict[str, float]:
    """``locator``'s box, asserting it lies wholly inside the viewport (no scrolling)."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None, "not visible"
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] + 0.5, (box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (box, size)
    return box


@pytest.mark.parametrize("viewport", [(800, 720), (1920, 1080)])
def test_run_and_result_fit_the_window(notebook, shot, viewport):
    width, height = viewport
    nb = notebook(f"layout{width}", [studio_cell(UNREACHABLE)])
    page = nb.page
    page.set_viewport_size({"width": width, "height": height})
    run_all(page, nb.path)
    page.locator(".cdw-test-studio").first.wait_for(timeout=WAIT * 1000)
    page.evaluate("() => window.scrollTo(0, 0)")
    run_in_tab(page, "a lighthouse on a cliff at dusk", "Done in")
    app = panel(page)
    # The notebook shows the output from its top, as after running the cell.
    page.locator(".cdw-test-studio").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(f"layout-{width}", page)
    frame_canvas = app.locator(".cdw-test-compare canvas").first
    if width < 900:  # the stage is the whole width: the result is reached by scrolling
        frame_canvas.scroll_into_view_if_needed()
    frame = on_screen(page, frame_canvas)
    if width >= 900:
        run = on_screen(page, app.locator("button.cdw-test-run").first)
        # one stage: the result where the picture is, beside the side panel with Run
        assert frame["x"] + frame["width"] <= run["x"], "the result is not beside the panel"
    else:
        # under 900 px the side panel stacks under the stage (issue 22): Run is reached by
        # scrolling, and lies under the result, not beside it
        button = app.locator("button.cdw-test-run").first
        button.scroll_into_view_if_needed()
        run = on_screen(page, button)
        frame = app.locator(".cdw-test-compare canvas").first.bounding_box()
        assert run["y"] >= frame["y"] + frame["height"] - 0.5, (run, frame)
    pixels = kernel_value(page, nb.path,
                          "_say(frame=list(studio.current.compare.frame_size))")["frame"]
    if width >= 1920:
        assert frame["width"] >= 700, f"the result is only {frame['width']} px wide at 1920"
        assert frame["width"] >= pixels[0] - 1  # at least its own size: nothing cramped
    else:
        assert frame["width"] < pixels[0], "the frame was not scaled down to fit"
        # The canvas keeps its pixels and its aspect ratio: only the CSS size changed.
        assert frame["height"] / frame["width"] == pytest.approx(pixels[1] / pixels[0],
                                                                  abs=0.01)
    assert not page.console_errors, page.console_errors


def test_a_painter_shown_smaller_still_paints_under_the_pointer(notebook, shot):
    nb = notebook("narrow_paint", [studio_cell(UNREACHABLE)])
    page = nb.page
    # narrow enough that the stage (the whole width under 900 px) shows the painter smaller
    page.set_viewport_size({"width": 560, "height": 720})
    run_all(page, nb.path)
    page.locator(".cdw-test-studio .lm-TabBar-tab", has_text="Cleanup").first.click()
    stack = first_visible(page.locator(".cdw-test-studio .widget-gridbox:has(canvas.cdw-ink)"))
    ink = stack.locator("canvas.cdw-ink")
    geo = kernel_value(page, nb.path, """\
_p = studio.apps["cleanup"].painter
_say(display=list(_p.display_size), native=list(_p.image.size), brush=_p.brush_size)
""")
    (dw, dh), (nw, nh) = geo["display"], geo["native"]
    wait_until(lambda: (b := ink.bounding_box()) and b["width"] > 0, timeout=WAIT,
               what="the ink layer's box")
    ink.scroll_into_view_if_needed()
    box = ink.bounding_box()
    assert box["width"] < dw - 20, f"the painter is not shown smaller ({box['width']} px)"
    assert box["height"] / box["width"] == pytest.approx(dh / dw, abs=0.01)
    for layer in stack.locator(":scope > *").all():  # every layer has the same box
        other = layer.bounding_box()
        assert other is not None
        assert abs(other["width"] - box["width"]) < 1 and abs(other["height"] - box["height"]) < 1

    fractions = [(0.2, 0.25), (0.8, 0.25), (0.8, 0.75), (0.35, 0.9)]  # CSS, then native
    css = [(fx * box["width"], fy * box["height"]) for fx, fy in fractions]
    drag(page, ink, css, steps=10)

    def committed():
        painted = canvas_rgba(stack.locator("canvas.cdw-mask-layer"))
        return painted if not canvas_rgba(ink)[..., 3].any() and painted[..., 3].any() else None

    layer = wait_until(committed, timeout=WAIT, what="the stroke to be committed")
    shown = [(fx * dw, fy * dh) for fx, fy in fractions]  # the same points in canvas pixels
    assert iou(layer[..., 3] > 127, path_mask(shown, geo["brush"], (dw, dh))) > 0.85
    text = kernel_value(page, nb.path, '_say(png=_png64(studio.apps["cleanup"].painter.mask))')
    mask = np.asarray(png_from_b64(text["png"])) > 0
    native = [(fx * nw, fy * nh) for fx, fy in fractions]
    expected = path_mask(native, geo["brush"] * nw / dw, (nw, nh))
    assert mask.shape == (nh, nw)
    assert iou(mask, expected) > 0.85, "the mask is not where the pointer painted"
    probe = along(native, 4.0).astype(int)
    inside = (probe[:, 0] < nw) & (probe[:, 1] < nh)
    assert mask[probe[inside, 1], probe[inside, 0]].mean() > 0.97
    shot("narrow-paint", page)
    assert not page.console_errors, page.console_errors
