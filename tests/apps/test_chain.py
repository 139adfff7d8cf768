"""Results flow on: "Send to" in the Studio (compare view and history), where the photo came
from recorded on the next result, and the empty compare view's hint. No browser: widgets are
clicked from Python (``button.click()``, a menu's value set as the browser would)."""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image
from studio_runs import made

from clipdrop_widgets import CleanupApp, Studio, TextToImageApp
from clipdrop_widgets.widgets.history import card_labels
from clipdrop_widgets.widgets.sendto import INPUT_FROM, SendTo, origin, origin_words

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.ClipdropNotice")


def buttons(send_to: SendTo) -> dict[str, object]:
    return {c.description: c for c in send_to.children if hasattr(c, "description")
            and c.description and "cdw-send-to" in c._dom_classes}


def more_menu(send_to: SendTo) -> list[str]:
    """The labels of the "More…" menu beside the buttons (targets past the first three)."""
    menus = [c for c in send_to.children if isinstance(c, widgets.Dropdown)]
    return [label for label, _ in menus[0].options] if menus else []


def test_send_from_the_compare_view_to_cleanup_then_run_records_the_origin():
    studio = Studio()
    result = made(studio)
    t2i = studio.apps["text_to_image"]
    offered = buttons(t2i.send_to)
    assert list(offered) == ["Send to Cleanup", "Send to Text inpainting",
                             "Send to Replace background"]
    assert more_menu(t2i.send_to) == ["More…", "Remove background", "Uncrop", "Upscale",
                                      "Reimagine", "Portrait depth", "Portrait normals"]
    assert t2i.send_to.layout.display == ""  # shown: a result is on screen
    offered["Send to Cleanup"].click()

    cleanup = studio.apps["cleanup"]
    assert studio.current is cleanup and studio.tabs.selected_index == 2
    # the photo is the result's bytes, as they are (not re-encoded), at its size
    assert cleanup.chooser.data == result.data
    assert cleanup.painter.image.size == result.size
    assert np.array_equal(np.asarray(cleanup.painter.image.convert("RGB")),
                          np.asarray(result.image.convert("RGB")))
    assert cleanup.painter.coverage == 0  # a new photo: an empty mask
    assert "from Text to image" in cleanup.status and "paint over" in cleanup.status

    w, h = result.size
    cleanup.painter.add_stroke([(0.3 * w, 0.5 * h), (0.7 * w, 0.5 * h)], width=w / 10)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    assert cleanup.result.inputs[INPUT_FROM] == origin(result)
    assert cleanup.result.inputs[INPUT_FROM].startswith("text_to_image result ")
    assert studio.history.results[-1] is cleanup.result
    assert card_labels(cleanup.result)["from"].startswith("from Text to image, ")
    card = studio.history._cards[0]
    assert "from Text to image" in card.children[1].value
    # the compare view compares the sent picture with the cleaned one
    assert cleanup.compare.before is cleanup.chooser.image
    assert cleanup.compare.after is cleanup.result.image


def test_send_from_a_history_card_and_a_sample_forgets_the_origin():
    studio = Studio()
    first = made(studio, "a lighthouse at dusk")
    made(studio, "an owl")  # newer: the first is now the second card
    assert studio.history.results[0] is first
    menu = studio.history._senders[first]._menu
    assert [label for label, _ in menu.options] == [
        "Send to…", "Cleanup", "Text inpainting", "Replace background", "Remove background",
        "Uncrop", "Upscale", "Reimagine", "Portrait depth", "Portrait normals"]
    before = studio.current
    menu.value = "replace_background"  # what choosing it in the page (or one ArrowDown) does
    assert studio.current is before  # choosing is not sending
    go = studio.history._senders[first]._go
    assert go.description == "Send to Replace background" and not go.disabled
    go.click()  # Send beside the menu sends
    assert menu.value == ""  # back to "Send to…"
    assert go.disabled
    app = studio.current
    assert app.endpoint_name == "replace_background"
    assert app.chooser.origin == origin(first)
    assert app.compare.before is app.chooser.image  # the photo is shown before Run
    app.run()
    assert app.wait(30) and app.result.inputs[INPUT_FROM] == origin(first)
    # Choosing a sample: the photo no longer comes from a result, nor does the next run.
    app.chooser.choose_sample("coffee")
    assert app.chooser.origin is None
    app.run()
    assert app.wait(30) and INPUT_FROM not in app.result.inputs


def test_send_refuses_what_takes_no_picture_and_a_missing_result():
    studio = Studio()
    result = made(studio)
    with pytest.raises(ValueError, match=r"cannot be sent to 'sketch_to_image'.*cleanup"):
        studio.send(result, "sketch_to_image")
    with pytest.raises(TypeError, match="takes no picture"):
        studio.apps["text_to_image"].use_result(result)
    # an app with no result yet offers nothing to send
    assert studio.apps["cleanup"].send_to.layout.display == "none"
    with pytest.raises(ValueError, match="no result to send yet"):
        studio._send_shown(studio.apps["cleanup"], "cleanup")


