"""Client-side pacing: requests spaced evenly, so that no server window sees more than its share.

Nobody outside the service knows the window its limit is counted in: "60 a minute" may be
counted per minute, per 6 s or per second. A limiter that lets a minute's allowance go at once
(a sliding log, a token bucket with a burst) draws 429s from every server but the per-minute
one. Here each request starts at least ``60 / R`` seconds (plus `SAFETY_MARGIN`) after
the one before it: a leaky bucket, or GCRA, with a burst of one. Then any window from 1 s to
60 s sees at most its limit.

What is spaced: a server counts a request somewhere between the moment it begins to arrive
and the moment its body has arrived. So none starts while the previous body is still going
out, and the next starts when it will finish sending an interval after the previous one did:
an interval after that body went out, less the shortest time a request has taken to go out
(so the starts are an interval apart too, and the time to send is not added to every
interval). A slot is used up when the body has gone out, not when the answer comes: the
service takes seconds to make an image, and answers overlap freely. A request that ended
without its body sent (refused connection, early close) spaces the next from the moment it
ended, as if the server had counted it.

A limiter may pace ``within`` another: text inpainting's own 30 a minute within the key's 60
(`shared_pacer`, scope ``key``). A request then takes its own turn, then the outer one, and
its own interval counts from the outer turn, so it keeps both paces. A 429 answered in a pace
(`RateLimiter.slow_down`) stops every request of that pace, and of the pace it is within,
for the ``Retry-After`` the server asked (at most `MAX_PAUSE` s), else for one interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..contract.errors import ConfigurationError

__all__ = ["RateLimiter", "Slot", "Cancelled", "TooLate", "SAFETY_MARGIN", "MAX_PAUSE"]

#: Fraction of the interval added between requests, for jitter on the way to the server
#: (20 ms at 60 requests a minute): the pace is 98 % of the limit.
SAFETY_MARGIN = 0.02
#: The longest a 429 pauses a pace (seconds), whatever its ``Retry-After`` says.
MAX_PAUSE = 60.0


class Slot:
    """One request's turn; call `sent` the moment its body has gone out."""

    __slots__ = ("_limiter", "sent_at", "started_at")

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter
        self.started_at: float | None = None
        self.sent_at: float | None = None

    def sent(self) -> None:
        """Record that the request body has been handed to the network (now)."""
        self._limiter._sent(self)


class _Joint:
    """A turn in a limiter and in the one it is within: sent in both at once."""

    __slots__ = ("inner", "outer")

    def __init__(self, inner: Slot, outer: Slot) -> None:
        self.inner, self.outer = inner, outer

    @property
    def started_at(self) -> float | None:
        return self.outer.started_at

    @property
    def sent_at(self) -> float | None:
        return self.outer.sent_at

    def sent(self) -> None:
        self.outer.sent()
        self.inner.sent()


