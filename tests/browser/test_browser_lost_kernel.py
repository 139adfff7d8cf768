"""A page whose kernel has gone says so (issue 21).

After the server restarted under an open Voila page, typing and Run did nothing and the status
still said "Ready". Here the Studio's page stays quiet while its kernel answers; then the server
is stopped and started again on the same address (its kernels are gone), and within 5 s the
page shows that the connection is lost, with what to do.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from labpage import wait_until
from servers import Server, _env, _ready

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

WAIT = 120.0
LOST = ".cdw-connection-lost"


def restart(server: Server) -> Server:
    """Stop ``server`` and start the same command again (same port, same token)."""
    server.stop()
    argv = [str(a) for a in server.proc.args]
    log_path = server.home / "voila-restarted.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                env={**_env(server.home), **server.extra.get("env", {})},
                                cwd=server.home,
                                start_new_session=True)
    return Server(server.kind, proc, server.port, server.token, server.home, log_path)


@pytest.mark.parametrize("front_end", ["voila", "studio"])
def test_a_restarted_server_shows_a_lost_connection_within_5_s(voila, page, front_end):
    """Voila's own page, and the page ``clipdrop-widgets studio`` serves."""
    server = voila("lost-kernel", ["""\
from clipdrop_widgets import Studio
studio = Studio()
studio.add_class("cdw-test-studio")
studio
"""], page=front_end)
    page.goto(server.url(), timeout=WAIT * 1000)
    studio = page.locator(".cdw-test-studio")
    studio.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(4500)  # longer than the 3 s without an answer that means "lost"
    assert page.locator(LOST).count() == 0  # a live kernel answers: no banner

    stopped_at = time.monotonic()
    again = restart(server)
    try:
        wait_until(lambda: page.locator(LOST).count() == 1 or None,
                   timeout=max(0.1, 5.0 - (time.monotonic() - stopped_at)),
                   what="the lost connection to be shown, 5 s after the server stopped")
        print(f"shown {time.monotonic() - stopped_at:.1f} s after the server was stopped")
        assert page.locator(LOST).is_visible()
        words = page.locator(LOST).inner_text()
        assert words.startswith("Lost the connection to the kernel")
        assert "Reload the page" in words
        wait_until(lambda: _ready(again.url("voila/static/voila.js")), timeout=60,
                   what="the restarted server")
        page.wait_for_timeout(2000)
        assert page.locator(LOST).count() == 1  # still lost: that kernel is gone for good
    finally:
        again.stop()


def test_a_page_whose_kernel_is_gone_before_it_connects_says_so(voila, page):
    """The launcher's page: a kernel the server no longer has (restarted, or culled before the
    page connected) is said at once, where the widgets would be, not "Loading widget..." while
    the websocket retries for minutes. Here the server answers the page's question about its
    kernel with a 404 and the kernel's websocket is closed, as they are then."""
    server = voila("gone-kernel", ["""\
from clipdrop_widgets import Studio
studio = Studio()
studio.add_class("cdw-test-studio")
studio
"""], page="studio")
    asked: list[str] = []

    def gone(route):  # type: ignore[no-untyped-def]
        asked.append(route.request.url)
        route.fulfill(status=404, content_type="application/json",
                      body='{"message": "Kernel does not exist"}')

    page.route(re.compile(r"/api/kernels/[0-9a-f-]+(\?.*)?$"), gone)
    page.route_web_socket(re.compile(r"/api/kernels/[0-9a-f-]+/channels"),
                          lambda ws: ws.close())
    page.goto(server.url(), timeout=WAIT * 1000)
    told = page.locator(".cdw-page-kernel-gone")
    told.first.wait_for(timeout=30_000)
    assert asked, "the page never asked about its kernel"
    words = told.first.inner_text()
    assert words.startswith("This page's kernel is gone") and "Reload the page" in words
    assert told.first.get_attribute("role") == "alert"  # a screen reader hears it
    assert page.locator(".cdw-test-studio").count() == 0
