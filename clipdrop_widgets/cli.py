"""The ``clipdrop-widgets`` command (also ``python -m clipdrop_widgets``): the local engine's
server, the Studio launcher, the demo of every operation and the workshop gateway.

Each subcommand is a function registered in `build_parser` with ``set_defaults(run=...)``;
it takes the parsed arguments and returns the exit status.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .api.constants import API_KEY_ENV, LOCAL_BASE_URL
from .contract.endpoints import ENDPOINTS
from .contract.errors import ConfigurationError

__all__ = ["build_parser", "demo", "launch_studio", "main", "studio_notebook"]

#: What one demo costs on the service: one call of each operation.
_DEMO_CREDITS = sum(e.credits for e in ENDPOINTS.values())

STUDIO_SOURCE = "from clipdrop_widgets import Studio\n\nStudio()"


def _demo_inputs() -> dict[str, Image.Image | np.ndarray]:
    """A sketch, a photo-like picture with an object, and its mask: made here, nothing fetched."""
    sketch = Image.new("L", (512, 512), 0)
    d = ImageDraw.Draw(sketch)
    d.ellipse((140, 120, 380, 400), outline=255, width=6)  # an owl's body
    d.ellipse((185, 180, 245, 240), outline=255, width=5)
    d.ellipse((275, 180, 335, 240), outline=255, width=5)
    d.line((60, 420, 460, 420), fill=255, width=8)  # the branch
    y, x = np.mgrid[0:384, 0:512]
    sky = np.dstack([90 + x * 60 // 512, 140 + y * 60 // 384, 200 + 0 * x]).astype(np.uint8)
    photo = Image.fromarray(sky, "RGB")
    ImageDraw.Draw(photo).rectangle((0, 280, 512, 384), fill=(70, 120, 60))
    ImageDraw.Draw(photo).ellipse((220, 200, 300, 300), fill=(200, 40, 40))  # the object
    mask = np.zeros((384, 512), bool)
    mask[190:310, 210:310] = True
    return {"sketch": sketch, "photo": photo, "mask": mask}


def demo(out_dir: str | os.PathLike[str], *, client: object | None = None) -> list[Path]:
    """Run all eleven operations and write inputs and results into ``out_dir`` (created).

    ``client`` defaults to the in-process local engine, even when ``CLIPDROP_API_KEY`` is set:
    a demo spends no credits unless it is given a client of the service. Returns the result
    files written.
    """
    from .api.client import Client

    c = client if client is not None else Client(base_url=LOCAL_BASE_URL)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inputs = _demo_inputs()
    inputs["sketch"].save(out / "input_sketch.png")
    inputs["photo"].save(out / "input_photo.png")
    Image.fromarray(inputs["mask"].astype(np.uint8) * 255).save(out / "input_mask.png")
    runs = {
        "text_to_image": lambda: c.text_to_image("a red fox in a snowy forest at sunset"),
        "sketch_to_image": lambda: c.sketch_to_image(inputs["sketch"], "an owl on a branch"),
        "cleanup": lambda: c.cleanup(inputs["photo"], inputs["mask"]),
        "text_inpainting": lambda: c.text_inpainting(inputs["photo"], inputs["mask"],
                                                     "a yellow balloon"),
        "replace_background": lambda: c.replace_background(inputs["photo"],
                                                           "a beach at night"),
        "remove_background": lambda: c.remove_background(inputs["photo"]),
        "uncrop": lambda: c.uncrop(inputs["photo"], extend_left=128, extend_right=128, seed=1),
        "upscale": lambda: c.upscale(inputs["photo"], 1024, 768),
        "reimagine": lambda: c.reimagine(inputs["photo"]),
        "portrait_depth": lambda: c.portrait_depth(inputs["photo"]),
        "portrait_normals": lambda: c.portrait_normals(inputs["photo"]),
    }
    written = []
    for name, run in runs.items():
        result = run()  # type: ignore[no-untyped-call]
        written.append(Path(result.save(out / name)))
        print(result.summary())
    return written


#: The Studio page's title (the browser tab's name) in Voila: not the file's name, "studio".
STUDIO_TITLE = "clipdrop-widgets Studio"


def studio_notebook(directory: str | os.PathLike[str], *,
                    session_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write a one-cell notebook showing the Studio into ``directory``; returns its path.

    With ``session_dir`` the cell is ``Studio(session_dir=...)``: every kernel that runs it
    (each Voila visitor) writes to, and shows, that one session.
    """
    source = STUDIO_SOURCE if session_dir is None else (
        "from clipdrop_widgets import Studio\n\n"
        f"Studio(session_dir={os.fspath(session_dir)!r})")
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "studio",
                   "metadata": {}, "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "title": STUDIO_TITLE},  # the browser tab's name in Voila
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = Path(directory) / "studio.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    return path


