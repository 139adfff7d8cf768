"""The Studio's Voila page makes no request off the machine and none that the server refuses
(issue 21).

Every load asked a CDN for the icon font (two failed requests, offline) and every reload logged
a 403 on the kernel shutdown call. Here ``clipdrop-widgets studio`` serves the Studio as a user
starts it; its page is loaded and reloaded: every request goes to the server it came from, none
is answered 4xx or 5xx, the server logs no 403 and shuts the first page's kernel down. The
page loads only the front-end extensions the Studio uses, its head preloads every script the
page then uses (none twice, none unused), and an app in a group tab, never opened before,
opens on its first click with a usable Run (issue 22).

Both of the launcher's pages: its own front end (``studio-page.js``, what it serves where it
fits: none of Voila's JupyterLab application is loaded) and Voila's, which it falls back to
(``CLIPDROP_STUDIO_PAGE=voila``, or an ipywidgets the page was not built for).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
from labpage import wait_until
from servers import free_port

from clipdrop_widgets.launcher.page import PAGE_ENV
from clipdrop_widgets.launcher.preload import preload_paths

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 120.0
LOCAL_SCHEMES = ("data:", "blob:")
STUDIO_EXTENSIONS = {"@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8",
                     "ipycanvas", "anywidget"}
#: The page's own front end bundles ipywidgets' manager: only the other libraries' extensions.
OWN_PAGE_EXTENSIONS = {"ipycanvas", "anywidget"}


@pytest.fixture(params=["own", "voila"])
def launcher(tmp_path, request):
    """``clipdrop-widgets studio`` on a free port: ``(address, the address it printed with
    its token, output lines)``; stopped after. Its own page, or (param ``"voila"``) Voila's."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    if request.param == "voila":
        env[PAGE_ENV] = "voila"
    env["CLIPDROP_WIDGETS_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                             str(port), "--session", str(tmp_path / "session")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                     daemon=True).start()
    try:
        wait_until(lambda: any("Voila is running at" in line or "Voilà is running at" in line
                               for line in lines) or None, timeout=WAIT,
                   what="Voila to start")
        opened = wait_until(lambda: next((m.group(1) for line in lines
                                          if (m := re.search(r"open (http\S+)", line))), None),
                            timeout=WAIT, what="the address with its token")
        yield f"http://127.0.0.1:{port}", opened, lines
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_every_request_of_the_studio_page_goes_to_its_server(launcher, page):
    base, opened, lines = launcher
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400
            else None)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(opened, timeout=WAIT * 1000)  # the address as printed, with its token
    page.locator("text=Results are saved in").first.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(4000)  # fonts, late requests, and Chromium's "preloaded, not used"
    first_load = list(requests)
    preloads = page.eval_on_selector_all('link[rel="preload"]', "ls => ls.map(l => l.href)")
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    page.reload(timeout=WAIT * 1000)  # the first page's kernel is shut down
    page.locator("text=Results are saved in").first.wait_for(timeout=WAIT * 1000)
    page.wait_for_timeout(2000)
    # A group's app is built on its first click (issue 22): it comes up in the page, in its
    # group's inner tab, with a usable Run.
    tab = page.locator(".lm-TabBar-tab")
    tab.filter(has_text="Portrait").first.click()
    tab.filter(has_text="Portrait normals").first.click()
    page.locator(".lm-TabBar-tab.lm-mod-current", has_text="Portrait normals").wait_for(
        timeout=WAIT * 1000)
    run = page.locator("button.cdw-run:visible:not([disabled])")
    wait_until(lambda: run.count() == 1 or None, timeout=WAIT, what="Portrait normals' Run")
    tab.filter(has_text="Cleanup").first.click()  # a painter: its tools and Size slider
    page.locator(".cdw-app .widget-slider").first.wait_for(state="attached",
                                                            timeout=WAIT * 1000)
    # ipywidgets' labels without a tooltip say "null" on hover; a hidden one (a control
    # without a label) is neither hovered nor read
    nulls = page.locator('[title="null"]:visible').count()
    assert len(requests) > 10  # the page and its scripts were seen
    elsewhere = [u for u in requests
                 if not u.startswith(base + "/") and not u.startswith(LOCAL_SCHEMES)]
    assert not elsewhere, elsewhere
    # the page's own shutdown call as it unloads is cut off by the reload: the browser's doing
    failed = [f for f in failed if not ("/voila/api/shutdown/" in f and "ERR_ABORTED" in f)]
    assert not failed, failed
    # only the front-end extensions the Studio's widgets use (issue 22: Jupytext's and
    # Notebook 7's scripts, loaded by Voila when installed, slowed the first view)
    extensions = {m.group(1) for u in requests
                  if (m := re.search(r"/voila/labextensions/(@[^/]+/[^/]+|[^@/][^/]*)/", u))}
    scripts = [u for u in first_load if u.endswith(".js") or ".js?" in u]
    assert page.title() == "clipdrop-widgets Studio"  # the tab's name, not "studio"
    assert nulls == 0  # every labelled control has a tooltip: Voila's page too (page22b #4)
    if "clipdropPage" in config:  # the page's own front end: none of Voila's application
        assert re.search(r"studio-page\.js\?v=[0-9a-f]{12}$", config["clipdropPage"])
        assert extensions == OWN_PAGE_EXTENSIONS, extensions
        assert not [u for u in scripts if "/voila/static/" in u], scripts
        assert base + config["clipdropPage"] in scripts
        assert preloads == [base + config["clipdropPage"],
                            *(base + p for p in config["clipdropPreload"])]
        assert len(preloads) == 1 + len(OWN_PAGE_EXTENSIONS)
    else:
        assert extensions == STUDIO_EXTENSIONS, extensions
        # The head preloads the scripts the page will use (issue 22, first paint), when the
        # record is of the installed build (else none: tests/browser/make_preload.py records it)
        recorded = preload_paths(config)
        assert preloads == [base + "/" + p for p in recorded]
        assert recorded, ("the preload record is of another build than the installed one: run "
                          "tests/browser/make_preload.py")
    unused = [u for u in preloads if u not in scripts]
    assert not unused, unused  # each one the page asked for (a preload is only a request)
    twice = sorted({u for u in scripts if scripts.count(u) > 1})
    assert not twice, twice  # and the page used the preloaded copy: none fetched again
    assert not [m for m in console if "preload" in m], console
    refused = [line for line in lines if " 403 " in line or "403 POST" in line]
    assert not refused, refused
    # and the shutdown call was taken: the first page's kernel is gone at once
    assert any("Kernel shutdown" in line for line in lines), "".join(lines)[-3000:]
