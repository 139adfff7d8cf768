"""Where the room's calls go: the service over HTTP with the room's key, or the local engine.

The room's key lives in `HTTPUpstream` only, is sent only in the ``x-api-key`` header of
upstream requests, and never appears in a repr, an error message or a log line; its `quote`
gives the upstream's error message with the key removed. An answer keeps only the headers the
gateway needs (`kept_headers`), never the upstream's others. A call that got no answer is told
apart by whether it may have reached the upstream (`UNREACHABLE`) or surely did not
(`NOT_SENT`): the first may have been charged there. An answer over `MAX_ANSWER` bytes is not
read (`TOO_LARGE`): the service did the work, so it is charged like `UNREACHABLE`, but the seat
is told the answer was too large, not that there was none. Requests are
re-encoded from the parsed form (fields in the endpoint table's order), so what the service
sees does not depend on how a participant's client framed its multipart body.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPInputError
from tornado.simple_httpclient import HTTPTimeoutError
from urllib3 import encode_multipart_formdata

from ..api.constants import LOCAL_BASE_URL
from ..contract.endpoints import Endpoint
from ..engine.core import ENGINE_HEADER, LocalEngine
from .redact import carries_key, quote_upstream
from .shared_cache import Answer

if TYPE_CHECKING:  # pragma: no cover
    from .bodies import Outgoing

__all__ = ["Upstream", "HTTPUpstream", "LocalUpstream", "encode_form", "kept_headers",
           "UNREACHABLE", "NOT_SENT", "TOO_LARGE", "MAX_ANSWER", "size_text"]

#: Status of an `Answer` when the upstream did not answer a request that may have reached it.
UNREACHABLE = 599
#: Status of an `Answer` when the request surely never left (refused, unknown host, timed out
#: while connecting).
NOT_SENT = 597
#: Status of an `Answer` when the upstream answered with more than `MAX_ANSWER` bytes (its body
#: is the bound, in bytes, as text).
TOO_LARGE = 598
#: The most bytes of one upstream answer the gateway reads (tornado's own default): the
#: service's largest answers (a 4096x4096 PNG) are a fraction of it.
MAX_ANSWER = 100 * 1024 * 1024
#: Seconds an upstream call may take, connection included: well inside the package client's
#: 120 s to read an answer (`constants.DEFAULT_TIMEOUT`), so a slow call is answered (a 502,
#: charged) before the participant's client gives up on it; at 150 s a call taking 120-150 s
#: was charged and its picture lost to a client that had already left (att23 #8).
UPSTREAM_TIMEOUT = 100.0
#: Credits of the in-process local engine a rehearsal runs on (the seats' budgets are what
#: limit a room; this only has to outlast them).
REHEARSAL_CREDITS = 1_000_000
_MAGIC = ((b"\x89PNG", "png", "image/png"), (b"\xff\xd8", "jpg", "image/jpeg"),
          (b"RIFF", "webp", "image/webp"))


def _file_part(name: str, data: bytes) -> tuple[str, bytes, str]:
    for magic, ext, mime in _MAGIC:
        if data.startswith(magic):
            return f"{name}.{ext}", data, mime
    return name, data, "application/octet-stream"


def encode_form(endpoint: Endpoint, texts: dict[str, str],
                files: dict[str, bytes]) -> tuple[bytes, str]:
    """The multipart body and its Content-Type, fields in the endpoint table's order."""
    fields: list[tuple[str, str | tuple[str, bytes, str]]] = []
    for declared in endpoint.fields:
        if declared.name in texts:
            fields.append((declared.name, texts[declared.name]))
        elif declared.name in files:
            fields.append((declared.name, _file_part(declared.name, files[declared.name])))
    return encode_multipart_formdata(fields)


class Upstream(Protocol):
    """Sends one call of the room and returns the answer (never raises for HTTP statuses)."""

    source: str

    async def send(self, endpoint: Endpoint, body: Outgoing) -> Answer: ...

    def quote(self, body: bytes) -> str: ...

    def close(self) -> None: ...


def kept_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers of an upstream answer the gateway reads: the bare media type, the credits
    consumed, ``Retry-After`` and the local engine's marker (only with its one value)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    kept = {}
    if "content-type" in lowered:
        kept["content-type"] = lowered["content-type"].split(";")[0].strip().lower()[:100]
    for name in ("x-credits-consumed", "retry-after"):
        if name in lowered:
            kept[name] = lowered[name][:40]
    if lowered.get(ENGINE_HEADER[0]) == ENGINE_HEADER[1]:
        kept[ENGINE_HEADER[0]] = ENGINE_HEADER[1]
    return kept


def size_text(size: int) -> str:
    """``size`` bytes for a person: whole megabytes (MiB) as ``100 MB``, else bytes."""
    mib = 1024 * 1024
    return f"{size // mib} MB" if size >= mib and size % mib == 0 else f"{size} bytes"


