"""The local engine on a loopback HTTP server (stdlib `http.server`, one thread a connection).

HTTP/1.1 with keep-alive, ``Expect: 100-continue`` answered only once the engine starts reading
the body (so a refused upload is never sent), chunked request bodies, JSON errors for every
status, and quiet logging that never includes a header (so never the API key).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import socketserver
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import ENGINE_HEADER, EngineResponse, LocalEngine
from .forms import FormError

__all__ = ["ServerHandle", "serve"]

logger = logging.getLogger(__name__)

#: Seconds a connection may stay silent (idle keep-alive, or a stalled upload) before it closes.
IDLE_TIMEOUT = 60.0
#: An unread rest of a body up to this many bytes is skipped to keep the connection alive.
DRAIN_LIMIT = 64 * 1024
#: After refusing a body it did not read, the server discards what the client still sends for
#: up to this long (seconds) and this much (bytes), so the client reads the answer instead of
#: a connection reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024 * 1024
_POLL_SECONDS = 0.05  # how soon a background server notices close() (seconds)
_MAX_CHUNK_LINE = 1024
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9a-fA-F]{1,15}")


class _Body:
    """The request body as a stream: Content-Length or chunked framing.

    Sends the deferred ``100 Continue`` on the first read. ``length`` is ``None`` for a
    chunked body.
    """

    def __init__(self, handler: _Handler):
        self._handler = handler
        headers = handler.headers
        lengths = set(headers.get_all("Content-Length") or [])
        coding = (headers.get("Transfer-Encoding") or "").strip().lower()
        if coding and lengths:
            raise FormError("a request may not have both Content-Length and Transfer-Encoding")
        if coding and coding != "chunked":
            raise FormError(f"Transfer-Encoding {coding!r} is not supported; use chunked")
        if len(lengths) > 1 or (lengths and not _DIGITS.fullmatch(next(iter(lengths)))):
            raise FormError("invalid Content-Length header")
        self.chunked = coding == "chunked"
        self.length: int | None = None if self.chunked else int(next(iter(lengths), "0"))
        self._left = self.length or 0  # bytes left of the body, or of the current chunk
        self._done = not self.chunked and self._left == 0
        self._started = False
        self._broken = False  # a read failed: the framing is lost

    def _start(self) -> None:
        if not self._started:
            self._started = True
            if self._handler.expect_continue:
                self._handler.send_response_only(HTTPStatus.CONTINUE)
                self._handler.end_headers()

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes of the body (``b""`` at its end)."""
        try:
            return self._read(size)
        except BaseException:
            self._broken = True
            raise

    def _read(self, size: int) -> bytes:
        self._start()
        if size < 0:
            size = 1 << 62
        rfile = self._handler.rfile
        if self.chunked and self._left == 0 and not self._done:
            self._next_chunk()
        if self._done:
            return b""
        data = rfile.read(min(size, self._left))
        if not data:
            raise FormError("the connection closed before the body was complete")
        self._left -= len(data)
        if self._left == 0:
            if self.chunked:
                if rfile.read(2) != b"\r\n":
                    raise FormError("malformed chunked body: a chunk does not end with CRLF")
            else:
                self._done = True
        return data

    def _next_chunk(self) -> None:
        line = self._readline()
        size_field = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_field):
            raise FormError("malformed chunked body: bad chunk size")
        self._left = int(size_field, 16)
        if self._left == 0:
            while self._readline().strip():  # trailer fields, ignored
                pass
            self._done = True

    def _readline(self) -> bytes:
        line = self._handler.rfile.readline(_MAX_CHUNK_LINE + 1)
        if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
            raise FormError("malformed chunked body: bad chunk line")
        return line

    def settle(self) -> bool:
        """Before answering, skip a small unread rest; true if another request can follow."""
        if self._done:
            return True
        if self._broken or self.chunked or self._left > DRAIN_LIMIT:
            return False
        if self._handler.expect_continue and not self._started:
            return False  # the client may or may not send the body: the framing is unknown
        try:
            while not self._done:
                self.read(DRAIN_LIMIT)
        except (FormError, OSError):
            return False
        return True


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the server's engine; answers HTTP-level faults in JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "clipdrop-local-engine"
    timeout = IDLE_TIMEOUT
    server: _EngineServer
    expect_continue = False

    def version_string(self) -> str:
        return self.server_version

    def parse_request(self) -> bool:
        self.expect_continue = False
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        """Defer ``100 Continue`` until the engine reads the body (see `_Body`)."""
        self.expect_continue = True
        return True

    def _dispatch(self) -> None:
        try:
            body = _Body(self)
        except FormError as err:
            self.send_error(HTTPStatus.BAD_REQUEST, str(err))
            self._linger()
            return
        response = self.server.engine.handle(self.command, self.path, dict(self.headers.items()),
                                             body, body.length)
        settled = body.settle()
        self._answer(response, close=not settled)
        if not settled:
            self._linger()

    do_POST = do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _answer(self, response: EngineResponse, *, close: bool) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()

    def _linger(self) -> None:
        """Half-close, then discard what the client still sends, so it can read the answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            discarded = 0
            while discarded < LINGER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                chunk = sock.recv(64 * 1024)
                if not chunk:
                    break
                discarded += len(chunk)
        except OSError:
            pass

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """HTTP-level faults (bad request line, unknown method, ...) as JSON, then close."""
        status = HTTPStatus(code)
        body = json.dumps({"error": message or status.phrase}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header(*ENGINE_HEADER)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class _EngineServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its engine and its open connections."""

    daemon_threads = True
    request_queue_size = 128  # the listen backlog: bursts of clients connect at once

    def __init__(self, address: tuple[str, int], engine: LocalEngine):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.engine = engine
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind also resolves the host's FQDN, a DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection, so idle keep-alive threads finish."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s failed", client_address, exc_info=True)


