"""One stage per app (issue 22), without a browser: what the stage shows before and after a run,
Keep, Discard and Send to under a result, and the picture's shape handed to the page's CSS.

The page geometry itself (picture, Run and status inside the window) is measured in Chromium
by ``tests/browser/test_browser_layout.py``.
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pytest
from fault_server import Action, FaultServer
from PIL import Image

from clipdrop_widgets import Client, Studio
from clipdrop_widgets.apps import (
    CleanupApp,
    PortraitDepthApp,
    PortraitNormalsApp,
    ReimagineApp,
    RemoveBackgroundApp,
    ReplaceBackgroundApp,
    SketchToImageApp,
    TextInpaintingApp,
    TextToImageApp,
    UncropApp,
    UpscaleApp,
)
from clipdrop_widgets.apps._base import App
from clipdrop_widgets.apps._stage import STAGE_CSS
from clipdrop_widgets.widgets._painting import Painter
from clipdrop_widgets.widgets.a11y import PageHelper
from clipdrop_widgets.widgets.sendto import origin
from clipdrop_widgets.widgets.upload import simulate_upload

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

APP_CLASSES = (TextToImageApp, SketchToImageApp, CleanupApp, TextInpaintingApp,
               ReplaceBackgroundApp)


def shown(widget) -> bool:  # type: ignore[no-untyped-def]
    return widget.layout.display != "none"


def painters(app: App) -> list[Painter]:
    return [w for w in app._stage.children if isinstance(w, Painter)]


def run_once(app: App) -> None:
    if isinstance(app, SketchToImageApp):
        app.pad.add_stroke([(100, 100), (400, 300)], width=12)
    if hasattr(app, "painter"):
        w, h = app.painter.image.size
        app.painter.add_stroke([(0.3 * w, 0.5 * h), (0.7 * w, 0.5 * h)], width=w / 10)
    if app.prompt is not None and not app.prompt.value:
        app.prompt.value = "a red boat on a lake"
    app.run_button.click()
    assert app.wait(60), app.status
    assert app.result is not None, app.status


def ratio_rules(app: App) -> dict[str, float]:
    css = app._stage._ratios.value
    return {name: float(value) for name, value in re.findall(r"--cdw-(\w+)-ratio: ([\d.]+)", css)}


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_the_stage_holds_the_picture_and_the_panel_the_controls(cls: type[App]) -> None:
    app = cls()
    stage, panel = app.children[1].children
    assert "cdw-stage" in stage._dom_classes and "cdw-panel" in panel._dom_classes
    assert app.compare in stage.children
    assert app.run_button in panel.children[-3].children  # the Run row, above the status
    assert "cdw-status" in app._status._dom_classes
    if cls in (SketchToImageApp, CleanupApp, TextInpaintingApp):
        # the photo or sketch is painted on the stage; the compare view waits for a result
        assert painters(app) and all(shown(p) for p in painters(app))
        assert not shown(app.compare)
    else:
        assert not painters(app) and shown(app.compare)
    assert not shown(app._stage.staging)
    assert app._stage.staging.children == ()  # Keep, Discard...: made with the first result
    assert STAGE_CSS in app.children[0].value


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_a_result_takes_the_stage_with_keep_discard_and_send_to(cls: type[App]) -> None:
    app = cls()
    run_once(app)
    assert app._stage.showing == "result"
    assert shown(app.compare) and not any(shown(p) for p in painters(app))
    staging = app._stage.staging
    assert shown(staging)
    made = list(staging.children)  # by the run, before any button is asked for below
    assert [app._stage.keep_button, app._stage.discard_button, app.compare.download_button,
            app.send_to] == made
    assert [b.description for b in made[:3]] == ["Keep", "Discard", "Download"]
    assert app.compare.download_button not in app.compare.children[:-1]  # in the row only
    assert shown(app.compare.download_button)


@pytest.mark.parametrize("cls", [CleanupApp, TextInpaintingApp, ReplaceBackgroundApp])
def test_keep_works_on_the_result_next(cls: type[App]) -> None:
    app = cls()
    run_once(app)
    result = app.result
    app._stage.keep_button.click()
    assert app._stage.showing == "input"
    assert app.chooser.origin is not None  # the photo is now the result's picture
    assert np.array_equal(np.asarray(app.chooser.image), np.asarray(result.image))
    if hasattr(app, "painter"):
        assert app.painter.coverage == 0 and shown(app.painter)
    assert app.history.results[-1] is result  # kept in the history too


@pytest.mark.parametrize("cls", APP_CLASSES)
def test_discard_goes_back_to_the_inputs_and_the_history_keeps_the_result(
        cls: type[App]) -> None:
    app = cls()
    run_once(app)
    result = app.result
    photo = app.chooser.image if hasattr(app, "chooser") else None
    app._stage.discard_button.click()
    assert app.result is None and app._stage.showing == "input"
    assert not shown(app._stage.staging)
    assert app.compare.after is None
    assert result in app.history.results  # nothing the user made is lost
    if photo is not None:
        assert app.chooser.image is photo
    if painters(app):
        assert all(shown(p) for p in painters(app)) and not shown(app.compare)
    if isinstance(app, CleanupApp):
        assert app.painter.coverage > 0  # the mask is still there to change and run again


def test_send_to_shows_the_target_app_painting_the_result() -> None:
    studio = Studio()
    t2i = studio.apps["text_to_image"]
    run_once(t2i)
    studio.send(t2i.result, "cleanup")
    cleanup = studio.apps["cleanup"]
    assert cleanup._stage.showing == "input" and shown(cleanup.painter)


def test_keep_discard_and_send_to_say_so_and_hand_the_focus_to_a_stage(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Findings 22c F8: the pressed button hides with the result, so the page is asked to move
    the keyboard focus to a stage (the browser side: test_browser_a11y.py), and the status line
    (a live region) says what happened, Discard included."""
    focused: list[object] = []
    monkeypatch.setattr(PageHelper, "send", lambda helper, msg, buffers=None: focused.append(
        (helper, msg)))
    studio = Studio()
    t2i, cleanup = studio.apps["text_to_image"], studio.apps["cleanup"]
    run_once(t2i)
    t2i._stage.keep_button.click()  # no picture to work on: the inputs come back
    assert "Result kept in the history" in t2i.status
    run_once(t2i)
    t2i._stage.discard_button.click()
    assert t2i.status.startswith("Result discarded: back to the inputs")
    assert focused == [(t2i._stage.helper, {"focus": "stage"})] * 2
    run_once(t2i)
    t2i.send_to.send("cleanup")  # what its "Send to Cleanup" button does
    assert studio.current is cleanup and focused[-1] == (cleanup._stage.helper,
                                                         {"focus": "stage"})
    assert cleanup.status.startswith("Photo from Text to image")


