"""The fold check: in Voila, every app's picture, Run and status line fit the window (issue 22).

At 1280x800, the most common laptop window, Run was below the fold in Sketch to image and Text
inpainting, and in Cleanup once a portrait photo was loaded; Uncrop's frame sat in the side
panel, pushing Run below it; at 1920x1080 the layout did not grow. Here one Voila server
serves the Studio (what ``scripts/studio`` opens) with every app built, and one page walks the
11 operations (the six later ones in their grouped tabs) x 3 photo shapes (square, 3:4
portrait, 3:1) x 2 window sizes, measuring bounding boxes as the user sees them: the picture on
the stage (the painter's photo or sketch, the uncrop frame, else the compare frame), Run and
the status line must lie inside the viewport with the page scrolled to the top, and at
1920x1080 the stage takes most of the width. At 800x800 the side panel stacks under the stage:
every control is scrolled into view and clicked, nothing is wider than the page. After an
upload, the picture's text alternative names the new photo, not the one before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from labpage import TABS, wait_until
from photos import photo_png
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from servers import start_voila, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(400)]

WAIT = 60.0
#: Apps whose stage shows the chosen photo (its shape is checked there).
PHOTO_APPS = tuple(name for name in TABS if name not in ("text_to_image", "sketch_to_image"))
#: The apps that show only the photo, in the compare frame, until a result (no painter).
PHOTO_ONLY = ("remove_background", "upscale", "reimagine", "portrait_depth", "portrait_normals")
#: The photo shapes: (width, height) in pixels, real sizes (megapixels).
SHAPES = {"square": (1600, 1600), "portrait": (1500, 2000), "wide": (2400, 800)}
SIZES = [(1280, 800), (1920, 1080)]

CELLS = [
    """\
import ipywidgets as widgets
import numpy as np
from IPython.display import display
from PIL import Image
from clipdrop_widgets import Studio

SHAPES = SHAPES_REPR
studio = Studio()
studio.add_class("cdw-test-studio")
for name in studio.apps:   # build every tab now
    studio.apps[name]
# Text to image with a result on its stage (divider, Download, Keep, Discard, Send to).
t2i = studio.apps["text_to_image"]
t2i.prompt.value = "a lighthouse on a cliff at dusk"
t2i.run()
assert t2i.wait(60) and t2i.result is not None, t2i.status