#: JupyterLab without its news pop-up and update check (it would cover the Studio).
_LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {
    "fetchNews": "false", "checkForUpdates": False}}
#: ``studio --theme``: Voila's ``--theme``; in JupyterLab, its theme of that name.
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def lab_overrides(theme: str | None) -> dict[str, object]:
    """JupyterLab's default settings for the launcher (with ``theme``, its theme)."""
    if theme is None:
        return dict(_LAB_OVERRIDES)
    return {**_LAB_OVERRIDES, "@jupyterlab/apputils-extension:themes": {"theme": THEMES[theme]}}
#: Voila's configuration (``voila.py`` in the launcher's Jupyter config folder, run by Voila
#: at start). Voila 0.5's kernel websocket reads the header of every binary message from the
#: kernel as if the connection spoke the v1 protocol; on a legacy connection (a page that
#: asked for no subprotocol) the first 8 bytes give a count of ~10**17 offsets, and its loop
#: over them holds the server's only thread: 100 % CPU, memory growing without end, SIGTERM
#: never handled. A bulk widget-state request (ipywidgets' ``request_states``: every image
#: in the Studio as binary buffers) from one page set it off. Here a count that cannot be a
#: v1 message's is not read (such a message has no header to filter on anyway).
VOILA_CONFIG = """\
# Written by clipdrop-widgets studio: bound Voila's reading of binary kernel messages.
import voila.tornado.kernel_websocket_handler as _handler

_read_header = _handler.read_header_from_binary_message


def _bounded_read_header(ws_msg):
    count = int.from_bytes(ws_msg[:8], "little")
    if not 3 <= count <= min(64, len(ws_msg) // 8 - 1):
        return None  # a legacy-protocol message: no v1 header to read
    return _read_header(ws_msg)


_handler.read_header_from_binary_message = _bounded_read_header
"""
#: Added to `VOILA_CONFIG`: the token is read from `TOKEN_ENV` once, at start, and taken out
#: of Voila's environment, so the kernels it starts later (running the user's code) do not
#: inherit it (JupyterLab's server already does so itself).
TOKEN_ONCE = """
# Written by clipdrop-widgets studio: the token, read once; kernels started later lack it.
import os as _os

if _os.environ.get("JUPYTER_TOKEN"):
    c.IdentityProvider.token = _os.environ.pop("JUPYTER_TOKEN")
"""
#: Added to `VOILA_CONFIG` when Voila listens on loopback. Voila turns off jupyter_server's
#: check of the ``Host`` header (``allow_remote_access=True``), so a web page whose name was
#: rebound to 127.0.0.1 (DNS rebinding) would be same-origin with the Studio: it could load
#: the page, open the kernel's websocket, press Run and read the session. Here every request
#: (page, kernel, websocket, static file) whose ``Host`` is not a loopback address or
#: ``localhost`` gets 403, as JupyterLab on loopback does.
VOILA_LOOPBACK_ONLY = """
# Written by clipdrop-widgets studio: on loopback, answer only a loopback Host (no DNS rebinding).
import ipaddress as _ipaddress
import re as _re

import tornado.web as _web

c.Voila.tornado_settings = {"allow_remote_access": False}  # jupyter_server's own check
_find_handler = _web.Application.find_handler


def _loopback_host(host):
    name = _re.sub(r":[0-9]+$", "", host or "").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return _ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name == "localhost"


def _loopback_only(self, request, **kwargs):
    if not _loopback_host(request.headers.get("Host")):
        return self.get_handler_delegate(request, _web.ErrorHandler, {"status_code": 403})
    return _find_handler(self, request, **kwargs)


_web.Application.find_handler = _loopback_only
"""
#: Voila flags for a quicker first view (issue 22): only the front-end extensions the Studio
#: uses (Voila loads all installed: Jupytext's and Notebook 7's are 330 kB of unused scripts);
#: the preheated kernel refilled once the visitor's page is up (Voila's default, 1 s after a
#: page takes one, builds the next Studio on the page's cores: a 1.5x slower start, see
#: benchmarks/results/studio_start.md).
VOILA_FAST_START = [
    '--VoilaConfiguration.extension_allowlist=["@jupyter-widgets/jupyterlab-manager",'
    '"@voila-dashboards/widgets-manager8","ipycanvas","anywidget"]',
    "--VoilaKernelManager.fill_delay=5"]
