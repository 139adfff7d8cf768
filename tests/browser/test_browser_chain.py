"""The Studio's first view and chaining, in JupyterLab, in a real Chromium.

* First view: before any run the compare view says what will appear there (the hint is drawn
  in the frame, as Python composed it); every button on screen has an accessible name and a
  tooltip; Run is reached with Tab from the prompt and pressed with Enter.
* Chaining: a text-to-image result sent to Cleanup with "Send to Cleanup" under the compare
  view: the Cleanup tab opens on that picture, a mask painted over it reaches the kernel at the
  picture's size, Run cleans it, and the new result records (and its history card shows)
  where its photo came from. A history card's "Send to" menu sends a result to Replace
  background the same way.
* Typed then run at once: with a kernel slow to take each keystroke, Run clicked (or
  Ctrl+Enter pressed, or Enter on Run) straight after typing runs the whole prompt, not the
  part that had reached Python, in the format chosen just before.
* Drawn then run at once: with a kernel slow to take each stroke, Run pressed as the stroke
  ends runs with that stroke.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from labpage import (
    canvas_rgba,
    drag,
    first_visible,
    kernel_value,
    png_from_b64,
    run_all,
    screenshot_rgba,
    wait_until,
)
from pixels import along, iou, path_mask
from test_browser_lab import is_mask_ink, kernel_png

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
#: Run's accessible name: "Run" after its icon (Font Awesome's glyph, CSS content, counts).
RUN_NAME = re.compile(r"^\W*Run$")

STUDIO_CELL = """\
from clipdrop_widgets import Studio
studio = Studio()
studio.add_class("cdw-test-studio")
for _app in studio.apps.values():
    _app.compare.add_class("cdw-test-compare")
studio
"""
#: A zigzag in fractions of the painter's display size.
MASK_PATH = [(0.25, 0.30), (0.70, 0.35), (0.35, 0.55), (0.70, 0.65)]


def panel(page):
    """The visible tab's app."""
    return first_visible(page.locator(".cdw-test-studio .widget-tab-contents > *"))


def current_tab(page) -> str:
    return page.locator(".cdw-test-studio .lm-TabBar-tab.lm-mod-current").first.inner_text()


def frame_is_model(page, nb, app: str):
    """The visible compare frame's pixels if they are what ``studio.apps[app]`` composed."""
    frame = first_visible(page.locator(".cdw-test-studio .cdw-test-compare canvas"))
    shown = canvas_rgba(frame)[..., :3].astype(int)
    model = kernel_value(page, nb.path, f"""\
_c = studio.apps[{app!r}].compare
_say(x=_c.position * _c.frame_size[0] if _c.before and _c.after else None,
     png=_png64(_c.snapshot()))
""")
    expected = np.asarray(png_from_b64(model["png"]).convert("RGB")).astype(int)
    if expected.shape != shown.shape:
        return None
    columns = np.abs(shown - expected).mean(axis=(0, 2))
    if model["x"] is not None:  # the page draws a handle on the divider: skip its columns
        x = int(model["x"])
        columns[max(0, x - 8): x + 9] = 0
    return shown if columns.max() < 15 and columns.mean() < 6 else None