def photo(w, h):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([x * 255 // w, y * 255 // h, 128 + 0 * x]).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")

shape = widgets.Dropdown(options=list(SHAPES), value=None, description="Shape")
shape.add_class("cdw-test-shape")
def load(change):
    if change["new"] is None:
        return
    picture = photo(*SHAPES[change["new"]])
    for name in PHOTO_APPS_REPR:
        studio.apps[name].chooser.load(picture, name=change["new"])
shape.observe(load, "value")
display(studio, shape)
""".replace("SHAPES_REPR", repr(SHAPES)).replace("PHOTO_APPS_REPR", repr(PHOTO_APPS)),
]

#: Every element's scroll position back to the top left, so boxes are what a user sees
#: before scrolling.
JS_SCROLL_TOP = """() => {
  for (const el of [document.scrollingElement, ...document.querySelectorAll('*')]) {
    if (el && (el.scrollTop || el.scrollLeft)) { el.scrollTop = 0; el.scrollLeft = 0; }
  }
}"""


@pytest.fixture(scope="module")
def studio_page(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One Voila server and one page showing the Studio, every app built."""
    root: Path = tmp_path_factory.mktemp("layout")
    path = write_notebook(root / "notebooks" / "layout.ipynb", CELLS)
    server = start_voila(path, root / "home", page="studio")
    context = browser.new_context(viewport={"width": 1280, "height": 800},  # type: ignore[attr-defined]
                                  device_scale_factor=1)
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(server.url(), timeout=120_000)
        page.locator(".cdw-test-studio").wait_for(timeout=120_000)
        tabs = page.locator(".cdw-test-studio .lm-TabBar-tab")
        wait_until(lambda: tabs.count() >= len(TABS) or None, timeout=WAIT, what="the tabs")
        yield page
    finally:
        context.close()
        server.stop()


def panel(page):  # type: ignore[no-untyped-def]
    """The visible tab's app."""
    return page.locator(".cdw-test-studio .widget-tab-contents .cdw-app:visible").first


def picture(page):  # type: ignore[no-untyped-def]
    """The picture on the visible app's stage: the painter's layer stack, or the uncrop frame,
    else the compare frame."""
    app = panel(page)
    for selector in (".widget-gridbox:has(> .cdw-ink-host):visible",
                     ".cdw-uncrop-stage:visible"):
        stack = app.locator(selector)
        if stack.count():
            return stack.first
    return app.locator(".cdw-compare canvas:visible").first


def tab(page, title: str):  # type: ignore[no-untyped-def]
    """The visible tab titled exactly ``title`` ("Portrait" is not "Portrait depth")."""
    return page.locator(".cdw-test-studio .lm-TabBar-tab:visible",
                        has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).first


def show_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    outer, inner = TABS[name]
    tab(page, outer).click()
    if inner is not None:
        tab(page, inner).click()
    title = page.locator(".cdw-test-studio .widget-tab-contents .cdw-app:visible b",
                         has_text=re.compile(rf"^{re.escape(inner or outer)}$"))
    wait_until(lambda: title.count() or None, timeout=WAIT, what=f"the {name} tab")


def choose_shape(page, shape: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".cdw-test-shape select").select_option(shape)
    w, h = SHAPES[shape]
    for name in PHOTO_APPS:
        show_tab(page, name)

        def shaped() -> bool | None:
            box = picture(page).bounding_box()
            return bool(box and box["height"]) and abs(box["width"] / box["height"] - w / h) < 0.03

        wait_until(shaped, timeout=WAIT, what=f"the {shape} photo in {name}")


def resize(page, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    """A new window size, once the page has laid itself out again (Lumino's panels re-lay out
    on the resize event, a frame or two later), scrolled to the top."""
    page.set_viewport_size({"width": width, "height": height})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(150)
    page.evaluate(JS_SCROLL_TOP)


def outside(box: dict[str, float] | None, width: int, height: int) -> str | None:
    """Why ``box`` is not wholly inside a ``width x height`` viewport, or ``None``."""
    if box is None or box["width"] == 0 or box["height"] == 0:
        return "not shown"
    slack = 0.5
    if (box["x"] < -slack or box["y"] < -slack or box["x"] + box["width"] > width + slack
            or box["y"] + box["height"] > height + slack):
        return (f"at x {box['x']:.0f}-{box['x'] + box['width']:.0f}, "
                f"y {box['y']:.0f}-{box['y'] + box['height']:.0f}")
    return None


def test_picture_run_and_status_above_the_fold(studio_page) -> None:  # type: ignore[no-untyped-def]
    """Every operation, every photo shape, both window sizes: picture, Run and status line in
    the window before any scrolling; at 1920x1080 the stage takes most of the width."""
    page = studio_page
    misses = []
    for shape in SHAPES:
        choose_shape(page, shape)
        for width, height in SIZES:
            resize(page, width, height)
            for name in TABS:
                show_tab(page, name)
                page.evaluate(JS_SCROLL_TOP)
                app = panel(page)
                parts = {"picture": picture(page),
                         "Run": app.locator("button:has-text('Run'):visible").first,
                         "status": app.locator(".cdw-status:visible").first}
                for part, locator in parts.items():
                    why = outside(locator.bounding_box() if locator.count() else None,
                                  width, height)
                    if why:
                        misses.append(f"{name}, {shape} photo, {width}x{height}: {part} {why}")
                if width == 1920:
                    stage = app.locator(".cdw-stage").first.bounding_box()
                    if stage is None or stage["width"] <= 0.6 * width:
                        misses.append(f"{name}, {shape} photo, {width}x{height}: the stage "
                                      f"is {stage and round(stage['width'])} pixels wide")
        page.set_viewport_size({"width": 1280, "height": 800})
    assert not misses, "outside the window:\n" + "\n".join(misses)


def test_a_portrait_results_actions_stay_in_view(studio_page) -> None:  # type: ignore[no-untyped-def]
    """Findings 22c F6: with the 3:4 photo's result on Cleanup's stage at 1280x800, Keep,
    Discard, Download and Send to (its buttons and menu) are in the window before any
    scrolling, in rows as wide as the stage (as wide as the picture they stacked one per line,
    Discard cut by the window's edge, Send to below it)."""
    page = studio_page
    choose_shape(page, "portrait")
    resize(page, 1280, 800)
    show_tab(page, "cleanup")
    app = panel(page)
    toggle = app.locator("button:has-text('Mask a rectangle by keyboard'):visible").first
    toggle.click()  # its edges start at 25-75 %
    app.locator("button:visible", has_text=re.compile(r"^\s*Mask rectangle\s*$")).first.click()
    app.locator("button:has-text('Run'):visible").first.click()
    row = app.locator(".cdw-staging:visible").first
    row.wait_for(timeout=WAIT * 1000)
    try:
        page.evaluate(JS_SCROLL_TOP)
        parts = row.locator("button:visible, select:visible")
        names = [(parts.nth(i).inner_text().strip() or "menu") for i in range(parts.count())]
        assert {"Keep", "Discard", "Download"} <= set(names) and any(
            n.startswith("Send to") for n in names), names
        misses = [f"{name} {why}" for i, name in enumerate(names)
                  if (why := outside(parts.nth(i).bounding_box(), 1280, 800))]
        assert not misses, "outside the window: " + "; ".join(misses)
        keep, discard = (app.locator(f"button:has-text('{n}'):visible").first.bounding_box()
                         for n in ("Keep", "Discard"))
        assert keep and discard and discard["x"] > keep["x"] and discard["y"] == keep["y"]
    finally:
        app.locator("button:has-text('Discard'):visible").first.click()
        toggle.click()


@pytest.mark.parametrize("name", ["cleanup", "uncrop"])
def test_the_stage_grows_with_a_wide_window(studio_page, name: str) -> None:  # type: ignore[no-untyped-def]
    """At 1920x1080 the 3:1 photo is shown wider than at 1280x800 (the painter's and the
    uncrop frame's)."""
    page = studio_page
    choose_shape(page, "wide")
    show_tab(page, name)
    widths = {}
    for width, height in SIZES:
        resize(page, width, height)
        box = picture(page).bounding_box()
        assert box is not None
        widths[width] = box["width"]
    page.set_viewport_size({"width": 1280, "height": 800})
    assert widths[1920] > 1.25 * widths[1280], widths


#: The controls a person uses, in the visible app (buttons, fields, menus, sliders).
CONTROLS = ("button:visible, input:not([type=file]):visible, select:visible, "
            "textarea:visible, [role=slider]:visible")


def test_everything_reachable_at_800_pixels(studio_page) -> None:  # type: ignore[no-untyped-def]
    """In an 800x800 window the side panel stacks under the stage; in every app each control
    (tools, prompt, options, Run, Cancel, then Keep or Discard) is scrolled into view and
    clicked, the status line is reached, and nothing is wider than the page."""
    page = studio_page
    choose_shape(page, "portrait")
    resize(page, 800, 800)
    problems = []
    try:
        for name in TABS:
            show_tab(page, name)
            page.evaluate(JS_SCROLL_TOP)
            app = panel(page)
            stage = app.locator(".cdw-stage").first.bounding_box()
            side = app.locator(".cdw-panel").first.bounding_box()
            if not (stage and side and side["y"] >= stage["y"] + stage["height"] - 1):
                problems.append(f"{name}: the side panel is not under the stage")
            overflow = page.evaluate("() => document.scrollingElement.scrollWidth")
            if overflow > 800:
                problems.append(f"{name}: the page is {overflow} pixels wide at 800")
            controls = app.locator(CONTROLS)
            clicked = 0
            for i in range(controls.count()):
                control = controls.nth(i)
                text = (control.inner_text() or control.get_attribute("title") or "").strip()
                for attempt in range(3):  # a widget view the page re-renders is looked up again
                    try:
                        control.scroll_into_view_if_needed()
                        break
                    except PlaywrightError as err:
                        if "not attached" not in str(err) or attempt == 2:
                            raise
                why = outside(control.bounding_box(), 800, 800)
                for _ in range(5):  # a toggle group the kernel rebuilt (x4 -> Size in Upscale):
                    if why != "not shown":  # its buttons are new elements, found again
                        break
                    page.wait_for_timeout(200)
                    why = outside(control.bounding_box(), 800, 800)
                if why:
                    problems.append(f"{name}: control {i} ({text[:30]!r}) {why}")
                    continue
                if text.startswith(("Run", "Cancel", "Download", "Upload", "Keep", "Discard",
                                    "Pick", "Shrink", "Send to")):
                    continue  # pressed below, a file dialog, or another tab: reached, not pressed
                if control.is_enabled():  # (Width and Height wait for Size in Upscale)
                    control.click(timeout=5_000)  # fails when something else covers it
                    page.keyboard.press("Escape")  # an open menu closes
                    clicked += 1
            if clicked < 2:
                problems.append(f"{name}: only {clicked} controls found")
            status = app.locator(".cdw-status:visible").first
            before = status.inner_text()
            for label in ("Run", "Cancel"):
                button = app.locator(f"button:has-text('{label}'):visible").first
                button.scroll_into_view_if_needed()
                if outside(button.bounding_box(), 800, 800):
                    problems.append(f"{name}: {label} {outside(button.bounding_box(), 800, 800)}")
                elif button.is_enabled():
                    try:
                        button.click(timeout=5_000)
                    except PlaywrightTimeout:  # the run ended first and disabled Cancel
                        if label == "Run" or button.is_enabled():
                            raise
            wait_until(lambda: status.inner_text() != before or None, timeout=WAIT,  # noqa: B023
                       what=f"the status line of {name} after Run")
            status.scroll_into_view_if_needed()
            if outside(status.bounding_box(), 800, 800):
                problems.append(f"{name}: status {outside(status.bounding_box(), 800, 800)}")
            discard = app.locator("button:has-text('Discard'):visible")
            if discard.count():  # the run ended before Cancel: back to the inputs
                discard.first.scroll_into_view_if_needed()
                discard.first.click(timeout=5_000)
            app.locator("button:has-text('Run'):visible").first.wait_for()
            wait_until(lambda: app.locator(  # noqa: B023
                "button:has-text('Run'):visible").first.is_enabled() or None,
                timeout=WAIT, what=f"Run enabled again in {name}")
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    assert not problems, "\n".join(problems)


JS_FOCUSED = """() => { const e = document.activeElement;
  return e && e !== document.body ? [e.className, e.innerText.trim(), e.isConnected] : null; }"""


def test_the_keyboard_focus_stays_on_a_toggle_python_changes(studio_page) -> None:  # type: ignore[no-untyped-def]
    """Upscale's x4 on a 1500x2000 photo would be 6000x8000, over 4096 pixels a side, so
    Python moves the toggle to Size and says why. ipywidgets rebuilds a toggle's buttons for
    each change the kernel makes: a keyboard user pressing Space on x4 had the focus dropped
    to the page (the next Tab from the top; CI16 caught a button replaced under the 800-pixel
    walk). The focus stays on the toggle, at x4, and Tab goes on to Size."""
    page = studio_page
    choose_shape(page, "portrait")
    show_tab(page, "upscale")
    app = panel(page)

    def button(label: str):  # type: ignore[no-untyped-def]
        return app.locator(".widget-toggle-button", has_text=re.compile(rf"^{label}$")).first

    def active(label: str) -> bool | None:
        return "mod-active" in (button(label).get_attribute("class") or "") or None

    def pressed() -> dict[str, str | None]:  # what a screen reader hears of each
        return {label: button(label).get_attribute("aria-pressed")
                for label in ("x2", "x4", "Size")}

    button("x2").click()
    wait_until(lambda: active("x2"), timeout=WAIT, what="x2 chosen")
    wait_until(lambda: pressed() == {"x2": "true", "x4": "false", "Size": "false"} or None,
               timeout=WAIT, what="x2 said to be pressed")
    button("x4").focus()
    page.keyboard.press("Space")
    wait_until(lambda: active("Size"), timeout=WAIT, what="Python moving x4 to Size")
    why = app.locator(".cdw-live", has_text="x4 would be 6000x8000, over 4096 pixels a side")
    assert why.count() == 1 and why.first.get_attribute("aria-live") == "polite"  # announced
    wait_until(lambda: pressed() == {"x2": "false", "x4": "false", "Size": "true"} or None,
               timeout=WAIT, what="Size said to be pressed")
    wait_until(lambda: page.evaluate(JS_FOCUSED) is not None or None, timeout=WAIT,
               what="the focus back on the toggle")
    classes, text, connected = page.evaluate(JS_FOCUSED)
    assert "widget-toggle-button" in classes and text == "x4" and connected, (classes, text)
    page.keyboard.press("Tab")  # on from x4, not from the top of the page
    classes, text, _connected = page.evaluate(JS_FOCUSED)
    assert text == "Size", (classes, text)


def test_the_pictures_words_follow_an_upload(studio_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The text alternative of the picture (the compare frame in the photo-only apps, the
    frame in Uncrop) names the photo just uploaded, not the one shown before."""
    page = studio_page
    choose_shape(page, "square")
    stale = []
    for i, name in enumerate((*PHOTO_ONLY, "uncrop")):
        size = (900 + 10 * i, 600)
        path = photo_png(tmp_path / f"photo-{name}.png", size)
        show_tab(page, name)
        app = panel(page)
        with page.expect_file_chooser() as chooser:
            app.locator(".cdw-upload-button").first.click()
        chooser.value.set_files(str(path))
        target = app.locator(".cdw-uncrop-stage" if name == "uncrop" else ".cdw-compare canvas")
        want = f"Photo, {size[0]}x{size[1]} pixels"

        def label(target=target, want=want) -> str | None:  # type: ignore[no-untyped-def]
            text = target.first.get_attribute("aria-label") or ""
            return text if text.startswith(want) else None

        try:
            wait_until(label, timeout=WAIT, what=f"{want} in {name}")
        except TimeoutError:
            stale.append(f"{name}: {target.first.get_attribute('aria-label')!r}, not {want!r}")
    assert not stale, "\n".join(stale)


def test_a_small_photo_is_shown_enlarged(studio_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Finding 4 (walk 22): a 64x64 picture was shown 64x64 CSS pixels on the stage at
    1280x800. It is shown 6 times larger (384x384), each pixel a sharp block."""
    page = studio_page
    resize(page, 1280, 800)
    show_tab(page, "remove_background")
    app = panel(page)
    with page.expect_file_chooser() as chooser:
        app.locator(".cdw-upload-button").first.click()
    chooser.value.set_files(str(photo_png(tmp_path / "tiny64.png", (64, 64))))
    canvas = app.locator(".cdw-compare canvas:visible").first
    wait_until(lambda: (canvas.get_attribute("aria-label") or "").startswith(
        "Photo, 64x64 pixels") or None, timeout=WAIT, what="the 64x64 photo shown")

    def shown() -> tuple[int, int] | None:
        box = canvas.bounding_box()
        size = (round(box["width"]), round(box["height"])) if box else None
        return size if size == (384, 384) else None

    try:
        wait_until(shown, timeout=WAIT, what="the photo at 384x384")
    except TimeoutError:
        raise AssertionError(f"the 64x64 photo is shown at {canvas.bounding_box()}") from None
