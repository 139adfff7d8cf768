"""The workshop gateway's admin page in Chromium, updating by itself while a room runs.

One gateway against the strict fake of the service, one page opened with the admin token:
seats' calls appear on the page without a reload (in flight, then spent and in the request
log), the CSV export downloads, and without the token the page shows nothing.
"""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from gateway_fake import ROOM_KEY, FakeService, post

from clipdrop_widgets.gateway import Ledger, serve_gateway

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_admin_page_updates_live_and_exports_csv(browser, tmp_path: Path) -> None:
    fake = FakeService(room_key=ROOM_KEY, delay=1.5).start()
    db = tmp_path / "room.db"
    with Ledger(db) as ledger:
        (_, ada), (_, grace) = ledger.create_seats(2, 10, contacts=["Ada", "Grace"])
    gateway = serve_gateway(db, port=0, upstream=fake.url, upstream_key=ROOM_KEY,
                            admin_token="page-token", background=True)
    assert gateway is not None
    page = browser.new_page(accept_downloads=True)
    try:
        page.goto(gateway.url + "/gateway/admin")  # no token: the data never arrives
        page.wait_for_timeout(1500)
        assert page.locator("#seats tbody tr").count() == 0
        page.goto(gateway.admin_url)
        first = page.locator("#seats tbody tr").first
        first.wait_for()
        assert first.locator("td").nth(1).inner_text() == "Ada"
        assert page.locator("#room").inner_text().count("not called yet") == 1
        calls = [threading.Thread(target=post, args=(gateway.url, "/text-to-image/v1", key),
                                  kwargs={"files": {"prompt": (None, prompt)}})
                 for key, prompt in ((ada, "a fox"), (grace, "a whale"))]
        for call in calls:
            call.start()
        # In flight while the fake generates: the page shows it without a reload.
        page.wait_for_function("""() => [...document.querySelectorAll('#seats tbody tr')]
            .some(tr => tr.children[5].textContent === '1')""", timeout=10_000)
        for call in calls:
            call.join()
        page.wait_for_function("""() => document.querySelectorAll('#log tbody tr').length === 2
            && [...document.querySelectorAll('#seats tbody tr')]
               .every(tr => tr.children[3].textContent === '2')""", timeout=10_000)
        assert "up" in page.locator("#room").inner_text()
        with page.expect_download() as download:
            page.click("#csv")
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert sorted(r["seat"] for r in rows) == ["seat-01", "seat-02"]
        assert {r["status"] for r in rows} == {"200"}
        content = page.content()
        assert ROOM_KEY not in content and ada not in content and grace not in content
    finally:
        page.close()
        gateway.close()
        fake.close()
