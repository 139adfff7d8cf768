"""Restore settings in JupyterLab, in Chromium: a picture carrying its record, dropped on the
Studio's Cleanup photo as a drag from the desktop delivers it, offers Restore settings; the
click brings back Text to image with the picture's prompt."""

from __future__ import annotations

import base64
import warnings

import pytest
from labpage import kernel_value, run_all, wait_until
from test_browser_inputs import JS_SEND_FILE

from clipdrop_widgets import Client
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.records import recorded_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0


def test_a_dropped_picture_restores_its_settings(notebook, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        made = Client().text_to_image("a kingfisher on a branch", format="jpeg")
    picture = recorded_bytes(made)
    nb = notebook("restore", [f"""\
from clipdrop_widgets import Studio
studio = Studio(session_dir={str(tmp_path / "session")!r})
studio.add_class("cdw-test-studio")
studio.select("cleanup")
studio
"""])
    page = nb.page
    run_all(page, nb.path)
    stack = ".cdw-test-studio .widget-gridbox:has(canvas.cdw-ink)"
    page.locator(stack).first.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(500)  # the drop zone is set up once the view is in the page
    page.evaluate(JS_SEND_FILE, [stack, "drop", base64.b64encode(picture).decode(),
                                 "kingfisher.jpg", "image/jpeg"])
    button = page.locator(".cdw-test-studio .cdw-restore-settings")
    wait_until(lambda: button.is_visible() or None, timeout=WAIT,
               what="Restore settings to be offered")
    assert "a kingfisher on a branch" in page.locator(".cdw-test-studio").inner_text()
    button.click()
    state = wait_until(lambda: (s := kernel_value(page, nb.path, """\
_say(app=studio.current.endpoint_name, prompt=studio.current.prompt.value,
     format=studio.current.format.value)
"""))["app"] == "text_to_image" and s, timeout=WAIT, what="the settings to come back")
    assert state == {"app": "text_to_image", "prompt": "a kingfisher on a branch",
                     "format": "jpeg"}
    wait_until(lambda: "Restored: Text to image, prompt, format" in
               page.locator(".cdw-test-studio").inner_text() or None, timeout=WAIT,
               what="the line to say what came back")
    assert not page.console_errors, page.console_errors
