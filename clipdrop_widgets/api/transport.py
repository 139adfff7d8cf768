"""One attempt on the wire, bounded in time and in bytes, whatever the server does.

``requests`` bounds each socket read, not a request: a server that drips one byte every half
second, or repeats ``100 Continue``, holds a call for as long as it likes. Here every attempt
has a `Watch`: a deadline, and a timer that shuts the attempt's socket down when it
passes, so a blocked read or send returns at once. The connection classes installed by
`WatchedAdapter` tell the current watch (a context variable, set by the client around
one attempt) which socket is theirs, from the moment it is made or reused.

The answer's body is then read here, counted against a cap as it streams, and inflated
(``gzip``, ``deflate``) under the same cap, so neither a huge body nor a small compressed
bomb can take the memory.
"""

from __future__ import annotations

import contextvars
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ProtocolError

__all__ = ["Watch", "WatchedAdapter", "AnswerTooLarge", "UnreadableEncoding", "read_body",
           "watching"]

#: Bytes read from the socket at a time while streaming an answer.
CHUNK = 64 * 1024
#: Content encodings this client asks for and inflates (``Accept-Encoding``).
ACCEPT_ENCODING = "gzip, deflate"

_current: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("clipdrop_watch",
                                                                         default=None)
_owners = threading.Lock()  # guards which watch owns a connection, and the shutdowns


