"""Whose turn it is to send: a sweep logs an item's intent just before its request goes out.

A sweep logs ``"sending"`` for an item before its request leaves, so that a run killed
mid-request is found out on resume: the item may have been charged and is not sent again
silently. For that record to mean "may have gone out", only the worker whose request is next
may write it; workers still queued for the rate limiter must not. `SendTurns` lets one worker
at a time go from "the limiter has a free slot" to "my request has taken it"; the next worker
waits until it sees the slot taken (the limiter's delay rises), the previous call end, or a
short grace passes (then at worst an item is flagged that was not sent: never the reverse).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..api.ratelimit import RateLimiter

__all__ = ["SendTurns"]

#: How often a worker waiting for a free slot checks whether the sweep was stopped (s).
STOP_POLL = 0.05
#: How often the next worker looks whether the previous request has taken its slot (s).
TAKEN_POLL = 0.001
#: Seconds past the limiter's interval after which the previous request counts as gone.
GRACE = 0.5


class SendTurns:
    """One worker at a time between a free rate-limit slot and its request taking it.

    Args:
        limiter: the client's limiter for the operation, or ``None`` when it is not paced.
        stop: the sweep's stop event; a worker waiting for its turn gives up when it is set.
    """

    def __init__(self, limiter: RateLimiter | None, stop: threading.Event) -> None:
        self.limiter = limiter
        self.stop = stop
        self._lock = threading.Lock()
        self._previous: threading.Event | None = None

    def take(self, on_turn: Callable[[], object]) -> threading.Event | None:
        """Wait for this worker's turn, call ``on_turn`` (log the intent) and return an event
        to set once the call has returned; ``None`` if the sweep stopped meanwhile (nothing
        was logged, nothing may be sent)."""
        with self._lock:
            self._await_previous()
            if not self._wait_for_slot():
                return None
            on_turn()
            done = self._previous = threading.Event()
            return done

    def _await_previous(self) -> None:
        previous, limiter = self._previous, self.limiter
        if previous is None or limiter is None:
            return
        deadline = time.monotonic() + limiter.interval + GRACE
        while not previous.is_set() and not self.stop.is_set():
            if limiter.delay() > 0 or time.monotonic() > deadline:
                return  # its slot is taken (or it waits behind another client)
            previous.wait(TAKEN_POLL)

    def _wait_for_slot(self) -> bool:
        """Wait until the limiter has a free slot; ``False`` if the sweep stopped meanwhile.

        The client takes the slot itself when it sends; waiting here first keeps a stopped
        sweep from sending what it had not started. Another client of the same limiter may
        take the slot first, in which case the client waits inside its limiter (never past
        the rate).
        """
        if self.limiter is None:
            return not self.stop.is_set()
        while True:
            delay = self.limiter.delay()
            if delay <= 0:
                return not self.stop.is_set()
            if self.stop.wait(STOP_POLL if delay == float("inf") else delay):
                return False