class ServerHandle:
    """A server running in a background thread; a context manager that closes it.

    Attributes: ``url`` (``http://127.0.0.1:PORT``), ``host``, ``port``, ``engine``.
    """

    def __init__(self, server: _EngineServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.engine: LocalEngine = server.engine
        self.host: str = server.server_address[0]
        self.port: int = server.server_address[1]
        self.url = _url(self.host, self.port)

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "closed"
        return f"<ServerHandle {self.url} {state}>"

    def close(self) -> None:
        """Stop accepting, end open connections, and join the serving thread (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    api_key: str | None = None,
    credits: float = 100,
    rate_limit: bool | int = False,
    engine: LocalEngine | None = None,
    background: bool = False,
) -> ServerHandle | None:
    """Serve the local engine over HTTP.

    Args:
        host: the address to bind; loopback by default.
        port: the TCP port (default 8765); 0 picks a free one (see ``ServerHandle.port``).
        api_key: the only key accepted (others get 403); default any non-empty key. Passed
            to the [`LocalEngine`][clipdrop_widgets.LocalEngine] made when ``engine`` is
            ``None``, as are the next two; giving any of them with ``engine`` is an error.
        credits: the engine's starting balance (default 100).
        rate_limit: ``True`` for the documented rates, a positive int for requests per minute per
            endpoint, ``False`` (default) for none.
        engine: an engine to serve instead (tests read its ``log`` and credits).
        background: when true, serve from a daemon thread and return a `ServerHandle`;
            otherwise print where it listens and serve until Ctrl-C, then return ``None``.
    """
    if engine is None:
        engine = LocalEngine(api_key=api_key, credits=credits, rate_limit=rate_limit)
    elif api_key is not None or credits != 100 or rate_limit is not False:
        raise TypeError("pass api_key, credits and rate_limit to LocalEngine, not with engine=")
    server = _EngineServer((host, port), engine)
    if background:
        thread = threading.Thread(target=server.serve_forever, name="clipdrop-local-engine",
                                  kwargs={"poll_interval": _POLL_SECONDS}, daemon=True)
        thread.start()
        return ServerHandle(server, thread)
    print(f"Local ClipDrop engine listening on {_url(*server.server_address[:2])} "
          "(outputs are offline previews, not ClipDrop results); Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
    return None
