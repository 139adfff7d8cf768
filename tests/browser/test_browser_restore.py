"""Restore settings in JupyterLab, Notebook 7 and Voila, in Chromium: a picture carrying its
record, dropped on the Studio's Cleanup photo as a drag from the desktop delivers it, offers
Restore settings; the click brings back Text to image with the picture's prompt. One case
per front end, sharing the suite's servers (``notebook``, ``nb7``, ``voila``)."""

from __future__ import annotations

import base64
import warnings

import pytest
from labpage import first_visible, kernel_value, run_all, wait_until
from test_browser_inputs import JS_SEND_FILE

from clipdrop_widgets import Client
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.records import recorded_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 30.0
PROMPT = "a kingfisher on a branch"
STUDIO = """\
from clipdrop_widgets import Studio
studio = Studio(session_dir=SESSION)
studio.add_class("cdw-test-studio")
studio.select("cleanup")
studio
"""
KERNEL_STATE = """\
_say(app=studio.current.endpoint_name, prompt=studio.current.prompt.value,
     format=studio.current.format.value)
"""


@pytest.fixture(scope="module")
def picture() -> bytes:
    """A JPEG made by Text to image (the local engine), its record inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        made = Client().text_to_image(PROMPT, format="jpeg")
    return recorded_bytes(made)


def studio_cell(tmp_path) -> str:
    return STUDIO.replace("SESSION", repr(str(tmp_path / "session")))


def drop_and_restore(page, picture: bytes) -> None:
    """Drop ``picture`` on the Cleanup photo, wait for Restore settings, click it, and wait
    for the line saying what came back."""
    stack = ".cdw-test-studio .widget-gridbox:has(canvas.cdw-ink)"
    page.locator(stack).first.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(500)  # the drop zone is set up once the view is in the page
    page.evaluate(JS_SEND_FILE, [stack, "drop", base64.b64encode(picture).decode(),
                                 "kingfisher.jpg", "image/jpeg"])
    button = page.locator(".cdw-test-studio .cdw-restore-settings")
    wait_until(lambda: button.is_visible() or None, timeout=WAIT,
               what="Restore settings to be offered")
    assert PROMPT in page.locator(".cdw-test-studio").inner_text()
    button.click()
    wait_until(lambda: "Restored: Text to image, prompt, format" in
               page.locator(".cdw-test-studio").inner_text() or None, timeout=WAIT,
               what="the line to say what came back")


def kernel_restored(page, nb) -> None:
    state = wait_until(lambda: (s := kernel_value(page, nb.path, KERNEL_STATE))["app"]
                       == "text_to_image" and s, timeout=WAIT, what="the settings to come back")
    assert state == {"app": "text_to_image", "prompt": PROMPT, "format": "jpeg"}


def test_a_dropped_picture_restores_its_settings(notebook, picture, tmp_path):
    nb = notebook("restore", [studio_cell(tmp_path)])
    run_all(nb.page, nb.path)
    drop_and_restore(nb.page, picture)
    kernel_restored(nb.page, nb)
    assert not nb.page.console_errors, nb.page.console_errors


def test_restore_settings_in_notebook7(nb7, picture, tmp_path):
    nb = nb7("restore", [studio_cell(tmp_path)])
    run_all(nb.page, nb.path)
    drop_and_restore(nb.page, picture)
    kernel_restored(nb.page, nb)
    assert not nb.page.console_errors, nb.page.console_errors


def test_restore_settings_in_voila(voila, page, picture, tmp_path):
    server = voila("restore", [studio_cell(tmp_path)])
    page.goto(server.url(), timeout=120_000)
    page.locator(".cdw-test-studio").wait_for(timeout=120_000)
    drop_and_restore(page, picture)
    # no kernel to ask in Voila: what the page shows is the Text to image tab with the prompt
    current = page.locator(".cdw-test-studio .lm-TabBar-tab.lm-mod-current").first
    wait_until(lambda: "Text to image" in current.inner_text() or None, timeout=WAIT,
               what="the Text to image tab to be shown")
    prompt = first_visible(page.locator(".cdw-test-studio textarea"))
    wait_until(lambda: prompt.input_value() == PROMPT or None, timeout=WAIT,
               what="the prompt to come back in the page")
    assert not page.console_errors, page.console_errors