def test_an_app_alone_offers_no_send_and_its_history_sends_nowhere():
    app = TextToImageApp()
    app.prompt.value = "a castle"
    app.run()
    assert app.wait(30)
    assert app.send_to.targets == () and app.send_to.layout.display == "none"
    with pytest.raises(ValueError, match="can go to nothing"):
        app.history.send(0, "cleanup")  # the card's menu offers no operation


def test_a_chained_result_can_go_on_again():
    """Cleanup's result sent to Text inpainting: each result names the one before it."""
    studio = Studio()
    first = made(studio)
    cleanup = studio.send(first, "cleanup")
    w, h = first.size
    cleanup.painter.add_stroke([(0.2 * w, 0.2 * h), (0.4 * w, 0.4 * h)], width=30)
    cleanup.run()
    assert cleanup.wait(30)
    inpaint = studio.send(cleanup.result, "text_inpainting")
    inpaint.painter.add_stroke([(0.5 * w, 0.5 * h), (0.6 * w, 0.7 * h)], width=30)
    inpaint.prompt.value = "a small boat"
    inpaint.run()
    assert inpaint.wait(30), inpaint.status
    assert inpaint.result.inputs[INPUT_FROM] == origin(cleanup.result)
    assert cleanup.result.inputs[INPUT_FROM] == origin(first)
    assert origin_words(origin(cleanup.result)).startswith("from Cleanup, ")


def test_origin_words_of_other_text():
    assert origin_words("my own words") == "from my own words"


# -- first view -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [CleanupApp, TextToImageApp])
def test_the_empty_compare_view_says_what_will_appear(cls):
    app = cls()
    picture = app.compare.snapshot()
    pixels = np.asarray(picture.convert("L")).astype(int)
    h, w = pixels.shape
    middle = pixels[h // 3: 2 * h // 3, w // 8: 7 * w // 8]
    assert (middle > 120).mean() > 0.01, "no hint drawn in the empty frame"
    assert pixels[: h // 5].max() < 60 and pixels[-h // 5:].max() < 60, "hint off-centre"
    assert "appear here" in app.empty_hint
    # once a picture is shown, the hint is gone
    app.compare.set_images(None, Image.new("RGB", (64, 48), "#202020"))
    assert np.ptp(np.asarray(app.compare.snapshot().convert("L"))) < 8


def test_every_button_has_a_tooltip():
    """Every button and toggle of the Studio (all tabs, a result in the history) says what it
    does when hovered; the browser test checks the same in the page."""
    import ipywidgets as widgets

    studio = Studio()
    made(studio)
    for name in studio.apps:  # every tab built
        studio.select(name)
    missing = []

    def walk(w):
        if isinstance(w, widgets.Button) and not w.tooltip:
            missing.append(f"{type(w).__name__} {w.description!r}")
        if isinstance(w, widgets.ToggleButtons) and len(w.tooltips) != len(w.options):
            missing.append(f"ToggleButtons {w.options!r}")
        for child in getattr(w, "children", ()):
            walk(child)

    walk(studio)
    assert not missing, missing


def test_send_to_with_bytes_kept_as_sent():
    """A JPEG result goes on as JPEG bytes (the chooser sends bytes as they are)."""
    studio = Studio()
    app = studio.apps["text_to_image"]
    app.format.value = "jpeg"
    result = made(studio)
    assert result.format == "jpeg"
    target = studio.send(result, "text_inpainting")
    assert target.chooser.data == result.data
    assert Image.open(io.BytesIO(target.chooser.data)).format == "JPEG"


def test_the_session_log_line_says_where_the_photo_came_from(tmp_path):
    """The session (written as results arrive) keeps the origin in the result's line."""
    from clipdrop_widgets.api.session import Session

    studio = Studio(session_dir=tmp_path / "s")
    first = made(studio)
    cleanup = studio.send(first, "cleanup")
    w, h = first.size
    cleanup.painter.add_stroke([(0.3 * w, 0.3 * h), (0.6 * w, 0.6 * h)], width=40)
    cleanup.run()
    assert cleanup.wait(30) and cleanup.result is not None, cleanup.status
    records = Session(tmp_path / "s").records()
    assert [r["operation"] for r in records] == ["text_to_image", "cleanup"]
    assert records[-1]["options"][INPUT_FROM] == origin(first)
    assert origin(first).endswith(records[0]["sha256"][:12])  # names that line's image
    # read back (a reopened session): the card still says where the photo came from
    again = Session(tmp_path / "s").results()[-1]
    assert card_labels(again)["from"].startswith("from Text to image, ")