@pytest.mark.parametrize("size", [(1600, 1600), (1500, 2000), (2400, 800)])
def test_the_pictures_shape_reaches_the_page(size: tuple[int, int]) -> None:
    """The CSS fits the picture to the window from its aspect ratio, given per stage."""
    w, h = size
    cleanup, background = CleanupApp(), ReplaceBackgroundApp()
    for app in (cleanup, background):
        app.chooser.load(Image.new("RGB", size, "gray"))
    assert ratio_rules(cleanup)["paint"] == pytest.approx(w / h, rel=0.01)
    assert ratio_rules(background)["compare"] == pytest.approx(w / h, rel=0.01)
    assert cleanup._stage._uid in cleanup._stage._ratios.value
    assert cleanup._stage._uid != background._stage._uid


def test_the_compare_frames_shape_follows_the_result() -> None:
    app = CleanupApp()
    app.chooser.load(Image.new("RGB", (2400, 800), "gray"))
    run_once(app)
    assert ratio_rules(app)["compare"] == pytest.approx(3.0, rel=0.01)


@pytest.mark.parametrize("cls", [CleanupApp, TextInpaintingApp])
def test_a_mask_made_without_a_mouse(cls: type[App]) -> None:
    """The keyboard path: four edges in percent, Mask rectangle; undoable; an empty
    rectangle is refused in words, nothing masked."""
    app = cls()
    keys = app.rectangle_keys
    panel = app.children[1].children[1]
    assert keys in panel.children  # in the side panel, not on the stage
    w, h = app.painter.image.size
    assert keys._body.layout.display == "none"  # folded until asked for
    keys.toggle.value = True
    assert keys._body.layout.display == ""
    for field, value in zip(keys.edges, (10, 20, 60, 70), strict=True):
        field.value = value
    keys.button.click()
    mask = np.asarray(app.painter.mask) > 0
    assert app.painter.coverage == pytest.approx(0.5 * 0.5, abs=0.01)
    assert mask[int(0.45 * h), int(0.35 * w)] and not mask[int(0.1 * h), int(0.05 * w)]
    assert "25 % masked" in app._stage.helper.picture
    app.painter.undo()
    assert app.painter.coverage == 0
    keys.edges[2].value = 10  # Right on Left: no area, refused in words
    keys.button.click()
    assert app.painter.coverage == 0 and "Left and Right are equal" in keys.errors.message


