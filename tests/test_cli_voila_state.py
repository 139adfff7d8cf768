"""The Voila blow-up: a bulk widget-state request from one page must not take the server down.

Seen: one page's ``request_states`` (ipywidgets' control comm: every widget's state, images
as binary buffers) drove Voila to 86 % CPU and 1.4 GB in 10 s; it ignored SIGTERM and
outlived the launcher. The cause is Voila 0.5's kernel websocket, which reads every binary
kernel message's header as if the connection spoke the v1 protocol: on a legacy connection
its loop over ~10**17 "offsets" holds the server's only thread. Here the real launcher serves
a session with images, a client opens the kernel's websocket without a subprotocol (legacy),
asks for the widget states and must get them, while Voila stays small and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import pytest
import requests
from PIL import Image
from test_cli_token import _start, _stop
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from clipdrop_widgets import Result
from clipdrop_widgets.api.session import Session


def _session_with_images(folder: Path, n: int = 4) -> None:
    rng = np.random.default_rng(7)
    session = Session(folder)
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (768, 768, 3), dtype=np.uint8)).save(buf, "PNG")
        session.add(Result(buf.getvalue(), "image/png", "text_to_image",
                           {"prompt": f"noise {i}"}, source="local engine"))


def _message(kind: str, content: dict, session: str) -> str:
    return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": kind,
                                  "session": session, "username": "test", "date": "",
                                  "version": "5.3"},
                       "parent_header": {}, "metadata": {"version": "1.0.0"},
                       "content": content, "channel": "shell", "buffers": []})


async def _ask_for_states(port: int, kernel: str, token: str, voila: psutil.Process,
                          times: int) -> tuple[int, int]:
    """Send ``times`` request_states on a legacy connection; (replies got, peak RSS MiB)."""
    ws = await websocket_connect(HTTPRequest(
        f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={token}"),
        max_message_size=1 << 30)  # no subprotocol asked for: the legacy protocol
    session, comm = uuid.uuid4().hex, uuid.uuid4().hex
    await ws.write_message(_message("comm_open", {"comm_id": comm, "data": {},
                                                  "target_name": "jupyter.widget.control"},
                                    session))
    for _ in range(times):
        await ws.write_message(_message("comm_msg", {"comm_id": comm,
                                                     "data": {"method": "request_states"}},
                                        session))
    replies, peak = 0, 0
    deadline = time.monotonic() + 40
    while replies < times and time.monotonic() < deadline:
        peak = max(peak, voila.memory_info().rss >> 20)
        try:
            message = await asyncio.wait_for(ws.read_message(), 1.0)
        except asyncio.TimeoutError:
            continue
        if isinstance(message, bytes) and b"update_states" in message:
            replies += 1
    ws.close()
    return replies, max(peak, voila.memory_info().rss >> 20)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bulk_widget_state_requests_are_answered_and_voila_stays_small(tmp_path: Path) -> None:
    _session_with_images(tmp_path / "s")
    proc, port, lines = _start(tmp_path, "--session", str(tmp_path / "s"))
    try:
        deadline = time.monotonic() + 60
        while "open http" not in "".join(lines) and time.monotonic() < deadline:
            time.sleep(0.1)
        url = re.search(r"open (http://\S+)", "".join(lines)).group(1)
        token = url.split("token=", 1)[1]
        page = requests.get(url, timeout=120)
        kernel = re.search(r'kernelId["\']?\s*[:=]\s*["\']([0-9a-f-]{36})', page.text).group(1)
        voila = psutil.Process(proc.pid).children()[0]
        before = voila.memory_info().rss >> 20
        replies, peak = asyncio.run(_ask_for_states(port, kernel, token, voila, times=20))
        assert replies == 20  # every state, images included, reached the page
        assert peak - before < 300, (before, peak)  # it grew by GBs, without end
        voila.send_signal(signal.SIGTERM)
        voila.wait(20)  # psutil.TimeoutExpired: it ignored SIGTERM, as it did
    finally:
        _stop(proc)
