"""Fixtures of the browser suite: Chromium, a JupyterLab server, Voila servers, notebooks.

* ``browser`` (module): Debian's Chromium through Playwright. When ``/usr/bin/chromium`` is
  missing the tests are skipped, except under ``CI=true`` where they fail.
* ``lab`` (module): one JupyterLab on a free loopback port with a random token, in temporary
  config/data/runtime/settings/workspace directories. Each test opens its own notebook, hence
  its own kernel, shut down after the test; after each module every kernel is shut down and
  the notebooks, settings (a theme a test chose) and workspaces are removed.
* Chromium, JupyterLab and Notebook 7 are started once and shared by the browser modules
  (starting them again was 15-65 s of each module's setup), and stopped by PID as soon as the
  last browser test is done (``pytest_runtest_teardown``): they do not live on through the
  rest of the suite. A browser module run after that starts them again.
* ``notebook`` (function): ``notebook(name, cells)`` writes a notebook (the prelude of
  ``labpage.PRELUDE`` first), opens it in a fresh page and waits for its kernel.
* ``notebook7`` (module) and ``nb7`` (function): the same two for Notebook 7 (its pages are
  driven through the same ``window.jupyterapp`` as JupyterLab's).
* ``voila`` (function): ``voila(name, cells)`` serves a notebook with Voila in its default
  mode (the notebook runs before the page connects) and returns the server; stopped after.
* ``shot`` (function): ``shot(name, target)`` saves a screenshot in ``tests/browser/screenshots``
  and returns its pixels; ``shot(..., docs_name="name.png")`` also writes it (in 256 colours)
  to ``$CDW_DOCS_IMAGES`` when that is set (``make_screenshots.py`` does this for
  ``docs/images``).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from labpage import PRELUDE, open_notebook, screenshot_rgba
from PIL import Image
from servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    chromium_missing,
    start_lab,
    start_notebook7,
    start_voila,
    write_notebook,
)

SCREENSHOTS = Path(__file__).parent / "screenshots"
VIEWPORT = {"width": 1400, "height": 1400}


#: Chromium and the Jupyter servers shared by the browser modules, with what stops each.
_SHARED: dict[str, object] = {}
_STOPS: list[Callable[[], None]] = []


def _shared(name: str, start: Callable[[], tuple[object, Callable[[], None]]]) -> object:
    """The shared ``name``, started by ``start`` unless running (a server that died in an
    earlier module is started again)."""
    value = _SHARED.get(name)
    if isinstance(value, Server) and value.proc.poll() is not None:
        del _SHARED[name]
    if name not in _SHARED:
        value, stop = start()
        _SHARED[name] = value
        _STOPS.append(stop)
    return _SHARED[name]


def _stop_shared() -> None:
    """Stop the servers, then Chromium (the reverse of their starts)."""
    _SHARED.clear()
    while _STOPS:
        _STOPS.pop()()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last browser test in a row (hooks of this conftest see only browser tests),
    stop what they shared: the rest of the suite runs without Chromium and Jupyter."""
    yield
    here = Path(__file__).parent
    if nextitem is None or here not in Path(nextitem.path).parents:
        _stop_shared()


def pytest_sessionfinish() -> None:
    _stop_shared()  # an interrupted run


def _start_browser() -> tuple[object, Callable[[], None]]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS, timeout=60_000)
    except BaseException:
        playwright.stop()
        raise

    def stop() -> None:
        try:
            chromium.close()
        finally:
            playwright.stop()
    return chromium, stop


@pytest.fixture(scope="module")
def browser() -> object:
    if chromium_missing():
        message = (f"Chromium not found at {CHROMIUM} (bash scripts/install-chromium "
                   "installs Debian's)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the browser tests must run", pytrace=False)
        pytest.skip(message)
    return _shared("browser", _start_browser)


def _start_jupyter(start: Callable[[Path, Path], Server], root: Path,
                   ) -> tuple[object, Callable[[], None]]:
    server = start(root / "notebooks", root / "home")
    server.extra["root"] = str(root / "notebooks")
    return server, server.stop


