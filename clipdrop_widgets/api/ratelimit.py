"""Client-side rate limiting: never more than N requests in any trailing window.

A sliding log, not a token bucket: a bucket allows a burst on top of its rate and so draws 429s
from a server that counts requests in a sliding window. A request's slot is held from the moment
it is sent; it starts to age at the latest moment the server can have counted it: when the body
has been sent plus a safety margin (`SAFETY_MARGIN`), or when the answer arrived if that
came first. So the server never counts more than N in its own window, and a slow answer (seconds
of image generation) does not hold the slot for its whole duration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..contract.errors import ConfigurationError

__all__ = ["RateLimiter", "Slot", "SAFETY_MARGIN"]

#: Seconds added to the moment a request body was sent, to cover its trip to the server.
SAFETY_MARGIN = 1.0


class Slot:
    """One request's place in the window; call `sent` when its body has gone out."""

    __slots__ = ("_clock", "sent_at")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.sent_at: float | None = None

    def sent(self) -> None:
        """Record that the request body has been handed to the network (now)."""
        self.sent_at = self._clock()


class RateLimiter:
    """At most ``requests_per_minute`` requests in any ``window`` seconds (default 60).

    Thread-safe: concurrent callers of `slot` queue for free slots. ``clock`` and
    ``sleep`` can be replaced in tests.
    """

    def __init__(
        self,
        requests_per_minute: float,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if requests_per_minute <= 0:
            raise ConfigurationError(
                f"requests_per_minute must be positive, got {requests_per_minute}")
        self.limit = max(1, int(requests_per_minute * window / 60.0))
        self.window = window
        self._clock = clock
        self._done: list[float] = []  # finish times of answered requests, oldest first
        self._in_flight = 0
        self._cond = threading.Condition()

    def _prune(self, now: float) -> None:
        cutoff = now - self.window
        i = 0
        while i < len(self._done) and self._done[i] <= cutoff:
            i += 1
        del self._done[:i]

    def delay(self) -> float:
        """Seconds until a slot frees up (0 when one is free now)."""
        with self._cond:
            return self._delay(self._clock())

    def _delay(self, now: float) -> float:
        self._prune(now)
        if self._in_flight + len(self._done) < self.limit:
            return 0.0
        if not self._done:  # every slot is in flight: wait for an answer
            return float("inf")
        return self._done[0] + self.window - now

    @contextmanager
    def slot(self, *, cancel: threading.Event | None = None) -> Iterator[Slot]:
        """Hold a slot for one request: blocks until one is free; released when the block ends.

        If ``cancel`` is set while waiting, raises `Cancelled` and takes no slot.
        """
        with self._cond:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled while waiting for a rate-limit slot")
                wait = self._delay(self._clock())
                if wait <= 0:
                    break
                if cancel is not None:  # wake up now and then to look at the event
                    wait = min(wait, 0.1)
                self._cond.wait(None if wait == float("inf") else wait)
            self._in_flight += 1
        slot = Slot(self._clock)
        try:
            yield slot
        finally:
            with self._cond:
                self._in_flight -= 1
                now = self._clock()
                aged_from = now if slot.sent_at is None else min(now,
                                                                 slot.sent_at + SAFETY_MARGIN)
                self._done.append(aged_from)
                self._done.sort()
                self._cond.notify_all()


class Cancelled(Exception):
    """Raised by `RateLimiter.slot` when its ``cancel`` event is set while it waits."""
