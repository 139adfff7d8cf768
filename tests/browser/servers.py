"""JupyterLab, Voila and Chromium for the browser tests and the latency benchmark.

Everything here runs on loopback with a random token, in temporary config, data and runtime
directories (nothing in the venv or the home directory is touched), and every server is stopped
by its PID with a wait for the process to exit. Recipes: ``/work/shared/RECIPES.md``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "Server",
    "chromium_missing",
    "free_port",
    "start_lab",
    "start_notebook7",
    "start_voila",
    "write_notebook",
]

#: Debian's Chromium; Playwright never downloads a browser here.
CHROMIUM = os.environ.get("CDW_CHROMIUM", "/usr/bin/chromium")
#: Flags that keep headless Chromium off the (closed) network and quiet.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
#: Seconds a server gets to answer after it was started.
START_TIMEOUT = 60.0
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0

_VENV_BIN = Path(sys.executable).parent
# JupyterLab's news and update checks off, without touching the venv: JupyterLab layers
# <config dir>/labconfig/default_setting_overrides.json over every plugin's defaults.
_LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
}


def chromium_missing() -> bool:
    return not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK))


def free_port() -> int:
    """A TCP port free on loopback right now (the server is started with port_retries=0, so
    a port taken in between is an error, and :func:`_start` tries another)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started JupyterLab or Voila process."""

    kind: str
    proc: subprocess.Popen[bytes]
    port: int
    token: str
    home: Path
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the server (and its process group: kernels), wait for exit, else SIGKILL."""
        if self.proc.poll() is None:
            # Jupyter servers shut their kernels down on SIGTERM; the process group catches
            # any kernel left behind.
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        _signal_group(self.proc.pid, signal.SIGKILL)  # stray kernels of this group, if any

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                      ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython")):
        path = home / sub
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PATH"] = f"{_VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("CLIPDROP_API_KEY", None)  # the kernels use the local engine unless told otherwise
    env.pop("CLIPDROP_API_URL", None)
    overrides = home / "config" / "labconfig" / "default_setting_overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(_LAB_OVERRIDES))
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError):
        return False


def _start(kind: str, command: list[str], home: Path, ready_path: str, *,
           timeout: float = START_TIMEOUT, attempts: int = 3,
           extra_env: dict[str, str] | None = None) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = {**_env(home), **(extra_env or {})}
    last_log = ""
    for attempt in range(attempts):
        port, token = free_port(), secrets.token_hex(16)
        argv = [a.format(port=port, token=token) for a in command]
        log_path = home / f"{kind}-{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=home, start_new_session=True)
        server = Server(kind, proc, port, token, home, log_path)
        server.extra["env"] = extra_env or {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _ready(server.url(ready_path)):
                return server
            time.sleep(0.25)
        server.stop()
        last_log = server.log()
        if "address already in use" not in last_log.lower():
            break
    raise RuntimeError(f"{kind} did not start within {timeout:.0f} s; its log:\n{last_log[-4000:]}")


def start_lab(root_dir: Path, home: Path) -> Server:
    """JupyterLab serving ``root_dir``, ready (``/api/status`` answers), ``window.jupyterapp``
    exposed; settings and workspaces in ``home`` so no earlier session's tabs come back."""
    root_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(_VENV_BIN / "jupyter-lab"), "--allow-root", "--no-browser", "--ip=127.0.0.1",
        "--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root_dir}",
        "--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={home / 'user-settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--ServerApp.terminals_enabled=False",
    ]
    return _start("lab", command, home, "api/status")


def start_notebook7(root_dir: Path, home: Path) -> Server:
    """Notebook 7 serving ``root_dir`` (a notebook opens at ``notebooks/<name>``), ready
    (``/api/status`` answers), ``window.jupyterapp`` exposed as in JupyterLab, so the same
    page helpers drive it (Notebook 7 is built from JupyterLab's parts)."""
    root_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(_VENV_BIN / "jupyter-notebook"), "--allow-root", "--no-browser",
        "--ServerApp.ip=127.0.0.1", "--port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}", "--IdentityProvider.token={token}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        f"--JupyterNotebookApp.user_settings_dir={home / 'user-settings'}",
        f"--JupyterNotebookApp.workspaces_dir={home / 'workspaces'}",
        "--ServerApp.terminals_enabled=False",
    ]
    return _start("notebook7", command, home, "api/status")


def start_voila(notebook: Path, home: Path, *, progressive: bool = False,
                theme: str = "light", page: str = "voila",
                env: dict[str, str] | None = None, options: Sequence[str] = ()) -> Server:
    """Voila serving ``notebook`` in its default mode (the notebook runs before the page
    connects) unless ``progressive``, in its ``theme`` (``"light"`` or ``"dark"``); ready when
    its static files answer. ``page="voila"``: Voila's own page (its ``lab`` template), as a
    user's ``voila notebook.ipynb`` shows it; ``page="studio"``: the page
    ``clipdrop-widgets studio`` serves (its template, its front end where it fits, its
    extension list and preloads), not preheated. ``env``: more variables for the server;
    ``options``: more of its command-line options."""
    command = [
        str(_VENV_BIN / "voila"), str(notebook), "--no-browser", "--port={port}",
        "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--token={token}",
        f"--progressive_rendering={progressive}", f"--theme={theme}", *options,
    ]
    extra_env = None
    if page == "studio":
        from clipdrop_widgets import cli

        config = home / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "voila.py").write_text(cli.VOILA_PRELOAD)
        command += ["--template=clipdrop", *cli.VOILA_FAST_START]
        extra_env = {"JUPYTER_PATH": str(Path(cli.__file__).with_name("share"))}
    elif page != "voila":
        raise ValueError(f"page must be 'voila' or 'studio', got {page!r}")
    extra_env = {**(extra_env or {}), **(env or {})}  # ``env``: more for the server
    return _start("voila", command, home, "voila/static/voila.js", extra_env=extra_env)


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code ``cells`` (not executed) at ``path``."""
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": source} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path