#: Added to `VOILA_CONFIG`: the page's head preloads the scripts it will need
#: (`clipdrop_widgets.launcher.preload`; the Studio's template writes the links).
VOILA_PRELOAD = """
# Written by clipdrop-widgets studio: the page preloads the scripts it will need.
import clipdrop_widgets.launcher.preload as _preload

c.VoilaConfiguration.page_config_hook = _preload.page_config_hook
"""
#: Seconds Voila or JupyterLab gets to stop after SIGTERM before it is killed.
STOP_SECONDS = 15.0


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on ``host:port`` (binding it fails as the server's would)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _free_port_after(host: str, port: int) -> int | None:
    return next((p for p in range(port + 1, min(port + 50, 65536))
                 if not port_in_use(host, p)), None)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the server is killed (SIGKILL) if the launcher dies, even by SIGKILL.

    Not SIGTERM: a Voila busy serialising widget state was seen ignoring it and outliving
    the launcher. Its kernels watch their parent (``JPY_PARENT_PID``) and exit after it.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


#: Seconds the server's kernels get to exit after the server stopped, before they are killed.
KERNEL_STOP_SECONDS = 5.0


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server for certain: SIGTERM, SIGKILL after `STOP_SECONDS`; then its kernels
    (they run in sessions of their own) if any outlives it by `KERNEL_STOP_SECONDS`."""
    kernels: list[Any] = []
    try:
        import psutil  # installed with ipykernel, which the server needs
    except ImportError:  # pragma: no cover
        psutil = None
    if psutil is not None:
        try:
            kernels = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            pass  # it has already gone
    proc.terminate()
    try:
        proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if psutil is not None and kernels:
        _, alive = psutil.wait_procs(kernels, timeout=KERNEL_STOP_SECONDS)
        for kernel in alive:
            try:
                kernel.kill()
            except psutil.Error:
                pass


class _Stop(Exception):
    """SIGTERM or SIGHUP reached the launcher."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


#: Seconds a Voila kernel lives after its page is closed (and it is idle), by default.
CLOSED_PAGE_KERNEL_SECONDS = 300
#: Where the server reads its token: Jupyter's own variable, so the token never appears in a
#: process list (another user of the machine can read command lines, not environments).
TOKEN_ENV = "JUPYTER_TOKEN"
#: What ``--no-token`` prints, loudly, before it serves.
NO_TOKEN_WARNING = (
    "WARNING: --no-token: the Studio at {where} answers anyone who can connect to it, and on "
    "loopback that is every user and program of this machine (websites you visit are refused: "
    "only a loopback Host is answered). They can run on your API key, read your session and "
    "make the Studio write files as you. Use it only on a machine you alone use.")


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (``127.0.0.1``, ``::1``,
    ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _in_url(host: str) -> str:
    """``host`` as an address's host part: an IPv6 address in brackets (``[::1]``)."""
    return f"[{host}]" if ":" in host else host


def _server_command(exe: str, *, lab: bool, host: str, port: int, work: Path, notebook: Path,
                    browser: list[str], close_idle_after: int,
                    token: str | None, theme: str | None = None) -> tuple[list[str], str]:
    """The Voila or JupyterLab command line and the address to open (token included).

    The token itself is not on the command line: the server reads it from `TOKEN_ENV`.
    """
    root = notebook.parent
    query = f"?token={token}" if token else ""
    if lab:
        cmd = [exe, "--ip", host, f"--port={port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={root}",
               "--LabApp.default_url=/lab/tree/studio.ipynb", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.user_settings_dir={work / 'jupyter' / 'settings'}",
               f"--LabApp.workspaces_dir={work / 'jupyter' / 'workspaces'}", *browser]
        if not token:
            cmd += ["--IdentityProvider.token=", "--ServerApp.password="]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd, f"http://{_in_url(host)}:{port}/lab/tree/studio.ipynb{query}"
    cmd = [exe, str(notebook), f"--port={port}", f"--Voila.ip={host}",
           "--Voila.port_retries=0", "--show_tracebacks=False", "--template=clipdrop",
           "--preheat_kernel=True", "--pool_size=1", *VOILA_FAST_START,
           # only kernels with no page connected (Voila never culls its preheated one)
           f"--MappingKernelManager.cull_idle_timeout={close_idle_after}",
           f"--MappingKernelManager.cull_interval={min(60, max(1, close_idle_after // 2))}",
           "--MappingKernelManager.cull_connected=False",
           f"--Voila.connection_dir_root={work / 'jupyter' / 'runtime'}", *browser]
    if theme is not None:
        cmd.append(f"--theme={theme}")
    if token:
        cmd.append("--Voila.auto_token=True")  # its identity provider reads TOKEN_ENV
    return cmd, f"http://{_in_url(host)}:{port}/{query}"


def reopen_command(session: str | os.PathLike[str]) -> str:
    """The shell command that reopens ``session``: this Python's full path with ``-m``, so it
    works in a new shell where ``clipdrop-widgets`` is not on the PATH (a venv not active)."""
    return shlex.join([sys.executable, "-m", "clipdrop_widgets", "studio", "--session",
                       str(session)])


def launch_studio(*, lab: bool = False, port: int = 8866, host: str = "127.0.0.1",
                  open_browser: bool = False,
                  session_dir: str | os.PathLike[str] | None = None,
                  close_idle_after: int = CLOSED_PAGE_KERNEL_SECONDS,
                  token: bool = True, theme: str | None = None) -> int:
    """Serve the Studio with Voila (default) or JupyterLab until stopped; returns the exit code.

    Results go to ``session_dir`` (default: a new session under the user data folder), printed
    at start; give an earlier one to reopen it. A busy port is reported (exit code 1, with a
    free port to try) before anything starts. The server runs in the launcher's process group
    and is stopped with it on Ctrl-C, SIGTERM and SIGHUP: SIGTERM, then SIGKILL after 15 s,
    then any of its kernels still running 5 s later (on Linux the server is also killed if
    the launcher is, even by SIGKILL). Voila keeps one kernel preheated with the Studio
    built, so a visitor does not wait for it, and shuts down a visitor's kernel once their
    page is closed and the kernel has been idle ``close_idle_after`` seconds (default 300):
    a workshop server's memory does not grow with every visit, and the results are in the
    session folder. Without ``CLIPDROP_API_KEY`` the Studio runs on the local engine.

    A new random token is required by default (``token=True``), as in Jupyter: it is printed
    in the address to open (``?token=...``), and a request without it gets neither the page
    nor a kernel. ``token=False`` (``--no-token``) is refused unless ``host`` is a loopback
    address, and prints a warning first: on loopback every user of the machine can connect.
    ``theme`` (``--theme light|dark``) is Voila's ``--theme``, or JupyterLab's theme of that
    name (default: Voila's light, JupyterLab's own setting).
    """
    if theme is not None and theme not in THEMES:
        raise ConfigurationError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # "[::1]", as in an address: the servers and bind() take "::1"
    if not token and not is_loopback(host):
        print(f"clipdrop-widgets studio: --no-token is only allowed on a loopback address "
              f"(127.0.0.1, ::1); {host} can be reached from other machines. Drop --no-token "
              "and open the printed address with its token.", file=sys.stderr)
        return 2
    if not isinstance(close_idle_after, int) or close_idle_after < 1:
        raise ConfigurationError(
            f"close_idle_after must be a whole number of seconds >= 1, got {close_idle_after!r}")
    from .api.session import Session, data_dir, new_session_dir

    tool = "jupyter-lab" if lab else "voila"
    exe = shutil.which(tool, path=os.pathsep.join([str(Path(sys.executable).parent),
                                                   os.environ.get("PATH", "")]))
    if exe is None:
        print(f"{tool} is not installed: pip install 'clipdrop-widgets[studio]'",
              file=sys.stderr)
        return 1
    if port_in_use(host, port):
        free = _free_port_after(host, port)
        hint = f" Try another port: clipdrop-widgets studio --port {free}" if free else ""
        print(f"clipdrop-widgets studio: port {port} on {host} is already in use (another "
              f"Studio or server is running there).{hint}", file=sys.stderr)
        return 1
    session = Path(session_dir).expanduser().resolve() if session_dir is not None \
        else new_session_dir()
    try:
        Session(session)  # refuses a folder that holds other files
    except ValueError as err:
        print(f"clipdrop-widgets studio: {err}", file=sys.stderr)
        return 1
    # Jupyter's own folders sit beside the served folder, not in it: the user sees only the
    # Studio notebook. One folder per port, so two launchers do not share one.
    work = data_dir() / "launcher" / str(port)
    shutil.rmtree(work, ignore_errors=True)  # left by a launcher that was killed
    work.mkdir(parents=True, mode=0o700)  # kernels' connection files: the owner's only
    root = work / "notebook"
    root.mkdir()
    notebook = studio_notebook(root, session_dir=session)
    config = work / "jupyter" / "config"
    (config / "labconfig").mkdir(parents=True)
    (work / "jupyter" / "runtime").mkdir()
    (config / "labconfig" / "default_setting_overrides.json").write_text(
        json.dumps(lab_overrides(theme)))
    (config / "voila.py").write_text(
        VOILA_CONFIG + VOILA_PRELOAD + TOKEN_ONCE
        + (VOILA_LOOPBACK_ONLY if is_loopback(host) else ""))
    secret = secrets.token_hex(24) if token else None
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config),
               JUPYTER_RUNTIME_DIR=str(work / "jupyter" / "runtime"),
               # our Voila template ("clipdrop": no stylesheet from a CDN) is found there
               JUPYTER_PATH=os.pathsep.join(filter(None, [
                   str(Path(__file__).with_name("share")), os.environ.get("JUPYTER_PATH")])))
    env.pop(TOKEN_ENV, None)
    if secret:
        env[TOKEN_ENV] = secret
    cmd, where = _server_command(exe, lab=lab, host=host, port=port, work=work,
                                 notebook=notebook, close_idle_after=close_idle_after,
                                 browser=[] if open_browser else ["--no-browser"],
                                 token=secret, theme=theme)
    if not token:
        print(NO_TOKEN_WARNING.format(where=where), file=sys.stderr, flush=True)
    source = "the ClipDrop service" if os.environ.get(API_KEY_ENV) else \
        f"the local engine (offline previews; set {API_KEY_ENV} for the service)"
    print(f"clipdrop-widgets Studio on {source}: open {where}", flush=True)
    print(f"Results are saved in {session} (reopen it with: {reopen_command(session)})",
          flush=True)
    handlers = {sig: signal.signal(sig, _raise_stop)
                for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))}
    proc = None
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=root,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        return proc.wait()
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            _stop_server(proc)
        for sig, old in handlers.items():
            signal.signal(sig, old)
        shutil.rmtree(work, ignore_errors=True)


