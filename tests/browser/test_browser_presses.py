"""A press of Run in JupyterLab, in a real Chromium, where the page and the kernel race.

* A photo chosen with Upload photo and Run clicked at once: the run is made on that photo,
  not the one before (the press waits for the upload to be taken).
* Enter pressed twice on Run: focus has moved to Cancel, but the second press does not
  cancel the run.
* Ctrl+Enter on the Studio's own controls (a history card's Show): the selected tab's app
  runs, and the notebook cell is not run again (which made a new, empty Studio).
"""

from __future__ import annotations

import pytest
from labpage import first_visible, kernel_value, run_all, wait_until
from photos import noise_png
from test_browser_chain import RUN_NAME, STUDIO_CELL, WAIT, open_app, wait_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

UPLOAD_CELL = """\
from clipdrop_widgets import ReplaceBackgroundApp
app = ReplaceBackgroundApp()
app.add_class("cdw-test-app")
app.prompt.value = "a quiet beach at noon"
app
"""

SLOW_RUN_CELL = """\
import time
from clipdrop_widgets import Client, TextToImageApp
class _Slow(Client):  # a service that takes its time: the run is still going at the 2nd press
    def call(self, *args, **kwargs):
        time.sleep(1.5)
        return super().call(*args, **kwargs)
app = TextToImageApp(_Slow())
app.add_class("cdw-test-app")
app.prompt.value = "a lighthouse at dusk"
app
"""


def test_run_pressed_as_a_photo_uploads_runs_on_that_photo(notebook, tmp_path):
    nb, app, run_button = open_app(notebook, "upload-then-run", UPLOAD_CELL,
                                   ".cdw-upload-button")
    page = nb.page
    photo = noise_png(tmp_path / "beach.png", (1600, 1200), 7_000_000)
    with page.expect_file_chooser() as chooser:
        first_visible(app.locator(".cdw-upload-button")).click()
    chooser.value.set_files(str(photo))
    run_button.click()  # at once: the upload has only begun
    wait_runs(nb, 1)
    state = kernel_value(page, nb.path, "_say(sent=app.result.inputs['image_file'],"
                                        " shown=list(app.chooser.image.size))")
    assert state["shown"] == [1600, 1200], state
    assert "1600x1200" in state["sent"], f"the run was made on another photo: {state}"
    assert not page.console_errors, page.console_errors


def test_enter_twice_on_run_does_not_cancel_the_run(notebook):
    nb, _app, run_button = open_app(notebook, "enter-twice", SLOW_RUN_CELL, "textarea")
    page = nb.page
    run_button.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(150)  # a double press: focus is on Cancel by now
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Cancel"
    page.keyboard.press("Enter")
    wait_runs(nb, 1)
    state = kernel_value(page, nb.path, "_say(status=app.status)")
    assert state["status"].startswith("Done"), state
    # a deliberate press of Cancel later still cancels
    run_button.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(900)
    page.keyboard.press("Enter")
    wait_until(lambda: kernel_value(page, nb.path, "_say(s=app.status)")["s"].startswith(
        "Cancelled") or None, timeout=WAIT, what="the run to be cancelled")
    assert not page.console_errors, page.console_errors


def test_ctrl_enter_on_a_history_card_runs_the_tab_and_not_the_cell(notebook):
    nb = notebook("studio-ctrl-enter", [STUDIO_CELL])
    page = nb.page
    run_all(page, nb.path)
    studio = page.locator(".cdw-test-studio").first
    studio.wait_for(timeout=WAIT * 1000)
    app = first_visible(studio.locator(".widget-tab-contents > *"))
    app.locator("textarea").first.fill("a red kite over the hills")
    first_visible(app.get_by_role("button", name=RUN_NAME)).click()
    wait_until(lambda: kernel_value(page, nb.path, "_say(n=len(studio.history.results))")
               == {"n": 1} or None, timeout=WAIT, what="the first result")
    kernel_run_marker = kernel_value(page, nb.path, "_studio_before = studio\n_say(ok=True)")
    assert kernel_run_marker == {"ok": True}
    show = first_visible(studio.get_by_role("button", name="Show"))
    show.focus()
    page.keyboard.press("Control+Enter")
    wait_until(lambda: kernel_value(
        page, nb.path, "_say(n=len(studio.history.results), same=studio is _studio_before)")
        == {"n": 2, "same": True} or None, timeout=WAIT,
        what="the tab's app to run again in the same Studio")
    assert page.locator(".cdw-test-studio").count() == 1  # the cell did not run again
    assert not page.console_errors, page.console_errors