class Watch:
    """The deadline of one attempt, and the socket it may shut down when time runs out.

    ``connect`` bounds connecting; ``answer`` bounds everything after (sending the request,
    waiting, reading the whole answer); ``total``, when given, bounds the attempt as a whole.
    """

    def __init__(self, *, connect: float, answer: float, total: float | None = None) -> None:
        self.started = time.monotonic()
        self.connect = connect
        self.answer = answer
        self.deadline = self.started + (total if total is not None else connect + answer)
        self.expired = False
        self.connected = False
        self.finished = False
        self._conn: Any = None
        self._dup: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._arm()

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.deadline - time.monotonic()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(max(0.0, self.remaining()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _own(self, conn: Any, sock: socket.socket | None) -> None:
        """``conn`` is this attempt's connection; ``sock`` its socket, once there is one."""
        with _owners:
            conn._clipdrop_watch = self
            with self._lock:
                if self.finished:
                    return
                self._conn = conn
                if sock is not None and self._dup is None:
                    # A descriptor of our own: shutting it down reaches the connection even
                    # while TLS has the socket object, and it cannot be reused for another.
                    self._dup = socket.socket(fileno=os.dup(sock.fileno()))
                    self._on_connected()

    def _on_connected(self) -> None:
        if not self.connected:
            self.connected = True
            answer_deadline = time.monotonic() + self.answer
            if answer_deadline < self.deadline:
                self.deadline = answer_deadline
                self._arm()

    def _expire(self) -> None:
        with _owners, self._lock:
            if self.finished:
                return
            if self.remaining() > 0.001:  # the deadline moved: wait for the new one
                self._arm()
                return
            self.expired = True
            if self._dup is not None and getattr(self._conn, "_clipdrop_watch", None) is self:
                with suppress(OSError):
                    self._dup.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        """The attempt is over: stop the timer and let go of the connection."""
        with _owners, self._lock:
            self.finished = True
            if self._timer is not None:
                self._timer.cancel()
            if self._dup is not None:
                self._dup.close()
                self._dup = None
            if getattr(self._conn, "_clipdrop_watch", None) is self:
                self._conn._clipdrop_watch = None
            self._conn = None


@contextmanager
def watching(watch: Watch | None) -> Iterator[Watch | None]:
    """Make ``watch`` the current attempt's for the block; finished when the block ends."""
    token = _current.set(watch)
    try:
        yield watch
    finally:
        _current.reset(token)
        if watch is not None:
            watch.finish()


class _Watched:
    """Mixin for urllib3 connections: report the socket to the current attempt's watch."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        watch = _current.get()
        if watch is not None:
            watch._own(self, sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = _current.get()
        if watch is not None:
            watch._own(self, getattr(self, "sock", None))
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections (direct or through a proxy) are watched."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


# -- the body ----------------------------------------------------------------------------------
class AnswerTooLarge(Exception):
    """The answer passed its cap (``cap`` bytes, after inflating)."""

    def __init__(self, cap: int, *, compressed: bool = False, declared: int | None = None):
        super().__init__(cap)
        self.cap = cap
        self.compressed = compressed
        self.declared = declared


class HeadersBrokeOff(ProtocolError):
    """A 2xx whose head ended without its end (the connection closed in the headers, or at
    the deadline): no length, no chunks, no body. Classified as a lost answer, or a timeout
    when the deadline passed (`attempt.failure`)."""


class UnreadableEncoding(Exception):
    """The answer's ``Content-Encoding`` is not one this client asked for, or is corrupt."""


def _inflater(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":  # zlib-wrapped as the RFC says; raw deflate is tried on failure
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise UnreadableEncoding(f"the answer is encoded as {encoding!r}, which was not asked for")


def read_body(response: requests.Response, *, cap: int, watch: Watch | None) -> bytes:
    """The whole body of a streamed ``response``: at most ``cap`` bytes, inflated.

    Raises `AnswerTooLarge` past the cap (declared, received or inflated),
    `UnreadableEncoding` for an encoding not asked for or corrupt; connection errors
    (``urllib3`` or ``OSError``) and `TimeoutError` past the watch's deadline pass.
    """
    declared = response.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > cap:
        raise AnswerTooLarge(cap, declared=int(declared))
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflate = None if encoding in ("", "identity") else _inflater(encoding)
    parts: list[bytes] = []
    size = received = 0
    for chunk in response.raw.stream(CHUNK, decode_content=False):
        if watch is not None and watch.remaining() <= 0:
            raise TimeoutError("the answer did not end before the deadline")
        received += len(chunk)
        if received > cap:
            raise AnswerTooLarge(cap, compressed=inflate is not None)
        pieces = [chunk]
        if inflate is not None:
            inflate, pieces = _inflate(inflate, chunk, cap - size, first=not parts)
        size += sum(len(p) for p in pieces)
        if size > cap:
            raise AnswerTooLarge(cap, compressed=True)
        parts += pieces
    if not parts and _broke_off(response):
        raise HeadersBrokeOff("the answer's headers broke off")
    if inflate is not None:
        if not inflate.eof:
            raise UnreadableEncoding(f"the {encoding} answer ended before its end mark")
        parts.append(inflate.flush())
    return b"".join(parts)


def _broke_off(response: requests.Response) -> bool:
    """Whether an empty ``response`` is what is left of headers that broke off: a 2xx (not
    204) that gave no length and no chunks. A whole 2xx answer of the API is an image, with
    its type and length; http.client takes ``HTTP/1.1 200 OK\\r\\nContent-Ty`` then a close
    for a 200 with no headers and an empty body."""
    headers = response.headers
    return (200 <= response.status_code < 300 and response.status_code != 204
            and "content-length" not in headers and "transfer-encoding" not in headers)


def _inflate(d: Any, data: bytes, room: int, *, first: bool) -> tuple[Any, list[bytes]]:
    """Inflate ``data`` with ``d``, stopping past ``room`` bytes (the caller then refuses).

    Output comes in pieces of at most `CHUNK` * 16 bytes, so memory stays near what was
    inflated. Returns the inflater (a raw-deflate one when ``deflate`` came without its zlib
    wrapper, known from the ``first`` chunk) and the pieces.
    """
    step = CHUNK * 16
    try:
        out = [d.decompress(data, min(room + 1, step))]
    except zlib.error:
        if not first:
            raise UnreadableEncoding("the compressed answer is corrupt") from None
        d = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without its zlib wrapper
        try:
            out = [d.decompress(data, min(room + 1, step))]
        except zlib.error:
            raise UnreadableEncoding("the compressed answer is corrupt") from None
    made = len(out[0])
    while made <= room and d.unconsumed_tail:
        try:
            out.append(d.decompress(d.unconsumed_tail, min(room - made + 1, step)))
        except zlib.error:
            raise UnreadableEncoding("the compressed answer is corrupt") from None
        made += len(out[-1])
    return d, out