#: Environment variable read for ``serve --api-key`` when the option is absent, so the key
#: need not appear in a process list.
ENGINE_KEY_ENV = "CLIPDROP_ENGINE_API_KEY"


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    from .engine import serve

    signal.signal(signal.SIGTERM, _stop)  # a plain kill stops it as cleanly as Ctrl-C
    api_key = args.api_key if args.api_key is not None else os.environ.get(ENGINE_KEY_ENV)
    try:
        serve(host=args.host, port=args.port, api_key=api_key or None, credits=args.credits,
              rate_limit=args.rate_limit, workers=args.workers, queue=args.queue)
    except OSError as err:
        print(f"clipdrop-widgets serve: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .api.client import Client

    if args.service:
        if not os.environ.get(API_KEY_ENV, "").strip():
            print(f"clipdrop-widgets demo --service: set {API_KEY_ENV} first", file=sys.stderr)
            return 2
        print(f"on the ClipDrop service: {_DEMO_CREDITS:g} credits of this key", file=sys.stderr)
        written = demo(args.out, client=Client())
    else:
        print(f"on the local engine: offline previews, free (--service uses {API_KEY_ENV} "
              "and spends credits)", file=sys.stderr)
        written = demo(args.out)
    print(f"{len(written)} results written to {args.out}")
    return 0


def _studio(args: argparse.Namespace) -> int:
    return launch_studio(lab=args.lab, port=args.port, host=args.host,
                         open_browser=args.open, session_dir=args.session,
                         close_idle_after=args.close_idle_after, token=not args.no_token,
                         theme=args.theme)


def _non_negative(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return int(value) if value.is_integer() else value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="clipdrop-widgets",
        description="Jupyter widgets for the ClipDrop image APIs, with an offline local engine.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the ClipDrop API offline on this machine (outputs are previews)",
        description=f"Serve the {len(ENDPOINTS)} ClipDrop endpoints from the local engine "
                    "over HTTP. "
                    "Outputs are offline previews, not ClipDrop results.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: %(default)s, loopback only)")
    serve.add_argument("--port", type=int, default=8765,
                       help="TCP port, 0 for any free one (default: %(default)s)")
    serve.add_argument("--api-key", metavar="KEY",
                       help=f"the only key accepted, others get 403 (default: ${ENGINE_KEY_ENV}"
                            ", else any non-empty key)")
    serve.add_argument("--credits", type=_non_negative, default=100,
                       help="starting credit balance (default: %(default)s)")
    serve.add_argument("--rate-limit", action="store_true",
                       help="enforce the documented requests per minute per key (429)")
    serve.add_argument("--workers", type=_positive_int, metavar="N",
                       help="operations run at once (default: the machine's cores)")
    serve.add_argument("--queue", type=_non_negative_int, metavar="N",
                       help="requests waiting beyond those running before 503 Busy "
                            "(default: twice --workers)")
    serve.set_defaults(run=_serve)

    studio = commands.add_parser(
        "studio",
        help=f"open the Studio (all {len(ENDPOINTS)} apps) in Voila or JupyterLab",
        description="Serve the Studio on this machine until Ctrl-C, behind a token printed in "
                    "the address to open, as Jupyter does. Every result is saved in a session "
                    "folder (printed at start). Without CLIPDROP_API_KEY it runs on the local "
                    "engine (offline previews).",
    )
    studio.add_argument("--lab", action="store_true", help="JupyterLab instead of Voila")
    studio.add_argument("--theme", choices=THEMES,
                        help="light or dark (default: Voila's light, JupyterLab's own setting)")
    studio.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    studio.add_argument("--port", type=int, default=8866, help="TCP port (default: %(default)s)")
    studio.add_argument("--open", action="store_true", help="open a web browser")
    studio.add_argument("--no-token", action="store_true",
                        help="serve without the token (only on a loopback --host, with a "
                             "warning: every user of this machine could use the Studio)")
    studio.add_argument("--session", metavar="DIR",
                        help="the session folder results are written to; an earlier one is "
                             "reopened (default: a new folder under the user data folder)")
    studio.add_argument("--close-idle-after", type=_positive_int, metavar="SECONDS",
                        default=CLOSED_PAGE_KERNEL_SECONDS,
                        help="shut down a visitor's kernel this long after their page is "
                             "closed (Voila; default: %(default)s)")
    studio.set_defaults(run=_studio)

    demo = commands.add_parser(
        "demo",
        help=f"run all {len(ENDPOINTS)} operations on the local engine and save the results",
        description=f"Run all {len(ENDPOINTS)} operations and save inputs and results. Always on "
                    "the local "
                    f"engine (offline previews, free), even with {API_KEY_ENV} set, unless "
                    "--service is given.",
    )
    demo.add_argument("--out", default="clipdrop-demo", help="folder (default: %(default)s)")
    demo.add_argument("--service", action="store_true",
                      help=f"use the ClipDrop service with ${API_KEY_ENV} (spends "
                           f"{_DEMO_CREDITS:g} credits)")
    demo.set_defaults(run=_demo)

    from .gateway.cli import add_gateway_parser

    add_gateway_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)
