"""The later operations' apps in JupyterLab, in a real Chromium: the uncrop frame dragged on
its stage reaches the kernel's numbers (and the numbers move the frame); a variation picked
in the Reimagine grid is the one the compare view shows; the Upscale magnifier shows the
result's own pixels at 1:1 under the pointer."""

from __future__ import annotations

import pytest
from labpage import drag, kernel_run, kernel_value, run_all, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
CELLS = ["""\
from clipdrop_widgets import ReimagineApp, UncropApp
uncrop = UncropApp()          # the coffee sample, 600x400; left and right start at 256
uncrop.add_class("cdw-test-uncrop")
uncrop
""", """\
reimagine = ReimagineApp()
reimagine.takes.value = 2
reimagine.add_class("cdw-test-reimagine")
reimagine.run()
reimagine.wait(120)
reimagine
""", """from clipdrop_widgets import UpscaleApp
upscale = UpscaleApp()        # the cat sample, 451x300: x2 gives 902x600
upscale.add_class("cdw-test-upscale")
upscale.run()
upscale.wait(120)
upscale
"""]


def frame_box(page):
    return page.locator(".cdw-test-uncrop .cdw-uncrop-frame").bounding_box()


def test_drag_the_uncrop_frame_and_pick_a_variation(notebook, shot):
    nb = notebook("photo_operations", CELLS)
    page = nb.page
    run_all(page, nb.path, timeout=180)
    stage = page.locator(".cdw-test-uncrop .cdw-uncrop-stage")
    stage.wait_for(timeout=WAIT * 1000)
    # The stage, on the app's stage, shows twice the 600x400 photo's width in at most 480 CSS
    # px (its border inside): the scale is what the page shows.
    width = stage.bounding_box()["width"]
    assert 300 < width <= 480 + 0.5
    scale = (width - 2) / 1200
    before = frame_box(page)
    assert before["width"] == pytest.approx((600 + 512) * scale, abs=2)

    # Drag the left edge 50 CSS px further out: 50 / scale more photo pixels on the left.
    left = page.locator(".cdw-test-uncrop .cdw-uncrop-left")
    box = left.bounding_box()
    drag(page, left, [(box["width"] / 2, box["height"] / 2),
                      (box["width"] / 2 - 50, box["height"] / 2)], steps=8)
    def settled(code, key, want):
        """The kernel's values once ``key`` is within 3 of ``want`` (moves arrive throttled)."""
        value = kernel_value(page, nb.path, code)
        return value if abs(value[key] - want) <= 3 else None

    got = wait_until(lambda: settled("_say(left=uncrop.extends['left'].value, "
                                     "stage=uncrop.stage.extend_left, "
                                     "size=list(uncrop.new_size))", "left",
                                     256 + 50 / scale),
                     timeout=WAIT, what="the dragged extend in the kernel")
    assert got["left"] == got["stage"] == pytest.approx(256 + 50 / scale, abs=3)
    assert got["size"][0] == 600 + got["left"] + 256
    # Drag the top edge 20 CSS px inward: 20 / scale photo pixels cropped.
    up = page.locator(".cdw-test-uncrop .cdw-uncrop-up")
    box = up.bounding_box()
    drag(page, up, [(box["width"] / 2, box["height"] / 2),
                    (box["width"] / 2, box["height"] / 2 + 20)], steps=8)
    got = wait_until(lambda: settled("_say(up=uncrop.extends['up'].value)", "up",
                                     -20 / scale), timeout=WAIT, what="the crop in the kernel")
    assert got["up"] == pytest.approx(-20 / scale, abs=3)
    # The number box moves the frame back: the kernel sets, the page follows.
    kernel_run(page, nb.path, "uncrop.extends['left'].value = 0")
    wait_until(lambda: abs(frame_box(page)["x"] - (stage.bounding_box()["x"] + 1 + 300 * scale))
               < 2
               or None, timeout=WAIT, what="the frame's left edge back on the photo's")
    shot("uncrop-frame", page.locator(".cdw-test-uncrop"), docs_name="uncrop_frame.png")

    # The Reimagine grid: two takes, pick the first.
    grid = page.locator(".cdw-test-reimagine")
    grid.get_by_role("button", name="Pick 1").wait_for(timeout=WAIT * 1000)
    assert grid.locator("img").count() >= 2
    grid.get_by_role("button", name="Pick 1").click()
    picked = wait_until(lambda: settled("_say(first=reimagine.result is "
                                        "reimagine.variations[0])", "first", True),
                        timeout=WAIT, what="the picked variation in the kernel")
    assert picked["first"]

    # The magnifier: 902x600 shown 480 px wide; the lens at 1:1 pixels of the result.
    view = page.locator(".cdw-test-upscale .cdw-magnifier img")
    view.scroll_into_view_if_needed()
    wait_until(lambda: view.evaluate("i => i.complete && i.naturalWidth === 902") or None,
               timeout=WAIT, what="the upscaled picture in the magnifier")
    box = view.bounding_box()
    assert box["width"] == pytest.approx(480, abs=1)
    page.mouse.move(box["x"] + 240, box["y"] + 150)
    page.mouse.move(box["x"] + 241, box["y"] + 151, steps=2)
    scale = 480 / 902
    want_x, want_y = round(241 / scale), round(151 / scale)
    at = wait_until(lambda: settled("_say(x=upscale.magnifier.x, y=upscale.magnifier.y)", "x",
                                    want_x), timeout=WAIT, what="the lens's pixel in the kernel")
    assert at["y"] == pytest.approx(want_y, abs=3)
    after = page.locator(".cdw-test-upscale .cdw-magnifier-after")
    style = after.evaluate("e => [e.style.backgroundSize, e.style.backgroundPosition]")
    assert style[0] == "902px 600px"  # the picture at its own pixel size: 1:1
    x, y = (float(v.removesuffix("px")) for v in style[1].split())
    lens = 180
    assert (x, y) == (pytest.approx(lens / 2 - at["x"] - lens / 2, abs=2),
                      pytest.approx(lens / 2 - at["y"], abs=2))
    shot("magnifier", page.locator(".cdw-test-upscale"), docs_name="upscale_magnifier.png")
    assert not page.console_errors  # type: ignore[attr-defined]
