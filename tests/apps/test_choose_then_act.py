"""Choosing is not acting (issue 22's keyboard findings 12, 13, 14) and Send to keeps what it
replaces (finding 18).

A closed ``<select>`` changes its value on one ArrowDown in Chromium, so each menu's value is
set here as that key press sets it, and nothing may be sent, loaded or replaced until the
button beside the menu is pressed. No browser: widgets are clicked from Python."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from studio_runs import made

from clipdrop_widgets import Studio
from clipdrop_widgets.apps._photo import SAMPLES

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.ClipdropNotice")


def upload_bytes(size: tuple[int, int] = (300, 400)) -> bytes:
    """A photo as an upload gives it (JPEG bytes), unlike any sample."""
    y, x = np.mgrid[0:size[1], 0:size[0]]
    rgb = np.dstack([x * 255 // size[0], y * 255 // size[1], 90 + 0 * x]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def masked_upload(app, name: str = "portrait.jpg") -> tuple[bytes, np.ndarray]:
    """Upload a photo in ``app`` and mask a rectangle on it, as the user did."""
    data = upload_bytes()
    app.chooser.load(data, name=name)
    w, h = app.chooser.image.size
    app.painter.add_stroke([(0.3 * w, 0.5 * h), (0.7 * w, 0.5 * h)], width=h / 5)
    assert app.painter.coverage > 0
    return data, np.asarray(app.painter.mask)


def test_arrows_through_more_send_nothing_until_send_is_pressed():
    studio = Studio()
    result = made(studio)
    t2i = studio.apps["text_to_image"]
    more = t2i.send_to._menu
    go = t2i.send_to._go
    assert more is not None and go is not None and go.disabled
    for name in ("remove_background", "uncrop", "upscale"):  # ArrowDown, ArrowDown, ArrowDown
        more.value = name
        assert studio.current is t2i, f"choosing {name} sent the result"
    assert "upscale" not in studio._built or studio.apps["upscale"].chooser.origin is None
    assert go.description == "Send to Upscale" and not go.disabled
    go.click()
    upscale = studio.apps["upscale"]
    assert studio.current is upscale and upscale.chooser.data == result.data
    assert more.value == "" and go.disabled  # back to "More…"
    assert "then Run, then Run" not in upscale.status
    with pytest.raises(Exception, match="choose an operation"):
        t2i.send_to.send_chosen()  # nothing chosen now


def test_arrowing_the_sample_menu_keeps_the_upload_and_its_mask_until_use_sample():
    studio = Studio()
    cleanup = studio.select("cleanup")
    data, mask = masked_upload(cleanup)
    assert cleanup.chooser._samples.value is None  # blank after the upload
    cleanup.chooser._samples.value = "astronaut"  # one ArrowDown on the blank menu
    assert cleanup.chooser.data == data and cleanup.chooser.name == "portrait.jpg"
    assert np.array_equal(np.asarray(cleanup.painter.mask), mask)
    cleanup.chooser._samples.value = "coffee"  # another
    assert cleanup.chooser.data == data
    use = cleanup.chooser._use
    assert not use.disabled
    use.click()
    assert cleanup.chooser.name == "Coffee cup" and cleanup.painter.coverage == 0
    assert use.disabled  # the chosen sample is the photo now
    # and what Use sample replaced is kept (walk 22b: the upload and its mask were lost)
    assert cleanup.chooser.back_offer == "Back to portrait.jpg and its mask"
    assert "What it replaced is kept: Back to portrait.jpg and its mask" in cleanup.status
    cleanup.chooser.go_back()
    assert cleanup.chooser.data == data and cleanup.chooser.name == "portrait.jpg"
    assert np.array_equal(np.asarray(cleanup.painter.mask), mask)


def test_use_sample_over_an_untouched_sample_offers_no_back():
    studio = Studio()
    cleanup = studio.select("cleanup")
    first = cleanup.chooser.name
    other = next(k for k, label in SAMPLES.items() if label != first)
    cleanup.chooser._samples.value = other
    cleanup.chooser._use.click()
    assert cleanup.chooser.name == SAMPLES[other] != first
    assert cleanup.chooser.back_offer is None  # the menu brings the other sample back


def test_arrowing_earlier_prompts_keeps_the_typed_prompt_until_use_and_use_is_undoable():
    studio = Studio()
    made(studio, "a lighthouse at dusk")
    box = studio.apps["text_to_image"].prompt
    typed = "my long carefully written prompt about a red fox"
    box.value = typed
    box._recall.value = "a lighthouse at dusk"  # one ArrowDown on "Earlier prompts"
    assert box.value == typed
    box._use.click()
    assert box.value == "a lighthouse at dusk"
    box._undo.click()
    assert box.value == typed


def test_send_to_keeps_the_photo_and_mask_it_replaces_and_back_brings_them_exactly():
    studio = Studio()
    inpaint = studio.select("text_inpainting")
    data, mask = masked_upload(inpaint)
    inpaint.prompt.value = "a golden retriever sitting"
    cleanup = studio.select("cleanup")
    w, h = cleanup.chooser.image.size
    cleanup.painter.add_stroke([(0.2 * w, 0.5 * h), (0.6 * w, 0.5 * h)], width=h / 8)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    cleanup.send_to.send("text_inpainting")

    assert studio.current is inpaint
    assert inpaint.chooser.data == cleanup.result.data and inpaint.painter.coverage == 0
    assert inpaint.prompt.value == "a golden retriever sitting"
    assert inpaint.chooser.back_offer == "Back to portrait.jpg and its mask"
    assert ("What it replaced is kept: Back to portrait.jpg and its mask brings it back"
            in inpaint.status)

    # A second send of the untouched picture keeps the user's photo, not the first send.
    cleanup.send_to.send("text_inpainting")
    assert inpaint.chooser.back_offer == "Back to portrait.jpg and its mask"

    inpaint.chooser._back.click()
    assert inpaint.chooser.data == data and inpaint.chooser.name == "portrait.jpg"
    assert np.array_equal(np.asarray(inpaint.painter.mask), mask)
    assert inpaint.prompt.value == "a golden retriever sitting"
    # the sent picture is not lost either: one press brings it back in turn
    offer = inpaint.chooser.back_offer
    assert offer is not None and offer.startswith("Back to picture from Cleanup")
    inpaint.chooser._back.click()
    assert inpaint.chooser.data == cleanup.result.data


def test_a_painted_mask_on_a_sent_picture_is_kept_by_the_next_send():
    studio = Studio()
    first = made(studio, "an owl")
    second = made(studio, "a fox")
    cleanup = studio.send(first, "cleanup")
    w, h = cleanup.chooser.image.size
    cleanup.painter.add_stroke([(0.2 * w, 0.5 * h), (0.6 * w, 0.5 * h)], width=h / 8)
    mask = np.asarray(cleanup.painter.mask)
    studio.send(second, "cleanup")
    assert cleanup.chooser.data == second.data
    cleanup.chooser.go_back()
    assert cleanup.chooser.data == first.data
    assert np.array_equal(np.asarray(cleanup.painter.mask), mask)


def test_keep_also_keeps_the_photo_and_mask_the_result_was_made_from():
    studio = Studio()
    cleanup = studio.select("cleanup")
    data, mask = masked_upload(cleanup)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    cleanup.keep()  # the result becomes the photo, the mask starts empty
    assert cleanup.chooser.data == cleanup.result.data and cleanup.painter.coverage == 0
    assert cleanup.chooser.back_offer == "Back to portrait.jpg and its mask"
    cleanup.chooser.go_back()
    assert cleanup.chooser.data == data
    assert np.array_equal(np.asarray(cleanup.painter.mask), mask)


def test_an_upload_after_keep_says_so_and_back_goes_to_the_kept_result():
    """Walk 22b #7: after Keep, an upload left the Keep's words ("Photo from Cleanup, …: …
    Back to portrait.jpg and its mask …") in the status line under the new photo, and Back
    went past the kept result the upload replaced, to the photo before it."""
    from clipdrop_widgets.widgets.upload import simulate_upload

    studio = Studio()
    cleanup = studio.select("cleanup")
    masked_upload(cleanup)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    cleanup.keep()
    kept = cleanup.chooser.data
    assert "Back to portrait.jpg and its mask" in cleanup.status
    assert simulate_upload(cleanup.chooser._upload, "second.png",
                           _png((400, 300))) == ""  # taken
    assert cleanup.chooser.name == "second.png"
    assert cleanup.status.startswith("Photo second.png (uploaded, 400x300): paint over what "
                                     "should be removed, then Run"), cleanup.status
    assert "portrait.jpg" not in cleanup.status
    words = cleanup.chooser.back_offer
    assert words is not None and words.startswith("Back to picture from Cleanup"), words
    assert words in cleanup.status
    cleanup.chooser.go_back()
    assert cleanup.chooser.data == kept  # the kept result, not the photo before it


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_upload_under_a_shown_result_is_shown_in_its_place():
    """Walk 22b: a photo uploaded while a result was shown stayed unseen (the old before/after
    on the stage) while the mask and Run went to the new photo."""
    studio = Studio()
    cleanup = studio.select("cleanup")
    masked_upload(cleanup)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    assert cleanup._stage.showing == "result"
    shown = cleanup.result
    cleanup.chooser.load(upload_bytes((400, 300)), name="second.jpg")
    assert cleanup._stage.showing == "input"
    assert cleanup.painter.layout.display != "none" and cleanup.painter.coverage == 0
    assert shown in studio.history.results  # the result is not lost: the history has it
