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


SLOW_STUDIO = """\
import io, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from PIL import Image
from clipdrop_widgets import Client, Studio

_png = io.BytesIO()
Image.new("RGB", (64, 64), "red").save(_png, "PNG")
PNG = _png.getvalue()

class Slow(BaseHTTPRequestHandler):  # the service, answering in 5 s (10 s for "green")
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(10 if b"green" in body else 5)
        self.send_response(200)
        for name, value in (("Content-Type", "image/png"), ("x-credits-consumed", "1"),
                            ("x-remaining-credits", "99"), ("Content-Length", str(len(PNG)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = Client(api_key="slow-test-key-0123456789abcdef",
                base_url=f"http://127.0.0.1:{server.server_port}")
studio = Studio(client, session_dir=SESSION)
studio.add_class("cdw-test-studio")
studio
"""


@pytest.mark.parametrize("front_end", ["own", "voila"])
def test_leaving_during_a_run_asks_and_the_paid_result_reaches_the_session(
        voila, page, tmp_path, front_end):  # type: ignore[no-untyped-def]
    """page22 #1: a reload (or a closed tab) while a Run was in flight shut the page's kernel
    down within seconds: the answer, charged by the service, never reached the session. The
    launcher's page (its own front end, and Voila's as it falls back to) now asks first and,
    left anyway, keeps the kernel until the run has ended into the session folder."""
    session = tmp_path / "session"
    server = voila("slow-run", [SLOW_STUDIO.replace("SESSION", repr(str(session)))],
                   page="studio", env={"CLIPDROP_STUDIO_PAGE": front_end})
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.type), d.accept()))
    page.goto(server.url(), timeout=WAIT * 1000)
    studio = page.locator(".cdw-test-studio")
    studio.wait_for(timeout=WAIT * 1000)
    studio.locator(".cdw-app:visible textarea").first.fill("a red square")
    studio.locator(".cdw-app:visible button.cdw-run").first.click()
    wait_until(lambda: studio.locator("button.cdw-run:disabled").count() or None, timeout=30,
               what="the Run in flight")
    page.reload(timeout=WAIT * 1000)
    assert asked == ["beforeunload"]  # the browser's own "Leave site?"
    lines = session / "session.jsonl"
    wait_until(lambda: (lines.is_file() and "text_to_image" in lines.read_text()) or None,
               timeout=30, what="the paid result in the session folder")
    # page22b #2: left the moment Run is pressed, before the kernel has disabled it (the
    # request may be on its way already): asked too, and the result lands too
    studio.locator(".cdw-app:visible textarea").first.fill("a blue square")
    studio.locator(".cdw-app:visible button.cdw-run").first.click()
    page.reload(timeout=WAIT * 1000)
    assert asked == ["beforeunload", "beforeunload"]
    wait_until(lambda: "a blue square" in lines.read_text() or None, timeout=30,
               what="the second paid result in the session folder")
    # page22b #2: Cancel after the request went out: its answer is awaited (charged, kept
    # in the history); the page asks and keeps the kernel for it too
    studio.locator(".cdw-app:visible textarea").first.fill("a green square")
    studio.locator(".cdw-app:visible button.cdw-run").first.click()
    pressed = time.monotonic()
    wait_until(lambda: studio.locator("button.cdw-run:disabled").count() or None, timeout=30,
               what="the third Run in flight")
    page.wait_for_timeout(500)  # the request is out
    studio.locator(".cdw-app:visible button.cdw-cancel").first.click()
    wait_until(lambda: studio.locator("button.cdw-run:disabled").count() == 0 or None,
               timeout=30, what="Run usable after Cancel")
    # past the moment a pressed Run counts as in flight (3 s): the awaited answer asks
    page.wait_for_timeout(max(0, 3.3 - (time.monotonic() - pressed)) * 1000)
    assert time.monotonic() - pressed < 9, "the answer (in 10 s) may have come already"
    page.reload(timeout=WAIT * 1000)
    assert asked == ["beforeunload"] * 3
    wait_until(lambda: "a green square" in lines.read_text() or None, timeout=30,
               what="the cancelled run's paid answer in the session folder")
