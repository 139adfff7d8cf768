"""How request bodies come in: a byte budget for the bodies held, and a least upload rate.

A request no longer holds a work place while its body arrives (`work`), so two other bounds
keep the server whole however clients send:

- `BodyBudget`: the bytes of bodies the server holds at once (announced, or the endpoint's
  cap when chunked), from the moment a body may be read until its answer. A request that does
  not fit waits, before a byte of its body is read, in arrival order; after
  `RESERVE_WAIT` seconds it gets 503. Memory for bodies is bounded, and a burst of big
  uploads is taken in turn rather than refused. A small body (at most `SMALL_BODY`)
  never queues behind big ones: it is read at once from a reserve of its own
  (`SMALL_RESERVE`), so a few slow uploads that announce huge bodies, filling the budget, do
  not stall every normal request (only once the reserve is full does a small body queue).
- `UploadWatch`: a body must arrive at `MIN_UPLOAD_RATE` bytes a second, counted over
  windows of `UPLOAD_WINDOW` seconds; a slower one is cut off with a 408. Eight sockets
  trickling a byte a second hold their few bytes for ten seconds, and nobody's place.

Both are used on the server's event loop thread only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from ..contract.endpoints import MB, Endpoint

__all__ = ["BODY_BUDGET", "SMALL_BODY", "SMALL_RESERVE", "MIN_UPLOAD_RATE", "UPLOAD_WINDOW",
           "RESERVE_WAIT", "BodyBudget", "UploadWatch", "form_megapixels", "job_megapixels"]

#: Bytes of request bodies held at once (a few of the largest uploads the contract allows).
BODY_BUDGET = 256 * MB
#: Bodies of at most this many bytes are read at once, from `SMALL_RESERVE`.
SMALL_BODY = 2 * MB
#: Bytes of small bodies held at once beside `BODY_BUDGET` (32 of the largest small bodies).
SMALL_RESERVE = 64 * MB
#: Least bytes a second a body must arrive at, over each `UPLOAD_WINDOW`.
MIN_UPLOAD_RATE = 1024
#: Seconds over which the upload rate is measured (the first window is the grace).
UPLOAD_WINDOW = 10.0
#: Seconds a request waits for room in the budget before it gets 503.
RESERVE_WAIT = 60.0


class BodyBudget:
    """Bytes of bodies held, at most ``limit``; waiters are served in arrival order.

    A body larger than ``limit`` is counted as ``limit`` (it then waits for an empty budget).
    A body of at most ``small`` bytes is taken at once from a reserve of ``reserve`` bytes
    while that has room (``held_small``), whoever waits in the queue.
    """

    def __init__(self, limit: int = BODY_BUDGET, *, small: int = SMALL_BODY,
                 reserve: int = SMALL_RESERVE) -> None:
        self.limit = limit
        self.small = small
        self.reserve_limit = reserve
        self.held = 0
        self.held_small = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, size: int) -> bool:
        return self.held == 0 or self.held + size <= self.limit

    async def reserve(self, size: int, *, timeout: float = RESERVE_WAIT) -> int | None:
        """Wait for room for ``size`` bytes; a token for the bytes reserved (give it back
        with `give`; negative when taken from the small reserve, never 0 for a size above
        0), or ``None`` after ``timeout`` seconds without room."""
        if size <= self.small and self.held_small + size <= self.reserve_limit:
            self.held_small += size
            return -size  # negative: held in the small reserve
        size = min(size, self.limit)
        if not self._waiters and self._fits(size):
            self.held += size
            return size
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((size, waiter))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            if waiter.done() and not waiter.cancelled():  # granted as the time ran out
                return size
            waiter.cancel()
            self._wake()
            return None
        except asyncio.CancelledError:  # the connection went away while waiting
            if waiter.done() and not waiter.cancelled():
                self.give(size)
            waiter.cancel()
            self._wake()
            raise
        return size

    def give(self, size: int) -> None:
        """Give back what `reserve` returned (its body's answer is sent, or it went away)."""
        if size < 0:
            self.held_small += size
            return
        self.held -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            size, waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if not self._fits(size):
                return
            self._waiters.popleft()
            self.held += size
            waiter.set_result(None)


class UploadWatch:
    """Counts a body's bytes; `too_slow` says when a window passed below the least rate."""

    def __init__(self, *, rate: float = MIN_UPLOAD_RATE, window: float = UPLOAD_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.window = window
        self._clock = clock
        self._start = clock()
        self._bytes = 0

    def fed(self, size: int) -> None:
        self._bytes += size

    def too_slow(self) -> bool:
        """At the end of a window: whether it brought fewer than ``rate`` bytes a second
        (a new window starts either way); ``False`` within a window."""
        now = self._clock()
        seconds = now - self._start
        if seconds < self.window:
            return False
        slow = self._bytes < self.rate * seconds
        self._start, self._bytes = now, 0
        return slow


def form_megapixels(files: dict[str, bytes]) -> float:
    """Megapixels of the images in ``files``, read from their headers (nothing decoded); an
    unreadable file counts 0 (validation refuses it), and a job weighs at least 1."""
    import io

    from PIL import Image

    pixels = 0
    for data in files.values():
        try:
            with Image.open(io.BytesIO(data)) as im:
                pixels += im.size[0] * im.size[1]
        except Exception:  # noqa: BLE001 - any unreadable file is validation's to refuse
            continue
    return max(1.0, pixels / 1e6)


def job_megapixels(endpoint: Endpoint, texts: dict[str, str], files: dict[str, bytes]) -> float:
    """The weight a job runs with: the megapixels of its input images or of its answer,
    whichever is larger (an uncrop of a 10 MP photo answers up to 51 MP, an upscale of a
    thumbnail 16.8 MP: the answer is what takes the memory). From the headers and the
    fields as sent; a value validation will refuse counts as no answer size."""
    import io

    from PIL import Image

    weight = form_megapixels(files)
    size = None
    if endpoint.image_field is not None and endpoint.image_field.name in files:
        try:
            with Image.open(io.BytesIO(files[endpoint.image_field.name])) as im:
                size = im.size
        except Exception:  # noqa: BLE001 - validation refuses it
            pass
    try:
        answer = endpoint.answer_size(texts, size)
    except (TypeError, ValueError):  # "abc" for a number: refused by validation
        answer = None
    if answer is not None and answer[0] > 0 and answer[1] > 0:
        weight = max(weight, answer[0] * answer[1] / 1e6)
    return weight
