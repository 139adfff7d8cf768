"""The contract served on tornado: the pieces the engine's server and the gateway share.

- `framing_error` and `repeated_header` check a request's headers before tornado
  reads its body, so a bad ``Content-Length`` is a JSON 400 rather than a bare one;
- `ContractHandler` is a ``RequestHandler`` that answers in the contract's shape
  (``{"error": ...}`` JSON for every error, 405 with ``Allow`` for unknown methods), keeps the
  connection alive where it can, and refuses a body it will not read by answering at once,
  half-closing, and discarding a bounded amount of what the client still sends, so the client
  reads the answer instead of a reset;
- `LoopServer` runs a tornado ``HTTPServer`` on its own thread and event loop; its
  connections answer what tornado itself refuses (a malformed request line, header or chunk,
  for which tornado writes a bare ``400`` with no body) as the contract's JSON too
  (`JsonHTTPServer`), and headers past `HEADER_LIMIT` get a JSON 431 from the
  handler, where tornado would close the connection. A connection whose first request's
  headers are not in within `HEADER_TIMEOUT` seconds (sockets sending a header line a
  second, a TLS hello on the plain port) gets a JSON 408, is half-closed, and is closed after
`LINGER_SECONDS` (so the client reads the 408, not a reset).

Keep-alive, chunked request bodies and ``Expect: 100-continue`` (sent only once ``prepare``
has accepted the request, so a refused upload is never sent) are tornado's own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

from tornado import httputil
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import bind_sockets
from tornado.web import Application, HTTPError, RequestHandler

from .answers import EngineResponse, json_error, reason

__all__ = [
    "IDLE_TIMEOUT",
    "BODY_TIMEOUT",
    "DRAIN_LIMIT",
    "LINGER_SECONDS",
    "LINGER_BYTES",
    "ContractHandler",
    "LoopServer",
    "framing_error",
    "header_size",
    "repeated_header",
    "HEADER_LIMIT",
    "HEADER_TIMEOUT",
    "JsonHTTPServer",
]

logger = logging.getLogger(__name__)

#: Seconds a connection may stay idle between requests (and for its headers) before it closes.
IDLE_TIMEOUT = 60.0
#: Seconds a new connection has to send its first request's headers whole (later requests on
#: it have `IDLE_TIMEOUT`, the wait for them and their headers being one).
HEADER_TIMEOUT = 10.0
#: Seconds a request body may take to arrive in full (a trickled upload ends there).
BODY_TIMEOUT = 300.0
#: A refused request's body up to this many bytes (announced, no ``Expect``) is read and
#: discarded, so the connection stays alive for the next request.
DRAIN_LIMIT = 64 * 1024
#: After refusing a body it will not read, the server discards what the client still sends for
#: up to this long (seconds) and this much (bytes), then closes: long enough for a client that
#: sends its whole body before reading to see the answer for a small upload, never the whole of
#: a large one.
LINGER_SECONDS = 2.0
LINGER_BYTES = 4 * 1024 * 1024
#: Content-Length values tornado itself accepts; any larger is refused by the handlers' caps.
MAX_BODY_SIZE = 1 << 40
#: Bytes of request line and headers a handler accepts; past it, a JSON 431.
HEADER_LIMIT = 64 * 1024
#: Bytes of headers tornado reads at most before closing without an answer (what a handler
#: must see to answer 431: bounded, a few times `HEADER_LIMIT`).
HEADER_READ_LIMIT = 1024 * 1024
#: What tornado writes for a request it cannot parse; `JsonHTTPServer` answers in JSON.
_TORNADO_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"
_DIGITS = re.compile(r"[0-9]{1,18}")


def framing_error(headers: httputil.HTTPHeaders) -> str | None:
    """Why the body's framing is unreadable (both or bad length headers), or ``None``."""
    lengths = headers.get_list("Content-Length")
    codings = headers.get_list("Transfer-Encoding")
    if codings and lengths:
        return "a request may not have both Content-Length and Transfer-Encoding"
    if codings and (len(codings) > 1 or codings[0].lower() != "chunked"):
        return f"Transfer-Encoding {', '.join(codings)[:100]!r} is not supported; use chunked"
    if len(set(lengths)) > 1 or (lengths and not _DIGITS.fullmatch(lengths[0])):
        return "invalid Content-Length header"
    return None


def header_size(request: httputil.HTTPServerRequest) -> int:
    """Bytes of the request line and headers, as sent (give or take white space)."""
    line = len(request.method or "") + len(request.uri or "") + len(request.version or "") + 4
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.get_all())


def repeated_header(headers: httputil.HTTPHeaders, names: Iterable[str]) -> str | None:
    """The first of ``names`` sent more than once, or ``None`` (values are never echoed)."""
    for name in names:
        if len(headers.get_list(name)) > 1:
            return name
    return None