@pytest.mark.parametrize("edges", [(60, 20, 10, 70), (10, 70, 60, 20), (60, 70, 10, 20)])
def test_a_keyboard_rectangle_takes_its_edges_in_either_order(
        edges: tuple[int, int, int, int]) -> None:
    """Right under Left (or Bottom above Top) is the same span, as a rectangle dragged
    leftwards: it was refused, and the user saw nothing masked."""
    app = CleanupApp()
    keys = app.rectangle_keys
    w, h = app.painter.image.size
    for field, value in zip(keys.edges, edges, strict=True):
        field.value = value
    keys.button.click()
    mask = np.asarray(app.painter.mask) > 0
    assert app.painter.coverage == pytest.approx(0.5 * 0.5, abs=0.01)
    assert mask[int(0.45 * h), int(0.35 * w)] and not mask[int(0.1 * h), int(0.05 * w)]
    assert keys.errors.message == ""


def test_the_uncrop_frame_is_the_stages_picture() -> None:
    """Uncrop's frame is painted where the picture is largest, not in the side panel: its
    shape reaches the page, its words say the frame, and a result takes its place."""
    app = UncropApp()
    stage, panel = app.children[1].children
    assert app.stage in stage.children and app.stage not in panel.children
    assert shown(app.stage) and not shown(app.compare)
    app.chooser.load(Image.new("RGB", (1500, 2000), "gray"))
    assert ratio_rules(app)["paint"] == pytest.approx(0.75, rel=0.01)
    app.extends["left"].value = 100
    assert app._stage.helper.picture.startswith(
        "Photo, 1500x2000 pixels, in a frame of 1856x2000 pixels (left +100")
    run_once(app)
    assert app._stage.showing == "result" and not shown(app.stage) and shown(app.compare)
    app._stage.discard_button.click()
    assert shown(app.stage) and not shown(app.compare)


@pytest.mark.parametrize("cls", [RemoveBackgroundApp, UpscaleApp, ReimagineApp,
                                 PortraitDepthApp, PortraitNormalsApp])
def test_the_photo_only_apps_words_follow_a_new_photo(cls: type[App]) -> None:
    """The compare frame's words name the photo just chosen, of any size (they lagged one
    photo behind)."""
    app = cls()
    for size in [(900, 600), (450, 300), (1500, 2000)]:
        app.chooser.load(Image.new("RGB", size, "gray"))
        assert app._stage.helper.compare == f"Photo, {size[0]}x{size[1]} pixels"


def cutout() -> Image.Image:
    """A remove-background answer: a red subject on the right, the left half see-through."""
    image = Image.new("RGBA", (320, 240), (200, 30, 30, 255))
    image.paste((0, 0, 0, 0), (0, 0, 160, 240))
    return image


