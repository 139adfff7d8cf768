"""Client-side rate limiting: never more than N requests in any trailing window.

A sliding log, not a token bucket: a bucket allows a burst on top of its rate and so draws 429s
from a server that counts requests in a sliding window. A request's slot is held from the moment
it is sent until its answer arrives, and only then starts to age, so the server (which sees a
request between those two moments) can never count more than N in its own window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``requests_per_minute`` requests in any ``window`` seconds (default 60).

    Thread-safe: concurrent callers of :meth:`slot` queue for free slots. ``clock`` and
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
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
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
    def slot(self) -> Iterator[None]:
        """Hold a slot for one request: blocks until one is free; released when the block ends."""
        with self._cond:
            while True:
                wait = self._delay(self._clock())
                if wait <= 0:
                    break
                self._cond.wait(None if wait == float("inf") else wait)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._done.append(self._clock())
                self._done.sort()
                self._cond.notify_all()