def _raw_answer(answer: EngineResponse, *, head: bool, server: str) -> bytes:
    """``answer`` as the bytes of a closing HTTP/1.1 response."""
    lines = [f"HTTP/1.1 {answer.status} {reason(answer.status)}",
             f"Server: {server}", f"Date: {httputil.format_timestamp(time.time())}"]
    lines += [f"{name}: {value}" for name, value in answer.headers.items()]
    lines += [f"Content-Length: {len(answer.body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + (b"" if head else answer.body)


async def _linger_close(stream: IOStream, data: bytes) -> None:
    """Send ``data``, half-close, discard what still arrives (bounded), then close."""
    try:
        await stream.write(data)
        stream.socket.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        discarded = 0
        while discarded < LINGER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = await asyncio.wait_for(stream.read_bytes(64 * 1024, partial=True), left)
            discarded += len(chunk)
    except (StreamClosedError, OSError, asyncio.TimeoutError):
        pass
    finally:
        stream.close()


class ContractHandler(RequestHandler):
    """A handler answering in the contract's shape; subclasses add the routes' logic.

    Class attributes: ``server_name`` (the ``Server`` header), ``allowed`` (the methods named
    by a 405's ``Allow``). Override `error_headers` to add headers to every error.
    """

    server_name = "clipdrop-local-engine"
    allowed: tuple[str, ...] = ("POST",)

    def set_default_headers(self) -> None:
        self.clear_header("Content-Type")
        self.set_header("Server", self.server_name)

    def error_headers(self) -> dict[str, str]:
        """Headers added to every JSON error this handler gives on its own (none here)."""
        return {}

    @property
    def content_length(self) -> int | None:
        """The announced body length in bytes (0 without one), ``None`` when chunked."""
        if self.request.headers.get_list("Transfer-Encoding"):
            return None
        lengths = self.request.headers.get_list("Content-Length")
        return int(lengths[0]) if lengths else 0

    def can_drain(self) -> bool:
        """Whether a refused request's body is small enough to read and discard, keeping the
        connection: announced, at most `DRAIN_LIMIT`, and no ``Expect`` (a client
        waiting for ``100 Continue`` may or may not send it)."""
        length = self.content_length
        return (length is not None and length <= DRAIN_LIMIT
                and "Expect" not in self.request.headers)

    def send_answer(self, answer: EngineResponse) -> None:
        """Send ``answer`` and finish; the connection stays open if the body was read.

        An answer with ``Retry-After`` also says ``Connection: close``: the client waits before
        it calls again, and a connection kept through that wait could reach the server's idle
        timeout just as the client reuses it.
        """
        self.set_status(answer.status, reason(answer.status) or "Unknown")
        for name, value in answer.headers.items():
            self.set_header(name, value)
        if "Retry-After" in answer.headers:
            self.set_header("Connection", "close")
        self.finish(answer.body)

    #: True once `close_with` answered: the handler's methods must not answer again.
    answered_early = False

    async def close_with(self, answer: EngineResponse, *, mid_body: bool = False) -> None:
        """Answer now, leaving the rest of the body unread, then close the connection.

        Await it in ``prepare``: the handler takes the connection over from tornado, which
        stops there. Or return it from ``data_received`` with ``mid_body=True``: tornado reads
        nothing while it waits, then finds the connection closed, which ends the request
        quietly.
        """
        self.answered_early = True
        head = self.request.method == "HEAD"
        data = _raw_answer(answer, head=head, server=self.server_name)
        self._log_answer(answer.status)
        # In prepare tornado has read nothing past the headers: the handler takes the stream.
        stream = (self.request.connection.stream  # type: ignore[union-attr]
                  if mid_body else self.detach())
        await _linger_close(stream, data)

    def cut_off(self, answer: EngineResponse) -> None:
        """Answer now while tornado is still reading the body (from a timer, not from
        ``data_received``), then close the connection: its read ends, and the request with
        it."""
        self.answered_early = True
        self._log_answer(answer.status)
        stream = self.request.connection.stream  # type: ignore[union-attr]
        data = _raw_answer(answer, head=self.request.method == "HEAD", server=self.server_name)

        async def send() -> None:
            try:
                await stream.write(data)
            except (StreamClosedError, OSError):
                pass
            finally:
                stream.close()

        self._cut_off_task = asyncio.ensure_future(send())  # kept: a task is weakly held

    def _log_answer(self, status: int) -> None:
        logger.debug("%s %s -> %d (closing)", self.request.method,
                     self.request.path[:200], status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors tornado raises itself (an unknown method: 405) as the contract's JSON."""
        headers = self.error_headers()
        if status_code == 405:
            headers["Allow"] = ", ".join(self.allowed)
            message = (f"{self.request.method[:40]} is not allowed on "
                       f"{self.request.path[:200]}; use {' or '.join(self.allowed)}")
        else:
            error = kwargs.get("exc_info", (None, None))[1]
            detail = error.log_message if isinstance(error, HTTPError) else None
            message = detail or reason(status_code) or "error"
        answer = json_error(status_code, message, headers)
        for name, value in answer.headers.items():
            self.set_header(name, value)
        self.finish(answer.body)


class JsonHTTPServer(HTTPServer):
    """An ``HTTPServer`` whose connections answer malformed requests with the contract's
    JSON: tornado writes ``HTTP/1.1 400 Bad Request`` with no body and closes; here the same
    write carries ``{"error": ...}``, ``Content-Type`` and ``Connection: close``.

    ``server_name`` names the ``Server`` header; ``error_headers`` are added to the answer.
    """

    def initialize(self, app: Application, *, server_name: str,  # type: ignore[override]
                   error_headers: dict[str, str] | None = None, **settings: Any) -> None:
        # tornado's HTTPServer is configured through ``initialize``, not ``__init__``.
        super().initialize(app, **settings)
        message = ("the request could not be read as HTTP/1.1: a malformed request line, "
                   "header, Content-Length or chunk")
        self._bad_request = _raw_answer(json_error(400, message, error_headers), head=False,
                                        server=server_name)
        self._headers_late = _raw_answer(json_error(
            408, f"the request's headers did not arrive within {HEADER_TIMEOUT:g} s; the "
                 "server closed the connection", error_headers), head=False, server=server_name)

    def handle_stream(self, stream: IOStream, address: tuple) -> None:  # type: ignore[override]
        write = stream.write
        answer = self._bad_request

        def write_json_400(data: bytes | memoryview) -> Any:
            bare = len(data) == len(_TORNADO_BARE_400) and bytes(data) == _TORNADO_BARE_400
            return write(answer if bare else data)

        stream.write = write_json_400  # type: ignore[method-assign]
        self._time_first_headers(stream)
        super().handle_stream(stream, address)

    def _time_first_headers(self, stream: IOStream) -> None:
        """Answer 408 and close ``stream`` unless its first headers are in within
        `HEADER_TIMEOUT` (tornado's own header timeout is `IDLE_TIMEOUT`)."""
        read_until_regex = stream.read_until_regex
        loop = IOLoop.current()
        late = self._headers_late

        async def answer() -> None:
            try:
                await stream.write(late)
                # Half-close and keep reading (tornado's pending read of the headers drains
                # what still comes) before closing: closing with unread bytes would send a
                # reset, which can destroy the 408 before the client has read it.
                stream.socket.shutdown(socket.SHUT_WR)
                await asyncio.sleep(LINGER_SECONDS)
            except (StreamClosedError, OSError, AttributeError):
                pass
            finally:
                stream.close()  # tornado's pending read of the headers ends with it

        def too_slow() -> None:
            if not stream.closed():
                stream._clipdrop_late = asyncio.ensure_future(answer())  # type: ignore[attr-defined]

        timer = loop.call_later(HEADER_TIMEOUT, too_slow)

        def read_head(*args: Any, **kwargs: Any) -> Any:
            stream.read_until_regex = read_until_regex  # type: ignore[method-assign]
            future = read_until_regex(*args, **kwargs)
            future.add_done_callback(lambda _: loop.remove_timeout(timer))
            return future

        stream.read_until_regex = read_head  # type: ignore[method-assign]


class LoopServer:
    """A tornado ``HTTPServer`` for ``app`` on its own thread and event loop.

    Binds in the constructor (an ``OSError`` such as a busy port is raised there), then
    serves until `close`. Attributes: ``host``, ``port`` (the bound ones).
    """

    def __init__(self, app: Application, *, host: str, port: int, name: str,
                 error_headers: dict[str, str] | None = None):
        self._error_headers = error_headers
        sockets = bind_sockets(port, address=host)
        self.host: str = sockets[0].getsockname()[0]
        self.port: int = sockets[0].getsockname()[1]
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._server: HTTPServer | None = None
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start(app, sockets))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()
        started.wait()

    async def _start(self, app: Application, sockets: list[socket.socket]) -> None:
        self._server = JsonHTTPServer(
            app, server_name=self._name, error_headers=self._error_headers,
            idle_connection_timeout=IDLE_TIMEOUT, body_timeout=BODY_TIMEOUT,
            max_body_size=MAX_BODY_SIZE, max_header_size=HEADER_READ_LIMIT)
        self._server.add_sockets(sockets)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.stop()
        try:
            await asyncio.wait_for(self._server.close_all_connections(), 5)
        except asyncio.TimeoutError:
            pass
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Stop accepting, end open connections, stop the loop and join its thread
        (idempotent)."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def wait(self) -> None:
        """Block until the server's thread ends (Ctrl-C raises here, in the main thread)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