class _Reading:
    """One answer read in pieces, up to ``bound`` bytes (decompressed): past it, or at a
    ``Content-Length`` saying so, `over` is set and tornado stops reading (an
    `HTTPInputError` from these callbacks closes the connection without a traceback)."""

    def __init__(self, bound: int):
        self.bound = bound
        self.over = False
        self._pieces: list[bytes] = []
        self._size = 0

    def header(self, line: str) -> None:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit() \
                and int(value.strip()) > self.bound:
            self._stop()

    def piece(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.bound:
            self._pieces.clear()
            self._stop()
        self._pieces.append(data)

    def _stop(self) -> None:
        self.over = True
        raise HTTPInputError(f"the answer is over {self.bound} bytes")

    def body(self) -> bytes:
        return b"".join(self._pieces)


def _never_sent(error: BaseException | None) -> bool:
    """Whether a failed request surely never reached the upstream."""
    if isinstance(error, (ConnectionRefusedError, socket.gaierror)):
        return True
    return isinstance(error, HTTPTimeoutError) and "during request" not in str(error)


class HTTPUpstream:
    """The service (or any server with its contract) at ``url``, called with ``key``;
    ``timeout`` seconds per call, connection included (default 150); ``max_answer`` bytes of
    an answer read at most (default `MAX_ANSWER`)."""

    source = "service"

    def __init__(self, url: str, key: str, *, max_clients: int = 256,
                 timeout: float = UPSTREAM_TIMEOUT, max_answer: int | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_answer = MAX_ANSWER if max_answer is None else max_answer
        self._key = key
        # tornado's own bound only closes the connection (a "did not answer" like any other):
        # `_Reading` enforces ours, and tornado's is a backstop well past it.
        self._http = AsyncHTTPClient(force_instance=True, max_clients=max_clients,
                                     max_body_size=2 * self.max_answer + 65536)

    def __repr__(self) -> str:
        return f"HTTPUpstream({self.url!r}, key=***)"

    async def send(self, endpoint: Endpoint, body: Outgoing) -> Answer:
        async def produce(write: Any) -> None:  # the spooled body, in pieces
            for piece in body.pieces():
                await write(piece)

        reading = _Reading(self.max_answer)
        request = HTTPRequest(
            self.url + endpoint.path, method="POST", body_producer=produce,
            headers={"x-api-key": self._key, "Accept": body.accept,
                     "Content-Type": body.content_type, "Content-Length": str(body.length),
                     "User-Agent": "clipdrop-widgets-gateway"},
            follow_redirects=False, request_timeout=self.timeout,
            connect_timeout=min(10.0, self.timeout), decompress_response=True,
            header_callback=reading.header, streaming_callback=reading.piece)
        try:  # raise_error=False still raises what is not an HTTP answer (refused, DNS)
            response = await self._http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as err:
            if reading.over:
                return Answer(TOO_LARGE, {}, str(self.max_answer).encode())
            status = NOT_SENT if _never_sent(err) else UNREACHABLE
            return Answer(status, {}, type(err).__name__.encode())
        if reading.over:  # pragma: no cover - tornado raises these
            return Answer(TOO_LARGE, {}, str(self.max_answer).encode())
        if response.code == UNREACHABLE or response.code < 200:
            reason = type(response.error).__name__ if response.error else "no answer"
            status = NOT_SENT if _never_sent(response.error) else UNREACHABLE
            return Answer(status, {}, reason.encode())
        return Answer(response.code, kept_headers(dict(response.headers.get_all())),
                      reading.body())

    def quote(self, body: bytes) -> str:
        """The upstream's error message in ``body``, safe to show a seat (no room key)."""
        return quote_upstream(body, self._key)

    def carries_key(self, body: bytes) -> bool:
        """Whether an answer's bytes carry the room's key (`redact.carries_key`)."""
        return carries_key(body, self._key)

    def close(self) -> None:
        self._http.close()


class LocalUpstream:
    """The local engine in this process (offline previews), for rehearsing a workshop."""

    source = "local engine"
    url = LOCAL_BASE_URL

    def __init__(self, engine: LocalEngine | None = None, *, workers: int = 4):
        self.engine = engine or LocalEngine(require_key=False, credits=REHEARSAL_CREDITS)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="gateway-engine")

    def __repr__(self) -> str:
        return f"LocalUpstream({self.engine!r})"

    async def send(self, endpoint: Endpoint, body: Outgoing) -> Answer:
        headers = {"Accept": body.accept, "Content-Type": body.content_type}
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(
            self._pool, self.engine.handle, "POST", endpoint.path, headers, body.reader(),
            body.length)
        return Answer(answer.status, kept_headers(answer.headers), answer.body)

    def quote(self, body: bytes) -> str:
        """The engine's error message in ``body`` (it has no room key)."""
        return quote_upstream(body, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
