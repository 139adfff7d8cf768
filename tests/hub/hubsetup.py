"""What the hub test shares: its users, the Studio notebook, the hub configuration, `Hub`."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "browser"))
from servers import CHROMIUM, CHROMIUM_ARGS, chromium_missing, free_port

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "CREDITS", "GROUP", "Hub", "STUDIO_NOTEBOOK", "answers",
           "chromium_missing", "free_port", "hub_config", "proxy_command"]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
GROUP = "workshop"
CREDITS = 10
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

STUDIO_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "studio", "metadata": {},
               "outputs": [], "source": (
                   "from clipdrop_widgets import Studio\n"
                   "studio = Studio()\n"
                   "studio.add_class('cdw-test-studio')\n"
                   "for _app in studio.apps.values():\n"
                   "    _app.run_button.add_class('cdw-test-run')\n"
                   "studio")}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def proxy_command() -> str | None:
    local = REPO / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


@dataclass
class Hub:
    url: str  # the proxy's public address
    api: str  # the hub's REST API, through the proxy
    gateway: str  # the gateway's own address (what the users' servers get)
    db: Path  # the gateway's seats
    root: Path
    driver_token: str
    log: Path

    def call(self, method: str, path: str, body: object = None) -> object:
        """The hub's REST API with the driver service's token; the answer's JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.driver_token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None


def hub_config(root: Path, ports: dict[str, int], driver_token: str, data_dir: str) -> str:
    python = sys.executable
    gateway = [python, "-m", "clipdrop_widgets", "gateway", "serve", "--db",
               str(root / "room.db"), "--host", "127.0.0.1", "--port", str(ports["gateway"]),
               "--hub", "--hub-group", GROUP, "--hub-credits", str(CREDITS)]
    lab_settings = root / "jupyter-config"
    (lab_settings / "labconfig").mkdir(parents=True)
    (lab_settings / "labconfig" / "default_setting_overrides.json").write_text(json.dumps({
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                         "checkForUpdates": False}}))
    settings = {
        "ip": "127.0.0.1", "port": ports["public"], "hub_ip": "127.0.0.1",
        "hub_port": ports["hub"], "proxy_api": ports["proxy_api"], "gateway": gateway,
        "gateway_url": f"http://127.0.0.1:{ports['gateway']}", "root": str(root),
        "proxy": proxy_command(), "singleuser": str(VENV_BIN / "jupyterhub-singleuser"),
        "driver_token": driver_token, "data_dir": data_dir, "group": GROUP,
        "config_dir": str(lab_settings), "path": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    return f"S = {json.dumps(settings)}\n" + """
c.JupyterHub.ip = S["ip"]
c.JupyterHub.port = S["port"]
c.JupyterHub.hub_ip = S["hub_ip"]
c.JupyterHub.hub_port = S["hub_port"]
c.JupyterHub.db_url = "sqlite:///" + S["root"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = S["root"] + "/cookie_secret"
c.ConfigurableHTTPProxy.command = [S["proxy"]]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % S["proxy_api"]
c.ConfigurableHTTPProxy.pid_file = S["root"] + "/proxy.pid"
c.JupyterHub.redirect_to_server = False  # logging in starts no server by itself
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"teacher"}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = S["root"] + "/home/{username}"
c.Spawner.cmd = [S["singleuser"]]
c.Spawner.args = ["--allow-root", "--LabApp.expose_app_in_browser=True",
                  "--LabApp.news_url=None",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 90
c.Spawner.start_timeout = 90
# What the teacher adds: where the gateway is. The hub itself sets JUPYTERHUB_API_TOKEN.
c.Spawner.environment = {"CLIPDROP_HUB_GATEWAY": S["gateway_url"],
                         "CLIPDROP_DATA_DIR": S["data_dir"],
                         "JUPYTER_CONFIG_DIR": S["config_dir"], "PATH": S["path"]}
c.JupyterHub.load_groups = {S["group"]: {"users": ["alice", "bob"]}}
c.JupyterHub.services = [
    {"name": "clipdrop-gateway", "url": S["gateway_url"], "command": S["gateway"],
     "oauth_no_confirm": True,
     "environment": {"CLIPDROP_DATA_DIR": S["data_dir"], "PATH": S["path"]}},
    {"name": "driver", "api_token": S["driver_token"]},
]
c.JupyterHub.load_roles = [
    {"name": "clipdrop-gateway", "services": ["clipdrop-gateway"], "scopes": ["read:users"]},
    # Users may use the gateway, and their servers' tokens carry that access (docs/jupyterhub.md).
    {"name": "user", "scopes": ["self", "access:services!service=clipdrop-gateway"]},
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server",
                                  "access:services!service=clipdrop-gateway"]},
    {"name": "driver", "services": ["driver"],
     "scopes": ["admin:users", "admin:servers", "tokens", "read:users"]},
]
"""


def answers(url: str, *, ok_only: bool = False) -> bool:
    """``url`` answers (with any status; ``ok_only``: with 200)."""
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return not ok_only
    except OSError:
        return False


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


@contextmanager
def running_hub(root: Path, data_dir: Path) -> Iterator[Hub]:
    """A hub configured by `hub_config` in ``root`` until the block ends; then it is stopped
    by its PID (SIGTERM; SIGKILL of its process group after STOP_TIMEOUT s) and every port it
    used must be closed. ``data_dir``: the session folder its users' Studios write to."""
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


