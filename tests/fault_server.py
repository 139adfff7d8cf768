"""A scriptable loopback HTTP server that misbehaves on purpose.

Each request takes the next scripted action (or the default): answer with a status, headers
and body; close the connection without answering; declare a body and send only part of it;
stall past the client's timeout. Optionally it enforces a rate like the real service. It
records every request it read, so tests count what was sent.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import multipart
from PIL import Image


def png_bytes(size: tuple[int, int] = (8, 8), color: Any = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size: tuple[int, int] = (8, 8), color: Any = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


@dataclass
class Action:
    kind: str = "respond"  # respond | close | truncate | stall
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0  # for stall

    @classmethod
    def image(cls, data: bytes | None = None, content_type: str = "image/png",
              **headers: str) -> Action:
        h = {"Content-Type": content_type, "x-remaining-credits": "99",
             "x-credits-consumed": "1"}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        return cls("respond", 200, h, png_bytes() if data is None else data)

    @classmethod
    def error(cls, status: int, message: str = "nope", **headers: str) -> Action:
        h = {"Content-Type": "application/json"}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        return cls("respond", status, h, json.dumps({"error": message}).encode())


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    texts: dict[str, str]
    files: dict[str, tuple[str, str, bytes]]  # name -> (filename, content type, bytes)
    time: float


class FaultServer:
    """Start with ``with FaultServer() as srv:``; ``srv.url``, ``srv.script(...)``, ``srv.seen``."""

    def __init__(self, *, default: Action | None = None, rate: tuple[int, float] | None = None):
        self.default = default or Action.image()
        self.actions: deque[Action] = deque()
        self.seen: list[Seen] = []
        self.rate = rate  # (requests, window seconds): more in a sliding window -> 429
        self.rejected_for_rate = 0
        self._arrivals: deque[float] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def script(self, *actions: Action) -> None:
        with self._lock:
            self.actions.extend(actions)

    def _next(self) -> Action:
        with self._lock:
            return self.actions.popleft() if self.actions else self.default

    def _rate_exceeded(self, now: float) -> bool:
        if self.rate is None:
            return False
        limit, window = self.rate
        with self._lock:
            while self._arrivals and self._arrivals[0] <= now - window:
                self._arrivals.popleft()
            if len(self._arrivals) >= limit:
                self.rejected_for_rate += 1
                return True
            self._arrivals.append(now)
            return False

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        now = time.monotonic()
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        texts: dict[str, str] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        ctype, options = multipart.parse_options_header(h.headers.get("Content-Type", ""))
        if ctype == "multipart/form-data":
            for part in multipart.MultipartParser(io.BytesIO(body), options["boundary"]):
                if part.filename is None:
                    texts[part.name] = part.value
                else:
                    files[part.name] = (part.filename, part.content_type, part.raw)
        with self._lock:
            self.seen.append(Seen(h.path, dict(h.headers.items()), body, texts, files, now))
        action = (Action.error(429, "Too many requests", Retry_After="1")
                  if self._rate_exceeded(now) else self._next())
        if action.kind == "close":
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if action.kind == "stall":
            time.sleep(action.seconds)
            h.close_connection = True
            return
        h.send_response(action.status)
        for k, v in action.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(action.body)))
        h.end_headers()
        if action.kind == "truncate":
            h.wfile.write(action.body[: len(action.body) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(2)
            return
        h.wfile.write(action.body)
