"""The smaller things a person meets in the first hour (issue 9): the rules in the same words
as the refusal, Before/After labels, Show on an older result, saving, a bad folder."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from test_apps import click_run, fill_inputs

from clipdrop_widgets import Client, Studio
from clipdrop_widgets.apps import CleanupApp, TextToImageApp
from clipdrop_widgets.apps._photo import describe_rules
from clipdrop_widgets.apps._status import error_text
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.contract.errors import InputError
from clipdrop_widgets.contract.validation import ImageFacts, check_file
from clipdrop_widgets.widgets import CompareSlider, HistoryStrip, PromptBox

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


# -- the rules line and the refusal speak the same words ---------------------------------------

def test_a_huge_photo_is_refused_by_the_limit_the_rules_line_shows() -> None:
    field = ENDPOINTS["cleanup"].image_field
    assert describe_rules(field) == "Photo: JPEG or PNG · at most 16 megapixels · at most 30 MB"
    with pytest.raises(InputError) as info:  # 10000x10000: over 16 and over the hard 64
        check_file(field, ImageFacts("png", 10_000, 10_000, "RGB", 1_000_000))
    assert str(info.value) == ("image_file is 10000x10000 (100.0 megapixels); the limit is 16 "
                               "megapixels")  # the client's own words keep the wire name
    assert info.value.rule == "max_megapixels"


def test_the_apps_flag_and_status_use_the_fields_label_not_its_wire_name() -> None:
    app = CleanupApp(Client())
    app.chooser.load(png((4100, 4100), "L"), name="big.png")  # 16.8 megapixels
    note, rules = app.chooser._note.value, app.chooser._rules.value
    assert "at most 16 megapixels" in rules and "MP" not in rules
    assert ("Run will refuse it: photo is 4100x4100 (16.8 megapixels); the limit is 16 "
            "megapixels") in note
    assert "image_file" not in note
    fill_inputs(app)
    click_run(app)
    assert app.status == ("Not sent: photo is 4100x4100 (16.8 megapixels); the limit is 16 "
                          "megapixels.")


def test_a_mask_of_another_size_is_named_in_the_apps_words() -> None:
    with pytest.raises(InputError) as info:
        Client().text_inpainting(Image.new("RGB", (64, 48)), Image.new("L", (10, 10)), "x")
    text = error_text(info.value)
    assert text.startswith("Not sent: mask is 10x10 but photo is 64x48") and "_file" not in text


# -- the compare view ----------------------------------------------------------------------------

def test_the_compare_view_labels_its_halves_only_while_comparing() -> None:
    view = CompareSlider(max_width=256, max_height=256)
    assert view.label_text == "" and view._label_row.layout.display == "none"
    before, after = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    view.set_images(before, after)
    assert view.label_text == "Before | After"
    assert view._label_row.layout.display == ""
    row = view._label_row.value
    assert row.index("Before") < row.index("After")  # before on the left, as drawn
    view.set_images(None, after)  # a result alone: nothing to label
    assert view.label_text == "" and view._label_row.layout.display == "none"
    view.set_images(before, after, labels=("cat", "dog"))
    assert view.label_text == "cat | dog"


def test_an_apps_compare_view_says_before_and_after() -> None:
    app = CleanupApp(Client())
    fill_inputs(app)
    click_run(app)
    assert app.compare.label_text == "Before | After"
    assert app.compare._label_row in app.compare.children


# -- Show on an older result ---------------------------------------------------------------------

def test_show_on_an_older_result_shows_its_prompt_status_and_outlines_its_card() -> None:
    studio = Studio(Client())
    app = studio.apps["text_to_image"]
    assert isinstance(app, TextToImageApp)
    app.prompt.value = "a red fox"
    click_run(app)
    older = app.result
    app.prompt.value = "a blue whale"
    click_run(app)
    newer = app.result
    strip = studio.history
    assert strip.chosen is newer
    assert strip._cards[0].layout.border.startswith("2px solid #")
    assert "transparent" not in strip._cards[0].layout.border
    assert "transparent" in strip._cards[1].layout.border

    studio.select("cleanup")
    strip._cards[1].children[2].children[0].click()  # Show under the older card
    assert studio.current is app and app.result is older
    assert app.compare.after is older.image
    assert app.prompt.value == "a red fox"
    assert app.status.startswith("Showing the result of ") and "offline preview" in app.status
    assert strip.chosen is older
    assert "transparent" in strip._cards[0].layout.border
    assert "transparent" not in strip._cards[1].layout.border
    # Both cards keep the same outer size: the strip does not jump.
    assert {c.layout.padding for c in strip._cards} == {"2px"}


# -- saving ---------------------------------------------------------------------------------------

def test_a_bad_folder_is_said_in_plain_words(tmp_path: Path) -> None:
    studio = Studio(Client())
    app = studio.apps["text_to_image"]
    fill_inputs(app)
    click_run(app)
    strip = studio.history
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    strip._folder.value = str(blocker / "results")
    strip._save_all.click()
    message = strip.errors.message
    assert message == (f"Cannot save in the folder {str(blocker / 'results')!r}: a part of "
                       "that path is a file, not a folder. Type another folder in \"Save to\".")
    assert "Errno" not in message
    strip._folder.value = str(tmp_path / "ok")
    strip._save_all.click()
    assert strip.errors.message == "" and len(os.listdir(tmp_path / "ok")) == 1


def test_save_then_save_all_writes_each_result_once(tmp_path: Path) -> None:
    studio = Studio(Client())
    app = studio.apps["text_to_image"]
    for prompt in ("one", "two", "three"):
        app.prompt.value = prompt
        click_run(app)
    strip: HistoryStrip = studio.history
    strip._folder.value = str(tmp_path)
    strip._cards[1].children[2].children[1].click()  # Save under one card
    strip._save_all.click()
    strip._save_all.click()
    assert len(os.listdir(tmp_path)) == 3


# -- the prompt box ------------------------------------------------------------------------------

def test_the_recall_menu_keeps_its_width_and_the_text_area_its_border() -> None:
    box = PromptBox(1000)
    width = box._recall.layout.width
    box.remember("a" * 200)
    box.remember("b")
    assert box._recall.layout.width == width and "px" in width  # not sized by its options
    assert box._text.layout.width == "auto"  # 100% plus the widget's margins overflowed


def test_the_photo_rules_name_every_format_the_upload_takes() -> None:
    """Issue 21: the upload took WebP while the line beside it said "JPEG or PNG"."""
    from clipdrop_widgets.apps._photo import PhotoChooser

    chooser = PhotoChooser(ENDPOINTS["cleanup"].image_field)
    words = chooser._rules.value
    assert "WebP" in words and "JPEG" in words and "PNG" in words
    assert set(chooser._upload.upload_rules.formats) == {"png", "jpeg", "webp"}


def test_saving_names_the_real_folder_not_a_dot(tmp_path: Path, monkeypatch) -> None:
    """Issue 21: "Saved 5 files in ." did not say where "." was (the launcher's hidden
    folder); the line names the folder in full."""
    monkeypatch.chdir(tmp_path)
    client = Client()
    strip = HistoryStrip()
    for prompt in ("a fox", "a heron"):
        strip.add(client.text_to_image(prompt))
    strip.save(folder=".")
    assert f"Saved 2 files in {tmp_path}" in strip._status.value
    strip.save(0, folder="out")
    assert str(tmp_path / "out") in strip._status.value


# -- no label says "null" on hover -----------------------------------------------------------
def test_every_labelled_control_has_a_tooltip_so_no_label_says_null() -> None:
    """ipywidgets' front end sets a labelled control's ``title`` to its tooltip even when it
    has none: hovering "Save to", "Sample" or "Left %" in JupyterLab, Notebook 7 or Voila's
    page showed "null", and a screen reader read it as the label's description (page22b
    #4). Every control the package makes with a label carries a tooltip."""
    import inspect

    import ipywidgets as widgets
    from ipywidgets.widgets.widget_description import DescriptionWidget

    import clipdrop_widgets
    from clipdrop_widgets.widgets import MaskPainter
    from clipdrop_widgets.widgets.closing import reached

    built = []
    for name in clipdrop_widgets.__all__:
        cls = getattr(clipdrop_widgets, name)
        if inspect.isclass(cls) and issubclass(cls, widgets.Widget) and \
                not inspect.isabstract(cls) and name not in ("App", "MaskPainter",
                                                             "GatewayDashboard"):
            built.append(cls())
    built.append(MaskPainter(Image.new("RGB", (64, 48))))
    explorer = next(w for w in built if type(w).__name__ == "PromptExplorer")
    explorer.template.value = "a {animal} in {style}"  # its value boxes
    seen: set[int] = set()
    while tabs := [w for w in reached(built) if isinstance(w, widgets.Tab) and id(w) not in seen]:
        for tab in tabs:  # every app of every group (a group's tabs come when it is chosen)
            seen.add(id(tab))
            for index in range(len(tab.children)):
                tab.selected_index = index
    labelled = [w for w in reached(built) if isinstance(w, DescriptionWidget) and w.description]
    assert len(labelled) > 30
    assert [(type(w).__name__, w.description) for w in labelled if w.tooltip is None] == []
