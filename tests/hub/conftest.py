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
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubsetup import (
    CHROMIUM,
    CHROMIUM_ARGS,
    START_TIMEOUT,
    STOP_TIMEOUT,
    VENV_BIN,
    Hub,
    answers,
    chromium_missing,
    free_port,
    hub_config,
    proxy_command,
)


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Hub]:
    if proxy_command() is None:
        message = ("configurable-http-proxy not found (bash scripts/install-hub-proxy installs "
                   "it from npm)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true the hub test must run", pytrace=False)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("hub")
    ports = {name: free_port() for name in ("public", "hub", "proxy_api", "gateway")}
    driver_token = secrets.token_hex(24)
    config = root / "jupyterhub_config.py"
    config.write_text(hub_config(root, ports, driver_token, str(data_dir)))
    log = root / "jupyterhub.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTERHUB_", "CLIPDROP_API"))}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    with log.open("wb") as out:
        process = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(config)],
                                   cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{ports['public']}"
    handle = Hub(url, url + "/hub/api", f"http://127.0.0.1:{ports['gateway']}",
                 root / "room.db", root, driver_token, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        # Ready when the proxy routes the hub's API (200) and the gateway answers (401).
        while not (answers(url + "/hub/api/", ok_only=True)
                   and answers(handle.gateway + "/gateway/v1/seat")):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the hub did not start:\n" + log.read_text()[-4000:])
            time.sleep(0.5)
        yield handle
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        proxy_pid = root / "proxy.pid"
        if proxy_pid.exists():  # the hub stops its proxy; a hub killed mid-start may not
            _stop_pid(int(proxy_pid.read_text()))
        deadline = time.monotonic() + STOP_TIMEOUT
        while (left := [name for name, port in ports.items()
                        if answers(f"http://127.0.0.1:{port}/")]) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not left, f"still listening after the hub stopped: {left}"


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
