"""Request bodies off the heap: a room of 58 MB uploads must not hold gigabytes.

A body is spooled to a temporary file as it arrives (beyond `SPOOL_AT` bytes it is on disk, not
in memory). Parsing and validating it needs it in memory, decoded: `BodyBudget` lets bodies
into that step only while the room's total (`PARSE_COST` times each body's size) stays under
its cap (`DEFAULT_BODY_MEMORY`), in arrival order; a body under `SMALL_BODY` never waits, and
is parsed on a thread of its own, so a light seat's prompt is not held behind a queue of
photos. `prepare` parses and validates from the spool, computes the shared
cache's key, re-encodes the upstream request into a new spool and drops the parsed form: what
waits for an upstream slot is a file, read in pieces again when the call is sent.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO

from ..contract.endpoints import Endpoint
from ..contract.errors import InputError
from ..contract.validation import inspect_image, validate_request
from ..engine.forms import FormError, parse_form
from .settle import Refusal
from .shared_cache import request_key
from .upstream import encode_form

__all__ = ["BodyBudget", "Outgoing", "prepare", "spool", "SPOOL_AT", "SMALL_BODY",
           "DEFAULT_BODY_MEMORY", "PARSE_COST"]

#: Bytes of a body kept in memory before its spool moves to disk.
SPOOL_AT = 1024 * 1024
#: Bodies up to this size are parsed without waiting for the room's budget.
SMALL_BODY = 2 * 1024 * 1024
#: Bytes the room may spend parsing and validating bodies at once (default 128 MB).
DEFAULT_BODY_MEMORY = 128 * 1024 * 1024
#: Memory a body takes while parsed, per byte of it: the body read, its files, the upstream
#: request re-encoded, a mask decoded (measured: about 4).
PARSE_COST = 4
_PIECE = 256 * 1024


def spool() -> IO[bytes]:
    """A temporary file that stays in memory up to `SPOOL_AT` bytes, then moves to disk."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_AT)


@dataclass
class Outgoing:
    """The request the upstream will get: a spooled multipart ``file`` of ``length`` bytes,
    its ``content_type``, the ``accept`` it asks for, and the shared cache's ``key`` of the
    request it came from."""

    file: IO[bytes]
    length: int
    content_type: str
    accept: str
    key: str
    #: The most the call can cost (credits): the endpoint table's most, for the parsed form
    #: (upscale: by its output megapixels); the charge is settled from the answer's headers.
    cost: float = 0.0
    #: Whether the shared cache may answer it (reimagine, or uncrop without a seed: never).
    repeatable: bool = True
    #: Called once per send, just before its last piece goes out (the ledger's `mark_sent`).
    before_last: Callable[[], None] | None = None

    def pieces(self) -> Iterator[bytes]:
        """The body from its start, in pieces (each send reads it again); `before_last` runs
        before the last piece is handed over."""
        self.file.seek(0)
        piece = self.file.read(_PIECE)
        while piece:
            following = self.file.read(_PIECE)
            if not following and self.before_last is not None:
                self.before_last()
            yield piece
            piece = following

    def reader(self) -> IO[bytes]:
        """The file, rewound, for a blocking reader (it goes out whole: `before_last` first)."""
        if self.before_last is not None:
            self.before_last()
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


def prepare(endpoint: Endpoint, content_type: str | None, body: IO[bytes], length: int,
            answer_type: str) -> Outgoing:
    """Parse and validate ``body`` (a `Refusal` 400 if not), then spool the upstream request.

    Blocking (a worker thread): decodes images. The parsed form is gone when it returns.
    """
    body.seek(0)
    try:
        form = parse_form(endpoint, content_type, body, length)
        validate_request(endpoint, form.texts, form.files)
    except (FormError, InputError) as err:
        raise Refusal(400, str(err)) from None
    except Exception as err:  # noqa: BLE001 - the mask check decodes: a broken file raises anything
        raise Refusal(400, f"an uploaded image could not be decoded: {err}") from None
    key = request_key(endpoint.path, answer_type, form.texts, form.files)
    image = endpoint.image_field
    data = form.files.get(image.name) if image is not None else None
    cost = float(endpoint.max_credits(form.texts, inspect_image(data).size if data else None))
    repeatable = endpoint.repeatable(form.texts)
    encoded, encoded_type = encode_form(endpoint, form.texts, form.files)
    del form
    out = spool()
    view = memoryview(encoded)
    for start in range(0, len(view), _PIECE):
        out.write(view[start:start + _PIECE])
    size = len(encoded)
    del view, encoded
    return Outgoing(out, size, encoded_type, answer_type, key, cost=cost, repeatable=repeatable)


@dataclass
class BodyBudget:
    """Bytes of bodies being parsed at once, room-wide; ``limit`` bytes (default 128 MB)."""

    limit: int = DEFAULT_BODY_MEMORY
    used: int = 0
    _waiting: deque[tuple[int, asyncio.Future[None]]] = field(default_factory=deque)

    @property
    def waiting(self) -> int:
        """Bodies waiting for room to be parsed."""
        return sum(1 for _, f in self._waiting if not f.done())

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the budget for the block (a small body holds none)."""
        size = 0 if size <= SMALL_BODY else min(PARSE_COST * size, self.limit)
        if size and (self._waiting or self.used + size > self.limit):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append((size, future))
            try:
                await future
            except asyncio.CancelledError:
                if future.cancelled():
                    self._waiting = deque(w for w in self._waiting if w[1] is not future)
                else:
                    self.used -= size
                self._wake()
                raise
        else:
            self.used += size
        try:
            yield
        finally:
            self.used -= size
            self._wake()

    def _wake(self) -> None:
        while self._waiting:
            size, future = self._waiting[0]
            if future.done():
                self._waiting.popleft()
                continue
            if self.used and self.used + size > self.limit:
                return
            self._waiting.popleft()
            self.used += size
            future.set_result(None)
