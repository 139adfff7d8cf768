"""A picture too large for the operation is offered a smaller copy, in Voila (issue 21).

A 4000x3000 phone picture uploaded to Replace background (2048 pixels a side) got "Run will
refuse it" and no way forward. Here it arrives (the upload no longer refuses pixels), the app
shows **Shrink to 2048x1536**, a click makes the kernel's photo 2048x1536, and Run then makes
a result of that size.
"""

from __future__ import annotations

import pytest
from labpage import wait_until
from photos import PhotoPage, app_cell, photo_png

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

WAIT = 60.0


def test_a_4000x3000_upload_to_replace_background_is_shrunk_and_runs(voila, page, tmp_path):
    out = tmp_path / "probe"
    picture = photo_png(tmp_path / "phone 4000x3000.png", (4000, 3000))
    server = voila("shrink", [app_cell("ReplaceBackgroundApp", out)])
    page.goto(server.url(), timeout=120_000)
    page.locator(".cdw-test-probe").first.wait_for(timeout=120_000)
    pp = PhotoPage(page, out)

    line = pp.upload(picture)  # taken, not refused
    assert picture.name in line
    state = pp.wait_state(lambda s: s["size"] == [4000, 3000], what="the photo in the kernel")
    assert "Run will refuse it" in state["note"]
    button = page.locator(".cdw-test-app .cdw-shrink").first
    button.wait_for(timeout=WAIT * 1000)
    assert button.inner_text().strip() == "Shrink to 2048x1536"
    button.click()
    state = pp.wait_state(lambda s: s["size"] == [2048, 1536], what="the shrunk photo")
    assert "shrunk from 4000x3000" in state["note"] and "Run will refuse" not in state["note"]
    wait_until(lambda: not button.is_visible() or None, timeout=WAIT, what="the offer to go")

    page.locator(".cdw-test-app textarea").first.fill("a beach at dawn")
    page.get_by_role("button", name="Run").first.click()
    state = pp.wait_state(lambda s: "Done in" in s["status"], what="the run to finish")
    assert not page.console_errors