class RateLimiter:
    """Requests at least ``60 / requests_per_minute`` seconds apart (times 1 + ``margin``).

    Thread-safe: concurrent callers of `slot` are let through one at a time, each as
    soon as the interval since the previous start has passed and its body has gone out.
    ``clock`` can be replaced in tests. ``within``: a limiter whose pace each request also
    keeps (its turn is taken after this one's; the same clock).

    Attributes:
        requests_per_minute: the rate paced to.
        interval: seconds between the starts of two requests, margin included.
        limit: requests per minute as a whole number (what a thread pool is sized by).
        within: the outer limiter, or ``None``.
    """

    def __init__(
        self,
        requests_per_minute: float,
        *,
        margin: float = SAFETY_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        within: RateLimiter | None = None,
    ) -> None:
        if not requests_per_minute > 0:
            raise ConfigurationError(
                f"requests_per_minute must be positive, got {requests_per_minute}")
        if margin < 0:
            raise ConfigurationError(f"margin must be 0 or more, got {margin}")
        self.requests_per_minute = requests_per_minute
        self.interval = 60.0 / requests_per_minute * (1 + margin)
        self.limit = max(1, int(requests_per_minute))
        self._clock = clock
        self.within = within
        self._next = float("-inf")  # the earliest moment the next request may start
        self._sending: Slot | None = None  # the request whose body is going out
        self._fastest_send = float("inf")  # the shortest start-to-sent time seen (seconds)
        self._paused_until = float("-inf")  # the end of the pause a 429 asked for
        self._cond = threading.Condition()

    def __repr__(self) -> str:
        return (f"RateLimiter({self.requests_per_minute:g}/min, one request every "
                f"{self.interval:.3g} s)")

    def delay(self) -> float:
        """Seconds until the next request may start (0: now; ``inf``: when an upload ends)."""
        with self._cond:
            own = self._delay(self._clock())
        return own if self.within is None else max(own, self.within.delay())

    def paused(self) -> float:
        """Seconds left of the pause a 429 asked for (`slow_down`), here or ``within``; 0: none."""
        with self._cond:
            own = max(0.0, self._paused_until - self._clock())
        return own if self.within is None else max(own, self.within.paused())

    def slow_down(self, retry_after: float | None = None) -> None:
        """A 429 answered a request of this pace: none starts for ``retry_after`` seconds (at
        most `MAX_PAUSE`), or one interval when the server did not say; nor in ``within``."""
        pause = self.interval if retry_after is None else min(max(0.0, retry_after), MAX_PAUSE)
        with self._cond:
            self._next = max(self._next, self._clock() + pause)
            self._paused_until = max(self._paused_until, self._clock() + pause)
            self._publish()
            self._cond.notify_all()
        if self.within is not None:
            self.within.slow_down(retry_after)

    def _delay(self, now: float) -> float:
        if self._sending is not None:
            return float("inf")
        return max(0.0, self._next - now)

    @contextmanager
    def slot(self, *, cancel: threading.Event | None = None,
             deadline: float | None = None) -> Iterator[Slot]:
        """Wait for this request's turn; the block sends it (calling `Slot.sent`).

        If ``cancel`` is set while waiting, raises `Cancelled` and takes no turn. If the turn
        comes after ``deadline`` (a moment of ``clock``), raises `TooLate` as soon as that is
        known, and takes no turn (in a limiter ``within`` another, a request that gave up
        waiting for the outer turn counts in its own pace, as an unsent one does).
        """
        if self.within is None:
            with self._turn(cancel, deadline) as slot:
                yield slot
            return
        with self._turn(cancel, deadline) as inner, \
                self.within.slot(cancel=cancel, deadline=deadline) as outer:
            with self._cond:  # this pace's interval counts from the outer turn
                inner.started_at = outer.started_at
                self._next = max(self._next, (outer.started_at or 0.0) + self.interval)
            yield _Joint(inner, outer)  # type: ignore[misc]

    @contextmanager
    def _turn(self, cancel: threading.Event | None,
              deadline: float | None) -> Iterator[Slot]:
        slot = Slot(self)
        with self._cond:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled while waiting for a rate-limit slot")
                now = self._clock()
                wait = self._delay(now)
                if wait <= 0:
                    wait = self._claim()  # the other processes' turns
                    if wait <= 0:
                        break
                if deadline is not None:
                    if (now + wait > deadline and wait != float("inf")) or now >= deadline:
                        raise TooLate(wait, deadline - now)
                    wait = min(wait, deadline - now)
                if cancel is not None:  # wake up now and then to look at the event
                    wait = min(wait, 0.1)
                self._cond.wait(None if wait == float("inf") else wait)
            self._sending = slot
            slot.started_at = now = self._clock()
            self._next = max(self._next, now + self.interval)
        try:
            yield slot
        finally:
            with self._cond:
                if self._sending is slot:  # ended before its body went out
                    self._sending = None
                    self._next = max(self._next, self._clock() + self.interval)
                    self._publish()
                self._cond.notify_all()

    def _claim(self) -> float:
        """Seconds until another process lets a request start; 0 once this one may (none here)."""
        return 0.0

    def _publish(self) -> None:
        """Tell the other processes when the next request may start (none here)."""

    def _sent(self, slot: Slot) -> None:
        with self._cond:
            if slot.sent_at is not None:
                return
            slot.sent_at = now = self._clock()
            if self._sending is slot:
                self._sending = None
            started = slot.started_at if slot.started_at is not None else now
            self._fastest_send = min(self._fastest_send, now - started)
            self._next = max(self._next, now + self.interval - self._fastest_send)
            self._publish()
            self._cond.notify_all()


class Cancelled(Exception):
    """Raised by `RateLimiter.slot` when its ``cancel`` event is set while it waits."""


class TooLate(Cancelled):
    """Raised by `RateLimiter.slot` when the turn would come after its ``deadline``.

    Attributes: ``wait`` (seconds until the turn; ``inf`` while another upload is going out),
    ``left`` (seconds left until the deadline).
    """

    def __init__(self, wait: float, left: float) -> None:
        away = ("comes when another request's upload ends" if wait == float("inf")
                else f"is {wait:.2f} s away")
        super().__init__(f"the rate limit's turn {away}, past the call's timeout "
                         f"({max(0.0, left):.2f} s left)")
        self.wait = wait
        self.left = left