def shows_a_checkerboard(picture: Image.Image, box: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` of ``picture`` is the stage's white and light grey squares, both."""
    colours = {tuple(c) for c in np.asarray(picture.convert("RGB").crop(box)).reshape(-1, 3)}
    return colours == {(255, 255, 255), (204, 204, 204)}


@pytest.mark.parametrize("cls", [CleanupApp, UpscaleApp, UncropApp])
def test_a_see_through_photo_is_shown_over_a_checkerboard(cls: type[App]) -> None:
    """A cut-out kept or sent on from Remove background: its transparent pixels show the
    checkerboard on the stage (the painter, the compare view, the uncrop frame), not flat
    black; its opaque pixels stay as they are."""
    app = cls()
    app.chooser.load(cutout())
    if isinstance(app, UncropApp):
        picture = Image.open(io.BytesIO(app.stage.image))
    elif hasattr(app, "painter"):
        picture = app.painter.snapshot()
    else:
        picture = app.compare.snapshot()
    w, h = picture.size
    width = h * 4 // 3  # the 4:3 photo fills the frame's height, centred
    left = (w - width) // 2
    assert shows_a_checkerboard(picture, (left + 2, 2, left + width // 2 - 4, h - 2))
    red = np.asarray(picture.convert("RGB"))[h // 2, left + 3 * width // 4]
    assert red[0] > 150 and red[1] < 80, red


def test_a_new_result_is_shown_with_the_divider_back_in_the_middle() -> None:
    """Walk 22c #5: the divider moved to an end (End: "100 %: all before") hid the next run's
    result entirely; each new result puts it back to 50 %, the slider (and so the words a
    keyboard user hears) with it."""
    app = CleanupApp()
    run_once(app)
    for end in (1.0, 0.0):  # End: all before; Home: all after
        app.compare.position = end
        assert app.compare._slider.value == end * 100
        first = app.result
        run_once(app)
        assert app.result is not first
        assert app.compare.position == 0.5 and app.compare._slider.value == 50


def test_a_failed_run_says_the_picture_shown_is_the_earlier_result() -> None:
    """Walk 22c #6: after a successful Run, a Run the service refused (402) left the earlier
    result on the stage, with Keep and Discard, under "Failed (402)" as if it were the failed
    run's. The status now says whose it is (its time), and Keep still works on it alone."""
    with FaultServer(default=Action.image(content_type="image/png")) as srv:
        app = CleanupApp(Client(base_url=srv.url, max_retries=0))
        run_once(app)
        earlier = app.result
        assert earlier is not None and app._stage.showing == "result"
        srv.script(Action.error(402, "Not enough credits"))
        app.run_button.click()
        assert app.wait(30)
    stamp = time.strftime("%H:%M:%S", time.localtime(earlier.created))
    assert app.status.startswith("Failed (402): Not enough credits."), app.status
    assert app.status.endswith(f"The picture shown is the earlier result, of {stamp} (Keep "
                               "and Discard act on it)."), app.status
    assert app.result is earlier and app.history.results == (earlier,)  # nothing lost
    assert app._stage.showing == "result" and shown(app._stage.keep_button)
    app._stage.keep_button.click()  # Keep: the earlier result becomes the photo
    assert app.chooser.origin == origin(earlier)
    # a failure while the photo (no result) is on the stage says nothing of a result
    app.run_button.click()  # the mask is empty on the kept photo: refused before sending
    assert app.wait(5)
    assert app.status.startswith("Not sent:") and "earlier result" not in app.status


def _jpeg(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def test_an_upload_run_will_refuse_is_refused_in_the_status_line_too() -> None:
    """Walk 22c #7: a 5000x4000 upload (20 MP, over Cleanup's 16) was flagged under the photo
    while the status line, the one a screen reader hears, said "paint over …, then Run"."""
    app = CleanupApp()
    assert simulate_upload(app.chooser._upload, "pano.jpg", _jpeg((1200, 400))) == ""
    assert "then Run" in app.status and "refuse" not in app.status
    assert simulate_upload(app.chooser._upload, "big20mp.jpg", _jpeg((5000, 4000))) == ""
    assert app.chooser.problem is not None
    status = app.status
    assert status.startswith("Photo big20mp.jpg (uploaded, 5000x4000): Run will refuse it: "
                             "photo is 5000x4000 (20.0 megapixels); the limit is 16 "
                             "megapixels."), status
    assert "then Run" not in status
    assert f"Press {app.chooser.shrink_label} for a copy that fits" in status
    assert "Back to pano.jpg brings it back" in status  # what it replaced is still kept
    assert "&#9888;" in app._status.value  # amber, with the warning sign
    # the next photo that fits says "then Run" again
    assert simulate_upload(app.chooser._upload, "small.jpg", _jpeg((800, 600))) == ""
    assert "then Run" in app.status and "refuse" not in app.status


def test_the_loaded_line_never_names_a_photo_no_longer_on_the_stage() -> None:
    """Walk 22c #2: "Loaded "pano3x1.jpg"" stayed under Upload photo after Keep put the result
    in its place, and after Back it named the upload Back had replaced."""
    app = CleanupApp()
    upload = app.chooser._upload
    assert simulate_upload(upload, "pano3x1.jpg", _jpeg((1200, 400))) == ""
    assert upload.loaded == "pano3x1.jpg"
    run_once(app)
    assert upload.loaded == "pano3x1.jpg"  # still the photo the result was made from
    app._stage.keep_button.click()
    assert app.chooser.name.startswith("picture from Cleanup") and upload.loaded == ""
    assert simulate_upload(upload, "portrait.jpg", _jpeg((300, 400))) == ""
    assert upload.loaded == "portrait.jpg"
    app.chooser.go_back()  # Back to the kept result
    assert app.chooser.name.startswith("picture from Cleanup") and upload.loaded == ""
    assert simulate_upload(upload, "again.jpg", _jpeg((300, 400))) == ""
    app.chooser.choose_sample("coffee")  # a sample replaces it: the line goes too
    assert upload.loaded == ""
