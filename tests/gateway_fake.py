"""A strict fake of the ClipDrop service on loopback, for the gateway's tests and benchmark.

Stricter than the service needs to be: it accepts only the room's key (401 without one, 403
for any other), counts every request it receives and every credit it charges, enforces
``rate`` requests per sliding ``window`` seconds per path (``rates`` gives some paths their
own) and answers 429 past it, and answers a small PNG with ``x-credits-consumed`` and
``x-remaining-credits``. ``delay`` seconds of
"generation" keep calls in flight; ``refuse_with`` makes it refuse the room (402: the room's
account is out of credits). Every request is recorded with its arrival time, path, key and
text fields, in arrival order.

``scope="key"`` counts every path against one limit (the room's key), ``"operation"`` (the
default) each path separately. ``script(path, texts)`` may take over an answer after the key
check: it returns ``(status, headers, body, credits)`` to answer that instead (credits are
counted as charged), or ``None`` for the usual answer.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import multipart
import requests
from PIL import Image

from clipdrop_widgets.contract.endpoints import endpoint_for_path

__all__ = ["ROOM_KEY", "FakeService", "Seen", "multipart_body", "png_bytes", "post"]

#: The room's key in the tests: it must never come out of the gateway.
ROOM_KEY = "sk-ROOM-7f3c9a1e-never-shown"


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


#: A scripted answer: status, headers, body, credits charged.
Scripted = tuple[int, dict[str, str], bytes, float]


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it (``at``: monotonic seconds)."""

    at: float
    path: str
    key: str
    texts: dict[str, str]
    status: int
    size: int = 0  # bytes of the request body


@dataclass
class FakeService:
    room_key: str
    rate: int = 60
    rates: dict[str, int] = field(default_factory=dict)
    window: float = 60.0
    delay: float = 0.0
    credits: float = 1_000_000
    refuse_with: int | None = None
    scope: str = "operation"
    script: Callable[[str, dict[str, str]], Scripted | None] | None = None
    seen: list[Seen] = field(default_factory=list)
    charged: float = 0.0
    _times: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeService:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._answer(self)

            def do_GET(self) -> None:  # the benchmark reads a fake in another process
                fake._control(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def received(self) -> int:
        """Requests received so far (every status)."""
        with self._lock:
            return len(self.seen)

    @property
    def too_many(self) -> int:
        """Requests answered 429."""
        with self._lock:
            return sum(1 for s in self.seen if s.status == 429)

    def served(self) -> list[Seen]:
        """Requests answered 200, in arrival order."""
        with self._lock:
            return [s for s in self.seen if s.status == 200]

    def _texts(self, handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, str]:
        kind, options = multipart.parse_options_header(handler.headers.get("Content-Type", ""))
        if kind != "multipart/form-data":
            return {}
        parser = multipart.MultipartParser(io.BytesIO(body), options["boundary"], len(body))
        return {p.name: p.value for p in parser if p.filename is None}

    def _decide(self, path: str, key: str) -> tuple[int, dict[str, str], float]:
        """Status, extra headers and credits of one request (called under the lock)."""
        endpoint = endpoint_for_path(path)
        if endpoint is None:
            return 404, {}, 0
        if not key:
            return 401, {}, 0
        if key != self.room_key:
            return 403, {}, 0
        now = time.monotonic()
        counted = "key" if self.scope == "key" else path
        times = [t for t in self._times.get(counted, []) if t > now - self.window]
        if len(times) >= self.rates.get(path, self.rate):
            self._times[counted] = times
            return 429, {"Retry-After": str(max(1, int(times[0] + self.window - now) + 1))}, 0
        times.append(now)
        self._times[counted] = times
        if self.refuse_with is not None:
            return self.refuse_with, {}, 0
        cost = float(endpoint.credits)
        if self.credits < cost:
            return 402, {}, 0
        self.credits -= cost
        self.charged += cost
        return 200, {}, cost

    def _control(self, handler: BaseHTTPRequestHandler) -> None:
        """``GET /_stats``: what it saw, as JSON; ``GET /_delay/SECONDS``: set ``delay``."""
        if handler.path.startswith("/_delay/"):
            self.delay = float(handler.path.rsplit("/", 1)[1])
        with self._lock:
            stats = {"charged": self.charged, "delay": self.delay,
                     "seen": [[s.at, s.path, s.status, s.texts] for s in self.seen]}
        payload = json.dumps(stats).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        key = handler.headers.get("x-api-key", "")
        texts = self._texts(handler, body)
        scripted = None
        with self._lock:
            status, headers, cost = self._decide(handler.path, key)
            if status == 200 and self.script is not None:
                scripted = self.script(handler.path, texts)
                if scripted is not None:  # the scripted answer's charge replaces the usual one
                    self.credits += cost - scripted[3]
                    self.charged += scripted[3] - cost
                    status = scripted[0]
            self.seen.append(Seen(time.monotonic(), handler.path, key, texts, status,
                                  len(body)))
            remaining = self.credits
        if scripted is not None:
            time.sleep(self.delay)
            headers, payload = dict(scripted[1]), scripted[2]
        elif status == 200:
            time.sleep(self.delay)
            payload = _png((len(self.seen) * 37 % 256, 90, 160))
            headers.update({"Content-Type": "image/png", "x-credits-consumed": f"{cost:g}",
                            "x-remaining-credits": f"{remaining:g}"})
        else:
            payload = json.dumps({"error": f"fake service: {status}"}).encode()
            headers["Content-Type"] = "application/json"
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller went away (a killed gateway): the call was still charged


def png_bytes(size: tuple[int, int] = (32, 24), color: Any = (200, 30, 30),
              mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def multipart_body(fields: list[tuple[str, str | bytes]], boundary: str) -> tuple[bytes, str]:
    """A multipart body framed by hand: the field order and boundary are the caller's."""
    parts = []
    for name, value in fields:
        if isinstance(value, bytes):
            head = (f'Content-Disposition: form-data; name="{name}"; filename="{name}-{boundary}'
                    '.png"\r\nContent-Type: image/png\r\n\r\n').encode()
            parts.append(b"--" + boundary.encode() + b"\r\n" + head + value + b"\r\n")
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            parts.append(b"--" + boundary.encode() + b"\r\n" + head + value.encode() + b"\r\n")
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def post(url: str, path: str, key: str | None, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["x-api-key"] = key
    kwargs.setdefault("timeout", 30)
    return requests.post(url + path, headers=headers, **kwargs)


if __name__ == "__main__":  # a fake in its own process: python tests/gateway_fake.py RATES_JSON
    import sys

    served = FakeService(room_key=ROOM_KEY, rates=json.loads(sys.argv[1])).start()
    print(served.url, flush=True)
    served._thread.join()
