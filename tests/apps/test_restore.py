"""Restore settings: a picture carrying its record, uploaded into the Studio, brings back its
app, prompt, options and the photo it was made from (when the session holds it)."""

from __future__ import annotations

import numpy as np
import pytest

from clipdrop_widgets import Studio
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
    assert "photo" in studio.restore._note.value


def test_a_picture_without_a_record_offers_nothing(tmp_path):
    studio = Studio(session_dir=tmp_path / "s")
    made = studio._client.text_to_image("a heron")
    studio.select("cleanup").chooser._on_upload("plain.png", made.data)  # no record inside
    assert studio.restore.layout.display == "none" and studio.restore.record is None
