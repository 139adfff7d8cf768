"""Voila under bulk widget-state requests from one page: replies, memory, SIGTERM (issue 20).

    .venv/bin/python benchmarks/bench_voila_state.py [--requests 20] [--images 6]

Starts ``clipdrop-widgets studio`` (Voila, a token, a session of ``--images`` 1024x1024 noise
PNGs so the widget state carries megabytes of buffers) twice: as shipped, and with the
launcher's ``voila.py`` guard left out (``VOILA_CONFIG = ""``, Voila as it is upstream). Each
time one client opens the kernel's websocket without a subprotocol (the legacy protocol),
sends ``--requests`` ipywidgets ``request_states`` and reads for 15 s, sampling Voila's RSS;
then it sends Voila SIGTERM and times its exit (20 s at most). Reported, not asserted.
Results: ``benchmarks/results/voila_state.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import requests
from PIL import Image
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

LAUNCH = ("import sys, clipdrop_widgets.cli as c\n"
          "if sys.argv[1] == 'unguarded': c.VOILA_CONFIG = ''\n"
          "raise SystemExit(c.main(sys.argv[2:]))")


def make_session(folder: Path, images: int) -> None:
    from clipdrop_widgets import Result
    from clipdrop_widgets.api.session import Session

    rng = np.random.default_rng(1)
    session = Session(folder)
    for i in range(images):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8)).save(buf, "PNG")
        session.add(Result(buf.getvalue(), "image/png", "text_to_image",
                           {"prompt": f"noise {i}"}, source="local engine"))


def _message(kind: str, content: dict, session: str) -> str:
    return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": kind,
                                  "session": session, "username": "b", "date": "",
                                  "version": "5.3"}, "parent_header": {},
                       "metadata": {"version": "1.0.0"}, "content": content,
                       "channel": "shell", "buffers": []})


async def attack(port: int, kernel: str, token: str, voila: psutil.Process,
                 n: int) -> dict:
    ws = await websocket_connect(HTTPRequest(
        f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={token}"),
        max_message_size=1 << 30)
    session, comm = uuid.uuid4().hex, uuid.uuid4().hex
    await ws.write_message(_message("comm_open", {"comm_id": comm, "data": {},
                                                  "target_name": "jupyter.widget.control"},
                                    session))
    for _ in range(n):
        await ws.write_message(_message("comm_msg", {"comm_id": comm, "data": {
            "method": "request_states"}}, session))
    start_rss = voila.memory_info().rss >> 20
    replies, size, peak, t0 = 0, 0, start_rss, time.monotonic()
    while time.monotonic() - t0 < 15:
        try:
            message = await asyncio.wait_for(ws.read_message(), 0.5)
        except asyncio.TimeoutError:
            message = None
        if isinstance(message, bytes) and b"update_states" in message:
            replies, size = replies + 1, size + len(message)
        peak = max(peak, voila.memory_info().rss >> 20)
    ws.close()
    return {"replies": replies, "mb": round(size / 1e6, 1), "rss_start": start_rss,
            "rss_peak": peak}


def one(mode: str, session: Path, n: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
    env["CLIPDROP_WIDGETS_DATA_DIR"] = str(session.parent / f"data-{mode}")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, mode, "studio", "--port", str(port),
                             "--session", str(session)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                     daemon=True).start()
    try:
        while not re.search(r"open (http://\S+)", "".join(lines)):
            time.sleep(0.1)
        url = re.search(r"open (http://\S+)", "".join(lines)).group(1)
        for _ in range(400):
            try:
                page = requests.get(url, timeout=120)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        kernel = re.search(r'kernelId["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', page.text).group(1)
        voila = psutil.Process(proc.pid).children()[0]
        row = asyncio.run(attack(port, kernel, url.split("token=")[1], voila, n))
        t = time.monotonic()
        voila.send_signal(signal.SIGTERM)
        try:
            voila.wait(20)
            row["sigterm"] = f"exits in {time.monotonic() - t:.1f} s"
        except psutil.TimeoutExpired:
            row["sigterm"] = "still running after 20 s"
        return row
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--images", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "session"
        make_session(session, args.images)
        print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} request_states, "
              f"{args.images} images of 1024x1024 in the session")
        print("| Voila | replies in 15 s | MB received | RSS start -> peak | SIGTERM |")
        print("| --- | --- | --- | --- | --- |")
        for mode in ("unguarded", "guarded"):
            r = one(mode, session, args.requests)
            print(f"| {mode} | {r['replies']} of {args.requests} | {r['mb']} | "
                  f"{r['rss_start']} -> {r['rss_peak']} MiB | {r['sigterm']} |", flush=True)


if __name__ == "__main__":
    main()