def _clean_after_module(server: Server) -> None:
    """What one module leaves in a shared server, gone before the next: kernels, notebooks,
    settings (a theme a test switched to) and workspaces (the tabs a page had open)."""
    _delete_sessions(server)
    for folder in (Path(server.extra["root"]), server.home / "user-settings",
                   server.home / "workspaces"):
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def lab(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _shared("lab", lambda: _start_jupyter(start_lab, tmp_path_factory.mktemp("lab")))
    assert isinstance(server, Server)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            _clean_after_module(server)


@pytest.fixture(scope="module")
def notebook7(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _shared("notebook7", lambda: _start_jupyter(
        start_notebook7, tmp_path_factory.mktemp("notebook7")))
    assert isinstance(server, Server)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            _clean_after_module(server)


@pytest.fixture
def page(browser, request):  # type: ignore[no-untyped-def]
    # a test marked ``touch`` gets a touch device (touch events, pointerType "touch")
    touch = request.node.get_closest_marker("touch") is not None
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, has_touch=touch)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]  # uncaught exceptions: tests assert
    logged: list[str] = []  # console.error lines: printed for the report of a failed test
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on("console", lambda m: logged.append(m.text[:500]) if m.type == "error" else None)
    try:
        yield page
    finally:
        if logged:
            print("browser console errors:", *logged, sep="\n  ")
        context.close()


def _delete_sessions(lab: Server) -> None:
    """Shut down every kernel the tests started in ``lab`` (REST API), so none keeps running."""
    try:
        with urllib.request.urlopen(lab.url("api/sessions"), timeout=10) as response:
            sessions = json.load(response)
        for session in sessions:
            request = urllib.request.Request(lab.url(f"api/sessions/{session['id']}"),
                                             method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()
    except OSError:
        pass


@dataclass
class Notebook:
    """An open notebook: its path (relative to the lab root) and the page showing it."""

    path: str
    page: object
    lab: Server
    route: str = "lab/tree"  # Notebook 7: "notebooks"

    def url(self) -> str:
        return self.lab.url(f"{self.route}/{self.path}")


@pytest.fixture
def notebook(lab: Server, page: object) -> Iterator[Callable[[str, list[str]], Notebook]]:
    def make(name: str, cells: list[str]) -> Notebook:
        path = f"{name}.ipynb"
        write_notebook(Path(lab.extra["root"]) / path, [PRELUDE, *cells])
        nb = Notebook(path, page, lab)
        open_notebook(page, nb.url(), path)  # type: ignore[arg-type]
        return nb

    try:
        yield make
    finally:
        _delete_sessions(lab)


#: What Notebook 7.6 itself throws while loading, before any cell runs (its shortcuts plugin
#: reads the settings schema of a plugin not loaded yet): not ours, and not a widget's.
NOTEBOOK7_OWN_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)


@pytest.fixture
def nb7(notebook7: Server, page: object) -> Iterator[Callable[[str, list[str]], Notebook]]:
    """``nb7(name, cells)``: a notebook opened in Notebook 7, kernel idle. The page's errors
    from Notebook 7's own start (:data:`NOTEBOOK7_OWN_ERRORS`, nothing else) are dropped then,
    so a test's ``page.console_errors`` holds only what happened after."""

    def make(name: str, cells: list[str]) -> Notebook:
        path = f"{name}.ipynb"
        write_notebook(Path(notebook7.extra["root"]) / path, [PRELUDE, *cells])
        nb = Notebook(path, page, notebook7, route="notebooks")
        open_notebook(page, nb.url(), path)  # type: ignore[arg-type]
        errors = page.console_errors  # type: ignore[attr-defined]
        unknown = [e for e in errors if not e.startswith(NOTEBOOK7_OWN_ERRORS)]
        assert not unknown, f"Notebook 7 failed to load the notebook: {unknown}"
        errors.clear()
        return nb

    try:
        yield make
    finally:
        _delete_sessions(notebook7)


@pytest.fixture
def voila(browser: object, tmp_path: Path) -> Iterator[Callable[[str, list[str]], Server]]:
    servers: list[Server] = []

    def make(name: str, cells: list[str], *, page: str = "voila",
             env: dict[str, str] | None = None, options: Sequence[str] = ()) -> Server:
        path = write_notebook(tmp_path / "notebooks" / f"{name}.ipynb", cells)
        server = start_voila(path, tmp_path / f"home-{len(servers)}", page=page, env=env,
                             options=options)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[..., np.ndarray]:
    SCREENSHOTS.mkdir(exist_ok=True)
    docs = os.environ.get("CDW_DOCS_IMAGES")

    def take(name: str, target: object, *, docs_name: str | None = None) -> np.ndarray:
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        pixels = screenshot_rgba(target, path)  # type: ignore[arg-type]
        if docs and docs_name:
            Path(docs).mkdir(parents=True, exist_ok=True)
            # 256 colours, dithered: a third of the bytes, no visible loss at README size
            picture = Image.fromarray(pixels).quantize(
                colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
            picture.save(Path(docs) / docs_name, optimize=True)
        return pixels

    return take
