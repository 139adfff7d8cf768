"""The fold check: in Voila, every app's picture, Run and status line fit the window (issue 22).

At 1280x800, the most common laptop window, Run was below the fold in Sketch to image and Text
inpainting, and in Cleanup once a portrait photo was loaded; at 1920x1080 the layout did not
grow. Here one Voila server serves the Studio (what ``scripts/studio`` opens) with every app
built, and one page walks 5 apps x 3 photo shapes (square, 3:4 portrait, 3:1) x 2 window
sizes, measuring bounding boxes as the user sees them: the picture on the stage (the painter's
photo or sketch, else the compare frame), Run and the status line must lie inside the viewport
with the page scrolled to the top. At 800 pixels wide everything must still be reachable: no
control outside the page's width, Run reachable by scrolling.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labpage import wait_until
from servers import start_voila, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(400)]

WAIT = 60.0
TABS = {"text_to_image": "Text to image", "sketch_to_image": "Sketch to image",
        "cleanup": "Cleanup", "text_inpainting": "Text inpainting",
        "replace_background": "Replace background"}
#: Apps whose stage shows the chosen photo (its shape is checked there).
PHOTO_APPS = ("cleanup", "text_inpainting", "replace_background")
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
    server = start_voila(path, root / "home")
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
    return page.locator(".cdw-test-studio .widget-tab-contents > .cdw-app:visible").first


def picture(page):  # type: ignore[no-untyped-def]
    """The picture on the visible app's stage: the painter's layer stack, else the compare
    frame."""
    app = panel(page)
    stack = app.locator(".widget-gridbox:has(> .cdw-ink-host):visible")
    if stack.count():
        return stack.first
    return app.locator(".cdw-compare canvas:visible").first


def show_tab(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(".cdw-test-studio .lm-TabBar-tab", has_text=TABS[name]).first.click()
    wait_until(lambda: panel(page).count() or None, timeout=WAIT, what=f"the {name} tab")


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
    page = studio_page
    misses = []
    for shape in SHAPES:
        choose_shape(page, shape)
        for name in TABS:
            show_tab(page, name)
            for width, height in SIZES:
                resize(page, width, height)
                app = panel(page)
                parts = {"picture": picture(page),
                         "Run": app.locator("button:has-text('Run'):visible").first,
                         "status": app.locator(".cdw-status:visible").first}
                for part, locator in parts.items():
                    why = outside(locator.bounding_box() if locator.count() else None,
                                  width, height)
                    if why:
                        misses.append(f"{name}, {shape} photo, {width}x{height}: {part} {why}")
        page.set_viewport_size({"width": 1280, "height": 800})
    assert not misses, "outside the window:\n" + "\n".join(misses)


def test_the_stage_grows_with_a_wide_window(studio_page) -> None:  # type: ignore[no-untyped-def]
    """At 1920x1080 the stage takes most of the width; the 3:1 photo is shown wider than at
    1280x800."""
    page = studio_page
    choose_shape(page, "wide")
    show_tab(page, "cleanup")
    widths = {}
    for width, height in SIZES:
        resize(page, width, height)
        stage = panel(page).locator(".cdw-stage").first.bounding_box()
        assert stage is not None and stage["width"] > 0.6 * width, (width, stage)
        box = picture(page).bounding_box()
        assert box is not None
        widths[width] = box["width"]
    page.set_viewport_size({"width": 1280, "height": 800})
    assert widths[1920] > 1.25 * widths[1280], widths


def test_everything_reachable_at_800_pixels(studio_page) -> None:  # type: ignore[no-untyped-def]
    """In an 800-pixel window nothing is wider than the page, and Run and the status line
    are reachable (the side panel still fits beside a smaller stage; narrower, it wraps under
    it and is reached by scrolling down)."""
    page = studio_page
    choose_shape(page, "portrait")
    resize(page, 800, 800)
    try:
        for name in TABS:
            show_tab(page, name)
            page.evaluate(JS_SCROLL_TOP)
            app = panel(page)
            overflow = page.evaluate("() => document.scrollingElement.scrollWidth")
            assert overflow <= 800, f"{name}: the page is {overflow} pixels wide at 800"
            for part in ("button:has-text('Run'):visible", ".cdw-status:visible"):
                locator = app.locator(part).first
                locator.scroll_into_view_if_needed()
                box = locator.bounding_box()
                assert outside(box, 800, 800) is None, f"{name}: {part} {box}"
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