def test_first_view_names_tooltips_and_keyboard_run(notebook, shot):
    nb = notebook("first-view", [STUDIO_CELL])
    page = nb.page
    run_all(page, nb.path)
    page.locator(".cdw-test-studio").wait_for(timeout=WAIT * 1000)

    # The empty compare view shows its hint, as Python drew it, in the middle of the frame.
    shown = wait_until(lambda: frame_is_model(page, nb, "text_to_image"), timeout=WAIT,
                       what="the empty compare view to show its hint")
    light = shown.max(axis=2) > 120
    h = shown.shape[0]
    assert light[h // 3: 2 * h // 3].mean() > 0.005, "no hint in the middle of the frame"
    assert not light[: h // 4].any() and not light[-h // 4:].any()
    hint = kernel_value(page, nb.path, "_say(h=studio.apps['text_to_image'].empty_hint)")["h"]
    assert "appear here" in hint
    shot("first-view", page.locator(".cdw-test-studio"))

    # Every button on screen, in every tab, has a name a screen reader reads and a tooltip.
    for title in ("Text to image", "Sketch to image", "Cleanup", "Text inpainting",
                  "Replace background"):
        page.locator(".cdw-test-studio .lm-TabBar-tab", has_text=title).first.click()
        wait_until(lambda title=title: current_tab(page) == title or None, timeout=WAIT,
                   what=f"the {title} tab")
        unnamed = page.evaluate("""() => {
          const out = [];
          for (const b of document.querySelectorAll('.cdw-test-studio button')) {
            if (!b.offsetParent) continue;  // hidden (another tab, a hidden row)
            const name = (b.getAttribute('aria-label') || b.textContent || '').trim();
            if (!name || !(b.title || '').trim()) out.push(b.outerHTML.slice(0, 160));
          }
          return out;
        }""")
        assert not unnamed, f"{title}: buttons without a name or a tooltip: {unnamed}"
        run = page.get_by_role("button", name=RUN_NAME)
        assert first_visible(run).get_attribute("title"), "Run has no tooltip"

    # Run from the keyboard: type the prompt, Tab to Run, press Enter.
    page.locator(".cdw-test-studio .lm-TabBar-tab", has_text="Text to image").first.click()
    app = panel(page)
    prompt = app.locator("textarea").first
    prompt.click()
    page.keyboard.type("a lighthouse at dusk")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.textContent || '').trim() === 'Run'"):
            break
    else:
        raise AssertionError("Tab never reached Run from the prompt")
    page.keyboard.press("Enter")
    wait_until(lambda: "Done in" in app.inner_text() or None, timeout=WAIT,
               what="the run started with the keyboard to finish")
    state = kernel_value(page, nb.path, "_r = studio.apps['text_to_image'].result\n"
                                        "_say(prompt=_r.inputs.get('prompt'))")
    assert state["prompt"] == "a lighthouse at dusk", state
    assert not page.console_errors, page.console_errors


SLOW_KERNEL_CELL = """\
import time
from clipdrop_widgets import TextToImageApp
app = TextToImageApp()
app.add_class("cdw-test-app")
# A kernel slow to take each keystroke (a busy workshop server): the page holds the typing
# back while one update is in flight, so most of what is typed has not reached Python yet.
app.prompt.observe(lambda _change: time.sleep(0.25), "value")
app
"""


def open_app(notebook, name: str, cell: str, ready: str):
    """The notebook's page, its app (``app`` in the kernel, class ``cdw-test-app``) once
    ``ready`` shows in it, and its Run button."""
    nb = notebook(name, [cell])
    run_all(nb.page, nb.path)
    app = first_visible(nb.page.locator(".cdw-test-app"))
    first_visible(app.locator(ready)).wait_for(timeout=WAIT * 1000)
    return nb, app, first_visible(app.get_by_role("button", name=RUN_NAME))


def wait_runs(nb, runs: int) -> None:
    """Wait until ``app`` has made ``runs`` results and is idle."""
    wait_until(lambda: kernel_value(
        nb.page, nb.path, "_say(n=len(app.history.results), busy=app.running)")
        == {"n": runs, "busy": False} or None, timeout=WAIT, what=f"run {runs} to finish")


def test_run_pressed_straight_after_typing_runs_the_whole_prompt(notebook):
    nb, app, run_button = open_app(notebook, "typed-then-run", SLOW_KERNEL_CELL, "textarea")
    page = nb.page
    prompt = app.locator("textarea").first

    def by_keyboard():  # and a format chosen just before: the run is made in that format
        app.locator("select", has=page.locator("option", has_text="WebP")).first.select_option(
            label="WebP")
        run_button.focus()
        page.keyboard.press("Enter")

    cases = [("a lighthouse at dusk", run_button.click),
             ("a harbour at dawn, oil on canvas", lambda: page.keyboard.press("Control+Enter")),
             ("three boats, one red", by_keyboard)]
    for runs, (text, press_run) in enumerate(cases, start=1):
        prompt.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(text)  # no pause: Run is pressed while the typing is held back
        press_run()
        wait_runs(nb, runs)
        state = kernel_value(page, nb.path, "_say(run=app.result.inputs.get('prompt'),"
                                            " type=app.result.content_type)")
        assert state["run"] == text, state
        assert state["type"] == ("image/webp" if press_run is by_keyboard else "image/png")
        # Once the page has sent the rest, the box in Python holds the text too.
        wait_until(lambda text=text: kernel_value(
            page, nb.path, "_say(box=app.prompt.value)")["box"] == text or None,
            timeout=WAIT, what="the box in Python to catch up with the page")
    assert not page.console_errors, page.console_errors


SLOW_STROKES_CELL = """\
import time
from clipdrop_widgets import SketchToImageApp
app = SketchToImageApp()
app.add_class("cdw-test-app")
app.prompt.value = "a house on a hill"
# A kernel slow to take each stroke: the stroke may reach Python after the press of Run
# (JupyterLab hands them to different kernel threads).
app.pad._ink.on_msg(lambda *_args: time.sleep(0.3))
_seen = []  # strokes each run read
_read = app._request
def _request():
    _seen.append(len(app.pad.strokes))
    return _read()
app._request = _request
app
"""


def test_run_pressed_straight_after_a_stroke_includes_it(notebook):
    nb, app, run_button = open_app(notebook, "stroke-then-run", SLOW_STROKES_CELL,
                                   "canvas.cdw-ink")
    page = nb.page
    for k in range(3):
        if k:  # the result took the stage: Keep goes back to the sketch to draw on
            first_visible(app.get_by_role("button", name="Keep")).click()
            app.locator("canvas.cdw-ink:visible").first.wait_for(timeout=WAIT * 1000)
        ink = first_visible(app.locator("canvas.cdw-ink"))
        # the stage got shorter: bring the whole pad into view (not under Lab's toolbar)
        ink.evaluate("e => e.scrollIntoView({block: 'center'})")
        drag(page, ink, [(40, 40 + 60 * k), (200, 60 + 60 * k), (300, 80 + 60 * k)])
        if k == 1:  # by keyboard: the pointer left focus on the page
            app.locator("textarea").first.focus()
            page.keyboard.press("Control+Enter")
        else:
            run_button.click()
        wait_runs(nb, k + 1)
    seen = kernel_value(page, nb.path, "_say(seen=_seen)")["seen"]
    assert seen == [1, 2, 3], f"strokes each run read: {seen}"
    assert not page.console_errors, page.console_errors


def test_send_to_cleanup_paint_run_compare(notebook, shot):
    nb = notebook("chain", [STUDIO_CELL])
    page = nb.page
    run_all(page, nb.path)
    page.locator(".cdw-test-studio").wait_for(timeout=WAIT * 1000)
    app = panel(page)
    app.locator("textarea").first.fill("a red fox in a snowy forest at sunset")
    first_visible(page.get_by_role("button", name=RUN_NAME)).click()
    wait_until(lambda: "Done in" in app.inner_text() or None, timeout=WAIT,
               what="text to image to finish")

    # Send to Cleanup, from under the compare view.
    send = first_visible(page.get_by_role("button", name="Send to Cleanup"))
    assert "photo of Cleanup" in (send.get_attribute("title") or "")
    send.click()
    wait_until(lambda: current_tab(page) == "Cleanup" or None, timeout=WAIT,
               what="the Cleanup tab to open")
    app = panel(page)
    wait_until(lambda: "from Text to image" in app.inner_text() or None, timeout=WAIT,
               what="Cleanup to say where its photo came from")
    state = kernel_value(page, nb.path, """\
_t, _c = studio.apps["text_to_image"].result, studio.apps["cleanup"]
_say(same=_c.chooser.data == _t.data, size=list(_t.size), display=list(_c.painter.display_size),
     brush=_c.painter.brush_size, png=_png64(_t.image.convert("RGB").resize(
         _c.painter.display_size)))
""")
    assert state["same"], "Cleanup's photo is not the result's bytes"
    (dw, dh), (nw, nh) = state["display"], state["size"]

    # The painter shows the sent picture.
    stack = first_visible(app.locator(".widget-gridbox:has(canvas.cdw-ink)"))
    wait_until(lambda: stack.locator("img").evaluate(
        "i => i.complete && i.naturalWidth > 0 && i.src.length > 0"), timeout=WAIT,
        what="the sent picture to load in the painter")
    expected = np.asarray(png_from_b64(state["png"])).astype(int)

    def shows_picture():
        seen = screenshot_rgba(stack).astype(int)[:dh, :dw]
        return seen if np.abs(seen - expected).mean() < 12 else None

    wait_until(shows_picture, timeout=WAIT, what="the painter to show the sent picture")

    # Paint a mask over it: the page's layer and the kernel's native mask are the path.
    path = [(fx * dw, fy * dh) for fx, fy in MASK_PATH]
    drag(page, stack.locator("canvas.cdw-ink"), path, steps=10)
    probe = along(path, 3.0)

    def committed():
        if canvas_rgba(stack.locator("canvas.cdw-ink"))[..., 3].any():
            return None
        layer = canvas_rgba(stack.locator("canvas.cdw-mask-layer"))
        return layer if is_mask_ink(layer, probe).all() else None

    layer = wait_until(committed, timeout=WAIT, what="the mask to be committed")
    assert iou(layer[..., 3] > 127, path_mask(path, state["brush"], (dw, dh))) > 0.9
    mask = kernel_png(page, nb.path, "studio.apps['cleanup'].painter.mask")
    scale = (nw / dw + nh / dh) / 2
    expected_mask = path_mask([(x * nw / dw, y * nh / dh) for x, y in path],
                              state["brush"] * scale, (nw, nh))
    assert mask.shape == (nh, nw) and iou(mask > 0, expected_mask) > 0.93

    # Run: the compare view shows the sent picture beside the cleaned one, as Python composed.
    first_visible(page.get_by_role("button", name=RUN_NAME)).click()
    wait_until(lambda: "Done in" in app.inner_text() or None, timeout=WAIT,
               what="cleanup to finish")
    wait_until(lambda: frame_is_model(page, nb, "cleanup"), timeout=WAIT,
               what="the compare view to show the cleaned picture")
    record = kernel_value(page, nb.path, """\
from clipdrop_widgets.widgets.sendto import origin
_c = studio.apps["cleanup"]
_say(input_from=_c.result.inputs.get("input_from"),
     expected=origin(studio.apps["text_to_image"].result),
     before_is_sent=_c.compare.before is _c.chooser.image)
""")
    assert record["input_from"] == record["expected"], record
    assert record["before_is_sent"], record
    cards = page.locator(".cdw-test-studio .widget-html:has-text('\u21b3 from Text to image')")
    wait_until(lambda: cards.count() == 1 or None, timeout=WAIT,
               what="the history card to say where the photo came from")
    page.wait_for_timeout(300)  # the released live ink clears before the picture
    shot("chained", page.locator(".cdw-test-studio"), docs_name="chaining.png")

    # A keyboard user browses the closed "More…" menu with the arrow keys (issue 22 finding
    # 12): three ArrowDowns pass Remove background and Uncrop to Upscale and send nothing;
    # Tab to Send (now "Send to Upscale") and Enter sends.
    more = first_visible(page.locator(".cdw-test-studio select:has(option:text-is('More…'))"))
    more.focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    go = first_visible(page.locator(".cdw-test-studio button.cdw-send-chosen"))
    wait_until(lambda: "Send to Upscale" in go.inner_text() or None, timeout=WAIT,
               what="Send beside More… to name Upscale")
    now = "_say(now=studio.current.endpoint_name, up=studio.apps['upscale'].chooser.origin)"
    state = kernel_value(page, nb.path, now)  # after the kernel has heard the three keys
    assert state == {"now": "cleanup", "up": None}, state
    assert current_tab(page) == "Cleanup"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    wait_until(lambda: kernel_value(page, nb.path, now)["now"] == "upscale" or None,
               timeout=WAIT, what="Enter on Send to send the result to Upscale")

    # A history card's menu: the text-to-image card (the second, older) to Replace background.
    menus = page.locator(".cdw-test-studio select:has(option:text-is('Send to…'))")
    wait_until(lambda: menus.count() == 2 or None, timeout=WAIT, what="two Send-to menus")
    menus.nth(1).select_option(label="Replace background")
    page.wait_for_timeout(500)  # the kernel has heard the choice: choosing alone sends nothing
    assert current_tab(page) != "Replace background", "choosing in the menu sent the picture"
    send = page.locator(".cdw-test-studio button.cdw-send-chosen", has_text="Send to Replace "
                        "background")
    send.click()
    wait_until(lambda: current_tab(page) == "Replace background" or None, timeout=WAIT,
               what="the Replace background tab to open")
    wait_until(lambda: frame_is_model(page, nb, "replace_background"), timeout=WAIT,
               what="Replace background to show the sent picture")
    sent = kernel_value(page, nb.path, """\
_r = studio.apps["replace_background"]
_say(same=_r.chooser.data == studio.apps["text_to_image"].result.data)
""")
    assert sent["same"], sent
    assert menus.nth(1).input_value() == "Send to…", "the menu did not go back"
    assert not page.console_errors, page.console_errors
