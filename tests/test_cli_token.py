"""The launcher's Studio is behind a token: no page and no kernel without it.

The attack this answers: another local user (uid 65534) loaded the Voila page, opened the
kernel's websocket and drove the Studio (Save all into the owner's folder, Run on the owner's
key). Here the real launcher serves Voila (and JupyterLab); a client without the token asks for
the page, the kernel list and a kernel's websocket, once as this user and once as uid 65534
(via ``setpriv``, stdlib only, where the machine allows it). The token must not be readable by
that user either: it is in the server's environment, not its command line.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from clipdrop_widgets.cli import build_parser, is_loopback, launch_studio

#: Asks the server as whoever runs it, without a token; prints what it got as JSON.
PROBE = r"""
import http.client, json, os, socket, sys
port, kernel, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = {}
def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    return r.status, body
out["page"], page = get("/")
out["page_has_widgets"] = "application/vnd.jupyter.widget-view+json" in page
out["kernels"], _ = get("/api/kernels")
out["kernel"], _ = get(f"/api/kernels/{kernel}")
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall((f"GET /api/kernels/{kernel}/channels HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
out["websocket"] = int(s.recv(4096).split(b" ", 2)[1])
s.close()
out["uid"] = os.getuid()
try:
    out["cmdline"] = open(f"/proc/{pid}/cmdline", "rb").read().decode("utf-8", "replace")
except OSError as exc:
    out["cmdline"] = f"unreadable: {exc.errno}"
try:
    out["environ"] = open(f"/proc/{pid}/environ", "rb").read().decode("utf-8", "replace")
except OSError as exc:
    out["environ"] = f"unreadable: {exc.errno}"
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, int, list[str]]:
    """The launcher (own process group), its port and output; returns once it answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLIPDROP_") and k != "JUPYTER_TOKEN"}
    env["CLIPDROP_WIDGETS_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "clipdrop_widgets", "studio", "--port",
                             str(port), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                     daemon=True).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, lines
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the launcher did not serve: " + "".join(lines))


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _server_pid(launcher: int) -> int:
    """The Voila or JupyterLab process the launcher started."""
    import psutil

    return psutil.Process(launcher).children()[0].pid


def _probe(port: int, kernel: str, pid: int, *, as_user: int | None) -> dict:
    if as_user is None:
        cmd = [sys.executable, "-c", PROBE]
    else:
        cmd = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups",
               "/usr/bin/python3", "-c", PROBE]
    out = subprocess.run([*cmd, str(port), kernel, str(pid)], capture_output=True, text=True,
                         timeout=90, cwd="/")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _can_switch_user() -> bool:
    if os.geteuid() != 0 or not shutil.which("setpriv") or not Path("/usr/bin/python3").exists():
        return False
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "/usr/bin/python3", "-c", "print(1)"], capture_output=True, timeout=30)
    return out.returncode == 0


def _refused(seen: dict, token: str) -> None:
    assert seen["page"] in (302, 401, 403), seen  # to the login form, never the Studio
    assert not seen["page_has_widgets"]
    assert seen["kernels"] in (302, 401, 403), seen
    assert seen["kernel"] in (302, 401, 403), seen
    assert seen["websocket"] in (401, 403), seen  # no kernel
    assert token not in seen["cmdline"]


def _websocket_status(port: int, kernel: str, token: str, *, host: str | None = None) -> int:
    """The status of a websocket handshake to ``kernel`` (``host``: the Host and Origin sent,
    default ``127.0.0.1:port``)."""
    host = host or f"127.0.0.1:{port}"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /api/kernels/{kernel}/channels?token={token} HTTP/1.1\r\n"
                   f"Host: {host}\r\nOrigin: http://{host}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n").encode())
        return int(s.recv(4096).split(b" ", 2)[1])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_voila_without_the_token_gets_no_page_and_no_kernel(tmp_path: Path) -> None:
    proc, port, lines = _start(tmp_path, "--session", str(tmp_path / "s"))
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            found = re.search(r"open (http://\S+)", "".join(lines))
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url is not None and url.startswith(f"http://127.0.0.1:{port}/?token=")
        # without a key the launcher says where results come from, on the line of the address
        assert "local engine" in next(line for line in lines if "open http" in line)
        token = url.split("token=", 1)[1]
        assert re.fullmatch(r"[0-9a-f]{48}", token)
        page = requests.get(url, timeout=120)  # the owner, with the token: the Studio
        assert page.status_code == 200
        assert "application/vnd.jupyter.widget-view+json" in page.text  # the Studio's view
        assert "Traceback" not in page.text
        kernel = re.search(r'kernelId["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', page.text).group(1)
        assert _websocket_status(port, kernel, token) == 101  # the owner reaches the kernel
        _rebinding_refused(port, kernel, token)  # even with the token, a foreign Host: 403
        server = _server_pid(proc.pid)
        _refused(_probe(port, kernel, server, as_user=None), token)
        import psutil

        kernels = psutil.Process(server).children(recursive=True)
        assert kernels  # the preheated kernel and the page's
        for child in kernels:  # a kernel runs the user's code: it never gets the token
            environ = Path(f"/proc/{child.pid}/environ").read_text(errors="replace")
            assert f"JUPYTER_TOKEN={token}" not in environ.split("\0"), [
                v.split("=")[0] for v in environ.split("\0") if token in v]
        if _can_switch_user():
            other = _probe(port, kernel, server, as_user=65534)
            assert other["uid"] == 65534
            _refused(other, token)
            assert other["environ"].startswith("unreadable")  # where the token is
    finally:
        _stop(proc)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_lab_without_the_token_gets_no_page_and_no_kernel(tmp_path: Path) -> None:
    proc, port, lines = _start(tmp_path, "--lab", "--session", str(tmp_path / "s"))
    try:
        token = re.search(r"token=([0-9a-f]{48})", "".join(lines)).group(1)
        listing = requests.get(f"http://127.0.0.1:{port}/api/contents",
                               params={"token": token}, timeout=30).json()
        # Jupyter's config/ and runtime/ folders are out of sight: the user sees the notebook
        assert [item["name"] for item in listing["content"]] == ["studio.ipynb"]
        nb = requests.get(f"http://127.0.0.1:{port}/api/contents/studio.ipynb",
                          params={"token": token}, timeout=30).json()
        source = nb["content"]["cells"][0]["source"]
        assert f"Studio(session_dir={str(tmp_path / 's')!r})" in source
        assert f"Results are saved in {tmp_path / 's'}" in "".join(lines)
        answer = requests.post(f"http://127.0.0.1:{port}/api/kernels",
                               params={"token": token}, json={"name": "python3"}, timeout=60)
        assert answer.status_code == 201
        kernel = answer.json()["id"]
        server = _server_pid(proc.pid)
        import psutil

        kernels = psutil.Process(server).children(recursive=True)
        assert kernels  # the one started above
        for child in kernels:  # a kernel runs the user's code: it never gets the token
            environ = Path(f"/proc/{child.pid}/environ").read_text(errors="replace")
            assert token not in environ
        seen = _probe(port, kernel, server, as_user=None)
        assert seen["page"] == 302 and not seen["page_has_widgets"]  # to the login page
        assert seen["kernels"] == 403 and seen["websocket"] in (401, 403)
        assert token not in seen["cmdline"]
        assert requests.post(f"http://127.0.0.1:{port}/api/kernels", json={"name": "python3"},
                             timeout=60).status_code == 403  # nobody starts one either
        if _can_switch_user():
            other = _probe(port, kernel, server, as_user=65534)
            assert other["uid"] == 65534 and other["page"] == 302
            assert other["kernel"] == 403 and other["websocket"] in (401, 403)
            assert token not in other["cmdline"] and other["environ"].startswith("unreadable")
    finally:
        _stop(proc)


def test_no_token_is_refused_off_loopback_before_anything_starts(tmp_path: Path,
                                                                 monkeypatch, capsys) -> None:
    monkeypatch.setenv("CLIPDROP_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    assert launch_studio(host="0.0.0.0", token=False) == 2
    err = capsys.readouterr().err
    assert "--no-token is only allowed on a loopback address" in err
    assert not (tmp_path / "data").exists()
    args = build_parser().parse_args(["studio", "--no-token"])
    assert args.no_token is True
    assert build_parser().parse_args(["studio"]).no_token is False


def test_an_ipv6_address_in_brackets_is_the_address_itself(tmp_path: Path, monkeypatch,
                                                           capsys) -> None:
    import clipdrop_widgets.cli as cli

    monkeypatch.setenv("CLIPDROP_WIDGETS_DATA_DIR", str(tmp_path / "data"))
    asked = []
    monkeypatch.setattr(cli, "port_in_use", lambda host, port: asked.append(host) or True)
    assert launch_studio(host="[::1]", port=18910, token=False) == 1
    assert asked[0] == "::1"  # what bind() takes: "[::1]" always failed, "already in use"
    assert "port 18910 on ::1 is already in use" in capsys.readouterr().err
    assert cli._in_url("::1") == "[::1]" and cli._in_url("127.0.0.1") == "127.0.0.1"


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.4", "example.org"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_no_token_on_loopback_says_so_loudly(tmp_path: Path) -> None:
    proc, port, lines = _start(tmp_path, "--no-token")
    try:
        deadline = time.monotonic() + 60
        while "open http" not in "".join(lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        text = "".join(lines)
        assert "WARNING: --no-token" in text and "every user and program of this machine" in text
        assert "websites you visit are refused" in text
        assert f"open http://127.0.0.1:{port}/\n" in text  # no token in the address
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=120)
        assert page.status_code == 200  # the owner, on loopback
        kernel = re.search(r'kernelId["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', page.text).group(1)
        assert _websocket_status(port, kernel, "", host=f"localhost:{port}") == 101
        _rebinding_refused(port, kernel, "")
    finally:
        _stop(proc)


def _rebinding_refused(port: int, kernel: str, token: str) -> None:
    """A web page whose name was rebound to 127.0.0.1 (DNS rebinding) reaches nothing."""
    evil = f"evil.example:{port}"
    for path in ("/", f"/?token={token}", "/api/kernels", f"/voila/query/{kernel}"):
        answer = requests.get(f"http://127.0.0.1:{port}{path}", headers={"Host": evil},
                              timeout=60, allow_redirects=False)
        assert answer.status_code == 403, (path, answer.status_code)
        assert "kernelId" not in answer.text
    assert _websocket_status(port, kernel, token, host=evil) == 403
