"""A ``requests`` transport adapter that answers from a
[`LocalEngine`][clipdrop_widgets.LocalEngine] in-process.

>>> session = requests.Session()
>>> session.mount("local://", LocalEngineAdapter(LocalEngine()))
>>> session.post("local://engine/text-to-image/v1", data={"prompt": "a fox"},
...              headers={"x-api-key": "k"})

No socket is opened; the `requests.Response` is built by ``requests`` itself from a
`urllib3.HTTPResponse`, so headers, ``content``, ``json()`` and ``raise_for_status()``
behave as over HTTP. The work runs on the engine's bounded pool, as over HTTP: with every
worker busy and the queue full, the answer is 503 with ``Retry-After``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPHeaderDict, HTTPResponse

from .core import LocalEngine
from .forms import Readable

__all__ = ["LocalEngineAdapter"]


class _IterStream:
    """A readable stream over an iterable of bytes (or str) chunks, as ``requests`` may send."""

    def __init__(self, chunks: Iterable[bytes | str]):
        self._chunks: Iterator[bytes | str] = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            self._buffer += chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        if size < 0:
            size = len(self._buffer)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _body_stream(body: Any, headers: Mapping[str, str]) -> tuple[Readable, int | None]:
    """The prepared body as a stream, and its length in bytes (``None`` when unknown)."""
    if body is None:
        return io.BytesIO(), 0
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(body)), len(body)
    declared = headers.get("Content-Length")
    length = int(declared) if declared and declared.isdigit() else None
    if hasattr(body, "read"):
        return body, length
    return _IterStream(body), length


class LocalEngineAdapter(BaseAdapter):
    """Serves ``local://<any host>/<endpoint path>`` from ``engine``, with no socket.

    The URL's host is ignored (``local://engine/cleanup/v1`` is the convention); its path
    routes the request. ``timeout``, ``verify``, ``cert`` and ``proxies`` do not apply.
    """

    def __init__(self, engine: LocalEngine):
        super().__init__()
        self.engine = engine

    def __repr__(self) -> str:
        return f"LocalEngineAdapter({self.engine!r})"

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Answer ``request`` from the engine (requests leaves ``local://`` URLs unprepared)."""
        url = request.url if isinstance(request.url, str) else (request.url or b"").decode()
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = request.headers or {}
        body, length = _body_stream(request.body, headers)
        method = (request.method or "GET").upper()
        answer = self.engine.handle(method, target, dict(headers), body, length)
        raw = HTTPResponse(
            body=io.BytesIO(b"" if method == "HEAD" else answer.body),
            headers=HTTPHeaderDict({**answer.headers, "Content-Length": str(len(answer.body))}),
            status=answer.status,
            version=11,
            version_string="HTTP/1.1",
            reason=answer.reason,
            preload_content=False,
            decode_content=False,
            request_method=method,
            request_url=url,
        )
        # build_response uses its ``self`` only as ``response.connection``: this adapter.
        return HTTPAdapter.build_response(self, request, raw)  # type: ignore[arg-type]

    def close(self) -> None:
        """Nothing to release: no connection is ever opened."""
