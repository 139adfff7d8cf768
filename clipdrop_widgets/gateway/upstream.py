"""Where the room's calls go: the service over HTTP with the room's key, or the local engine.

The room's key lives in `HTTPUpstream` only, is sent only in the ``x-api-key`` header of
upstream requests, and never appears in a repr, an error message or a log line; its `quote`
gives the upstream's error message with the key removed. An answer keeps only the headers the
gateway needs (`kept_headers`), never the upstream's others. A call that got no answer is told
apart by whether it may have reached the upstream (`UNREACHABLE`) or surely did not
(`NOT_SENT`): the first may have been charged there. Requests are
re-encoded from the parsed form (fields in the endpoint table's order), so what the service
sees does not depend on how a participant's client framed its multipart body.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.simple_httpclient import HTTPTimeoutError
from urllib3 import encode_multipart_formdata

from ..api.constants import LOCAL_BASE_URL
from ..contract.endpoints import Endpoint
from ..engine.core import ENGINE_HEADER, LocalEngine
from .redact import quote_upstream
from .shared_cache import Answer

if TYPE_CHECKING:  # pragma: no cover
    from .bodies import Outgoing

__all__ = ["Upstream", "HTTPUpstream", "LocalUpstream", "encode_form", "kept_headers",
           "UNREACHABLE", "NOT_SENT"]

#: Status of an `Answer` when the upstream did not answer a request that may have reached it.
UNREACHABLE = 599
#: Status of an `Answer` when the request surely never left (refused, unknown host, timed out
#: while connecting).
NOT_SENT = 597
#: Seconds an upstream call may take, connection included.
UPSTREAM_TIMEOUT = 150.0
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


def _never_sent(error: BaseException | None) -> bool:
    """Whether a failed request surely never reached the upstream."""
    if isinstance(error, (ConnectionRefusedError, socket.gaierror)):
        return True
    return isinstance(error, HTTPTimeoutError) and "during request" not in str(error)


class HTTPUpstream:
    """The service (or any server with its contract) at ``url``, called with ``key``;
    ``timeout`` seconds per call, connection included (default 150)."""

    source = "service"

    def __init__(self, url: str, key: str, *, max_clients: int = 256,
                 timeout: float = UPSTREAM_TIMEOUT):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._key = key
        self._http = AsyncHTTPClient(force_instance=True, max_clients=max_clients)

    def __repr__(self) -> str:
        return f"HTTPUpstream({self.url!r}, key=***)"

    async def send(self, endpoint: Endpoint, body: Outgoing) -> Answer:
        async def produce(write: Any) -> None:  # the spooled body, in pieces
            for piece in body.pieces():
                await write(piece)

        request = HTTPRequest(
            self.url + endpoint.path, method="POST", body_producer=produce,
            headers={"x-api-key": self._key, "Accept": body.accept,
                     "Content-Type": body.content_type, "Content-Length": str(body.length),
                     "User-Agent": "clipdrop-widgets-gateway"},
            follow_redirects=False, request_timeout=self.timeout,
            connect_timeout=min(10.0, self.timeout), decompress_response=True)
        try:  # raise_error=False still raises what is not an HTTP answer (refused, DNS)
            response = await self._http.fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as err:
            status = NOT_SENT if _never_sent(err) else UNREACHABLE
            return Answer(status, {}, type(err).__name__.encode())
        if response.code == UNREACHABLE or response.code < 200:
            reason = type(response.error).__name__ if response.error else "no answer"
            status = NOT_SENT if _never_sent(response.error) else UNREACHABLE
            return Answer(status, {}, reason.encode())
        return Answer(response.code, kept_headers(dict(response.headers.get_all())),
                      response.body or b"")

    def quote(self, body: bytes) -> str:
        """The upstream's error message in ``body``, safe to show a seat (no room key)."""
        return quote_upstream(body, self._key)

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
