"""Restore settings: a picture carrying its record, uploaded into the Studio, brings back its
app, prompt, options and the photo it was made from (when the session holds it)."""

from __future__ import annotations

import html

import numpy as np
import pytest

from clipdrop_widgets import Studio, read_record
from clipdrop_widgets.api.records import recorded_bytes

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def test_a_dropped_prompt_picture_restores_its_app_and_prompt(tmp_path):
    studio = Studio(session_dir=tmp_path / "s")
    made = studio._client.text_to_image("a heron in the reeds", format="jpeg")
    cleanup = studio.select("cleanup")
    assert studio.restore.layout.display == "none"
    cleanup.chooser._on_upload("heron.jpg", recorded_bytes(made))  # as an upload or a drop
    assert studio.restore.layout.display == ""
    assert "Text to image" in studio.restore._note.value
    assert "a heron in the reeds" in studio.restore._note.value
    studio.restore.button.click()
    assert studio.current.endpoint_name == "text_to_image"
    assert studio.current.prompt.value == "a heron in the reeds"
    assert studio.current.format.value == "jpeg"
    assert "Restored: Text to image, prompt, format" in studio.restore._note.value


def test_a_dropped_edit_restores_its_options_and_the_photo_from_the_session(tmp_path):
    studio = Studio(session_dir=tmp_path / "s")
    app = studio.select("cleanup")
    photo = app.chooser.data  # the sample photo
    mask = np.zeros((app.chooser.image.height, app.chooser.image.width), dtype=bool)
    mask[20:80, 20:80] = True
    edit = studio._client.cleanup(photo, mask, mode="quality")
    studio.history.add(edit)  # kept in the session with its photo
    app.mode.value = ""
    studio.select("text_to_image")
    studio.select("replace_background").chooser._on_upload(
        "edit.png", recorded_bytes(edit))
    studio.restore.restore()
    assert studio.current.endpoint_name == "cleanup"
    assert app.mode.value == "quality"
    assert app.chooser.data == edit.files["image_file"]  # the photo before the edit
    assert np.array_equal(np.asarray(app.painter.mask) > 0, mask)  # its mask, painted back
    assert "photo, mask" in studio.restore._note.value


def test_a_dropped_sketch_result_puts_its_sketch_back_on_the_pad(tmp_path):
    studio = Studio(session_dir=tmp_path / "s")
    sketch = np.zeros((512, 512), np.uint8)
    sketch[100:200, 150:300] = 255  # white on black, as the pad draws
    made = studio._client.sketch_to_image(sketch, "a wooden house")
    studio.history.add(made)  # the session keeps the sketch among its inputs
    app = studio.select("sketch_to_image")
    assert not np.asarray(app.pad.to_image(512)).any()  # the pad starts empty
    studio.select("cleanup").chooser._on_upload("house.png", recorded_bytes(made))
    words = studio.restore.restore()
    assert studio.current is app and app.prompt.value == "a wooden house"
    drawn = np.asarray(app.pad.to_image(512).convert("L")) > 127
    assert np.array_equal(drawn, sketch > 0)
    assert "sketch" in words


def test_a_picture_without_a_record_offers_nothing(tmp_path):
    studio = Studio(session_dir=tmp_path / "s")
    made = studio._client.text_to_image("a heron")
    studio.select("cleanup").chooser._on_upload("plain.png", made.data)  # no record inside
    assert studio.restore.layout.display == "none" and studio.restore.record is None


def test_numbers_and_free_options_come_back_and_a_seed_is_kept(tmp_path):
    """Uncrop's extends and seed, Upscale's size and Remove background's transparency: every
    option the app has a control for, also from a record that kept numbers as text."""
    studio = Studio(session_dir=tmp_path / "s")
    client = studio._client
    photo = client.text_to_image("a fox")
    uncropped = client.uncrop(photo, extend_left=64, extend_right=0, extend_down=32, seed=7)
    studio.select("cleanup").chooser._on_upload("u.png", recorded_bytes(uncropped))
    words = studio.restore.restore()
    app = studio.current
    assert app.endpoint_name == "uncrop"
    assert {s: b.value for s, b in app.extends.items()} == {
        "left": 64, "right": 0, "up": 0, "down": 32}
    assert app.seed.value == 7 and not app.new_seed.value  # Run sends this seed again
    assert "seed" in words and "extend_left" in words

    record = read_record(recorded_bytes(client.upscale(photo, 96, 80)))
    record["options"] = {k: str(v) for k, v in record["options"].items()}  # as text, as before
    studio.restore.offer(record)
    studio.restore.restore()
    assert studio.current.scale.value == "size"
    assert (studio.current.width.value, studio.current.height.value) == (96, 80)

    cut = client.remove_background(photo, transparency_handling="discard_alpha_layer")
    studio.restore.offer(read_record(recorded_bytes(cut)))
    studio.restore.restore()
    assert studio.current.transparency.value == "discard_alpha_layer"


@pytest.mark.parametrize("broken, named", [
    ({"options": [1, 2]}, "its options (not a JSON object)"),
    ({"inputs": "abc"}, "its inputs (not a JSON object)"),
    ({"inputs": {"image_file": "abc"}}, "input 'image_file' (no SHA-256)"),
    ({"prompt": "x" * 100_000}, "its prompt (100000 characters; Text to image takes at most"),
    ({"prompt": {"a": 1}}, "its prompt (not text)"),
    ({"options": {"format": "gif", "seed": 3}}, "option format 'gif' is not one"),
])
def test_a_record_of_the_wrong_shape_restores_what_is_valid_and_names_the_rest(
        tmp_path, broken, named):
    studio = Studio(session_dir=tmp_path / "s")
    good = read_record(recorded_bytes(studio._client.text_to_image("a heron", format="jpeg")))
    app = studio.select("text_to_image")
    app.prompt.value = "what the user typed"
    studio.restore.offer({**good, **broken})  # no traceback from the drop
    assert studio.restore.layout.display == ""
    assert named in html.unescape(studio.restore._note.value)
    words = studio.restore.restore()  # no traceback from the button either
    assert words.startswith("Restored: Text to image") and named in words
    if "prompt" in broken:  # what the user had is kept, not replaced by what is refused
        assert app.prompt.value == "what the user typed"
        assert len(studio.restore._note.value) < 2000  # the note does not show 100,000 chars
    else:
        assert app.prompt.value == "a heron"


@pytest.mark.parametrize("record", [
    {"operation": ["text_to_image"], "prompt": "a"},
    {"operation": 5},
    ["not", "an", "object"],
])
def test_a_record_naming_no_known_operation_offers_nothing(tmp_path, record):
    studio = Studio(session_dir=tmp_path / "s")
    studio.restore.offer(record)
    assert studio.restore.layout.display == "none" and studio.restore.record is None
