"""A scriptable loopback HTTP server that misbehaves on purpose.

Each request takes the next scripted action (or the default): answer with a status, headers
and body; close the connection without answering; declare a body and send only part of it;
stall past the client's timeout. Optionally it enforces a rate like the real service. It
records every request it read, so tests count what was sent.

:class:`RawServer` goes below HTTP for the faults a well-behaved library cannot make: bytes
dripped one at a time, ``100 Continue`` forever, a reset or a close in the middle of a 200, a
bad chunk, a body that never ends, a compressed bomb, an echoed key.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import multipart
from PIL import Image

#: A client pace no test of the wire waits for. At the documented 60 a minute every client of
#: one key and server shares one pace, so each test of a module waited about 1 s for the one
#: before it. The pace itself is tested in tests/api (test_ratelimit, test_shared_pacing,
#: test_pace_scope, test_call_deadline).
UNPACED = 60_000


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
    seconds: float = 0.0  # a stall's length; a slow answer's delay

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

    def reset(self) -> None:
        """Back to a new server's state (default answer, no script, nothing seen, no rate), for
        one server shared by many tests (``fault_server`` in tests/conftest.py)."""
        with self._lock:
            self.default = Action.image()
            self.actions.clear()
            self.seen.clear()
            self.rate = None
            self.rejected_for_rate = 0
            self._arrivals.clear()

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
        if action.seconds:  # a slow answer (calls stay in flight meanwhile)
            time.sleep(action.seconds)
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


# -- raw sockets: the faults http.server cannot make ---------------------------------------------
@dataclass
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float


def read_request(conn: socket.socket) -> RawRequest | None:
    """One whole HTTP/1.1 request (head and ``Content-Length`` body) from ``conn``, or None
    when the client closed the connection first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return RawRequest(method, path, headers, body, time.monotonic())


Behaviour = Callable[["RawServer", socket.socket, RawRequest], None]


class RawServer:
    """A loopback TCP server that reads each request whole, records it, then runs ``behave``
    on the connection: it may drip bytes, stall, reset, or send anything at all. The
    connection is closed when ``behave`` returns (unless it returns ``"keep-alive"``)."""

    def __init__(self, behave: Behaviour) -> None:
        self.behave = behave
        self.requests: list[RawRequest] = []
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._thread.join(5)
        self._listener.close()

    @property
    def posts(self) -> int:
        return sum(r.method == "POST" for r in self.requests)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self.stopped.is_set():
                request = read_request(conn)
                if request is None:
                    return
                self.requests.append(request)
                if self.behave(self, conn, request) != "keep-alive":
                    return
        except OSError:
            pass  # the client hung up: what a misbehaving server gets
        finally:
            conn.close()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is stopping."""
        self.stopped.wait(seconds)


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


IMAGE = png_bytes((64, 64))
CREDITS = {"x_credits_consumed": "1", "x_remaining_credits": "41"}


def trickle_body(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A 200 whose body comes one byte every 0.5 s."""
    conn.sendall(head(Content_Type="image/png", Content_Length=str(len(IMAGE)), **CREDITS))
    for byte in IMAGE:
        conn.sendall(bytes([byte]))
        server.sleep(0.5)
        if server.stopped.is_set():
            return


def trickle_head(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """The status line and headers, one byte every 0.5 s."""
    for byte in head(Content_Type="image/png", Content_Length=str(len(IMAGE))):
        conn.sendall(bytes([byte]))
        server.sleep(0.5)
        if server.stopped.is_set():
            return


def stall_after_head(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """Headers promising an image, then nothing."""
    conn.sendall(head(Content_Type="image/png", Content_Length=str(len(IMAGE)), **CREDITS))
    server.sleep(30)


def never_answer(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """Reads the request, then says nothing at all."""
    server.sleep(30)


def continue_flood(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """``100 Continue`` every 0.1 s, forever."""
    while not server.stopped.is_set():
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        server.sleep(0.1)


def reset_after_200(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """Headers and half the body, then a TCP reset."""
    conn.sendall(head(Content_Type="image/png", Content_Length=str(len(IMAGE)), **CREDITS))
    conn.sendall(IMAGE[: len(IMAGE) // 2])
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def early_close(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """Headers and half the body, then a clean close."""
    conn.sendall(head(Content_Type="image/png", Content_Length=str(len(IMAGE)), **CREDITS))
    conn.sendall(IMAGE[: len(IMAGE) // 2])
    conn.shutdown(socket.SHUT_WR)


def bad_chunk(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A chunked 200 whose second chunk size is not hexadecimal."""
    conn.sendall(head(Content_Type="image/png", Transfer_Encoding="chunked", **CREDITS))
    conn.sendall(b"%x\r\n" % 100 + IMAGE[:100] + b"\r\nzz\r\n" + IMAGE[100:] + b"\r\n0\r\n\r\n")


def oversized_declared(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A 200 that declares 500 MB."""
    conn.sendall(head(Content_Type="image/png", Content_Length=str(500 * 10**6), **CREDITS))
    while not server.stopped.is_set():
        conn.sendall(bytes(1 << 20))


def oversized_chunked(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A chunked 200 that never ends: megabyte after megabyte (up to 500 MB)."""
    conn.sendall(head(Content_Type="image/png", Transfer_Encoding="chunked"))
    block = b"%x\r\n" % (1 << 20) + bytes(1 << 20) + b"\r\n"
    for _ in range(500):
        conn.sendall(block)


_BOMBS: dict[int, bytes] = {}


def gzip_bomb_bytes(inflated: int) -> bytes:
    """``inflated`` zero bytes, gzip-compressed (about a thousandth of the size)."""
    if inflated not in _BOMBS:
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1 << 20)
        parts = [z.compress(block) for _ in range(inflated >> 20)]
        _BOMBS[inflated] = b"".join(parts) + z.flush()
    return _BOMBS[inflated]


def gzip_bomb(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A 200 of a few hundred KB, gzip-encoded, that inflates to 256 MiB."""
    body = gzip_bomb_bytes(256 << 20)
    conn.sendall(head(Content_Type="image/png", Content_Encoding="gzip",
                      Content_Length=str(len(body))) + body)


def gzip_image(server: RawServer, conn: socket.socket, _: RawRequest) -> str:
    """A well-formed gzip-encoded image (what a proxy may do): accepted."""
    body = gzip.compress(IMAGE)
    conn.sendall(head(Content_Type="image/png", Content_Encoding="gzip",
                      Content_Length=str(len(body)), **CREDITS) + body)
    return "keep-alive"


def echo_key(status: str, where: str) -> Behaviour:
    """An error answer that writes the request's key back: in the JSON body or ``Location``."""

    def behave(server: RawServer, conn: socket.socket, request: RawRequest) -> None:
        key = request.headers.get("x-api-key", "")
        if where == "location":
            conn.sendall(head(status, Location=f"https://elsewhere.example/?key={key}",
                              Content_Length="0"))
            return
        body = json.dumps({"error": f"the key {key} is not valid for this (echo: {key})"})
        conn.sendall(head(status, Content_Type="application/json",
                          Content_Length=str(len(body))) + body.encode())

    behave.__name__ = f"echo_key_{status.split()[0]}_{where}"
    return behave


def head_breaks_off(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """A status line and half a header, then the connection closes."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")


def trickle_status_line(server: RawServer, conn: socket.socket, _: RawRequest) -> None:
    """The status line at once, then the headers one byte every 0.5 s."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for byte in head(Content_Type="image/png", Content_Length=str(len(IMAGE)))[17:]:
        conn.sendall(bytes([byte]))
        server.sleep(0.5)
        if server.stopped.is_set():
            return
