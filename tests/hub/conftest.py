"""A real JupyterHub on loopback for the workshop test: started once per module, stopped after.

* the hub from PyPI (``jupyterhub``), its proxy from npm (``configurable-http-proxy``, installed
  by ``scripts/install-hub-proxy`` into ``.venv/hub-proxy``, or found on ``PATH``);
* the dummy authenticator (any password), the simple local spawner (servers as local
  processes, ``--allow-root``), JupyterLab in each user's server;
* the workshop gateway as a hub-managed service (``gateway serve --hub --hub-group workshop``)
  whose upstream is the local engine, in its own process;
* a ``driver`` service whose token lets the test read the hub (make a token, stop a server),
  as a teacher would with the hub's admin API.

Everything listens on 127.0.0.1 and lives in a temporary folder; the hub is stopped by its PID
(SIGTERM, then SIGKILL after a wait), and it stops its proxy, the gateway and the servers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubsetup import CHROMIUM, CHROMIUM_ARGS, Hub, chromium_missing, proxy_command, running_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Hub]:
    if proxy_command() is None:
        message = ("configurable-http-proxy not found (bash scripts/install-hub-proxy installs "
                   "it from npm)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the hub test must run", pytrace=False)
        pytest.skip(message)
    with running_hub(tmp_path_factory.mktemp("hub"), data_dir) as handle:
        yield handle


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if chromium_missing():
        message = f"Chromium not found at {CHROMIUM} (bash scripts/install-chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the hub test must run", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
