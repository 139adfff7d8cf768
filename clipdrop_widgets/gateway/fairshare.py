"""Fair share of the room's rate: evenly paced upstream calls, the least-served seat first.

A `Lane` is one scope of the upstream's rate limit: the room's key (the safe default) or one
operation (see `core.lanes_for`). A lane
hands out one upstream slot at a time, at least ``60 / rate`` seconds after the previous one,
and never more than ``rate`` slots in flight or answered within the last ``60 s +
WINDOW_MARGIN``. A slot ages from the moment its answer came back (`Lane.finished`): the
service has counted the call by then at the latest, so however late a call reached it, the
service never sees ``rate + 1`` calls in its own window. Slots go to the seats that have work
waiting, the seat this lane served least over the last window first (ties in turn): a seat that
queues a hundred calls gets every n-th slot when n equally busy seats are waiting, and a seat
that arrives with one call goes before the calls of a seat that has had more slots (a human's
call is sent before the flooder's next one). A slot that comes due with nothing queued is
offered to calls waiting elsewhere (`Lane.on_idle`: behind their seat's own calls in
`seatgate`), so no slot goes unused while work waits.

A 429 from the upstream means its limit is tighter than the lane thought (another user of the
key, a lower limit than documented): `Lane.slow_down` lowers the lane's rate by
`SLOW_DOWN` (never below `MIN_SHARE` of the configured one) and pauses it for the
``Retry-After`` asked, capped at `RETRY_AFTER_CAP`; each answer that is not a 429 wins back
`RECOVER` of the configured rate. Only the lane the 429 came from slows down.

All of it runs on the gateway's asyncio loop: no locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Lane", "Grant", "WINDOW", "WINDOW_MARGIN", "RETRY_AFTER_CAP"]

#: The service's rate window (seconds).
WINDOW = 60.0
#: Extra seconds the lane's own window spans beyond the service's.
WINDOW_MARGIN = 0.25
#: Most seconds one ``Retry-After`` may stall a lane (the service's window is a minute).
RETRY_AFTER_CAP = 60.0
#: A 429 multiplies the lane's rate by this.
SLOW_DOWN = 0.8
#: The lane's rate never falls below this share of the configured rate.
MIN_SHARE = 0.25
#: Each answer that is not a 429 adds back this share of the configured rate.
RECOVER = 0.01


@dataclass
class Grant:
    """A slot given to one call: ``number`` counts this lane's slots from 1."""

    number: int


@dataclass
class _Job:
    seat: int
    future: asyncio.Future[Grant]
    front: bool = False


@dataclass
class Lane:
    """Upstream slots for one scope at ``rate`` calls per minute (lowered after 429s).

    ``clock`` is monotonic seconds (replaceable in tests). ``configured`` is the rate it was
    made with; ``rate`` the one it paces at now.
    """

    rate: float
    name: str = ""
    clock: Callable[[], float] = time.monotonic
    _queues: dict[int, deque[_Job]] = field(default_factory=dict)
    _order: deque[int] = field(default_factory=deque)
    _done: deque[float] = field(default_factory=deque)  # when answered slots' answers came
    _in_flight: int = 0
    _next_at: float = 0.0
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    granted: int = 0
    #: When the last slots were given (monotonic seconds, the newest last; at most 1000).
    granted_at: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    configured: float = field(init=False)
    #: 429s this lane has seen, and when it may give slots again after a ``Retry-After``.
    too_many: int = 0
    #: Called when a slot is due and no call is queued here: may send a call waiting
    #: elsewhere to this lane (the gateway lends a place beyond a seat's cap).
    on_idle: Callable[[Lane], None] | None = None
    _closed: bool = False
    _served: dict[int, int] = field(default_factory=dict)  # slots per seat in the window
    _recent: deque[tuple[float, int]] = field(default_factory=deque)  # (when, seat)

    def __post_init__(self) -> None:
        self.configured = self.rate

    @property
    def spacing(self) -> float:
        """Seconds between two slots: ``60 / rate``."""
        return WINDOW / self.rate

    @property
    def waiting(self) -> int:
        """Calls queued for a slot."""
        return sum(len(q) for q in self._queues.values())

    def request(self, seat: int, *, front: bool = False) -> asyncio.Future[Grant]:
        """Queue one call of ``seat``; the future resolves when it may go upstream.

        ``front`` puts it before the seat's other calls (a call the upstream sent back).
        Cancel the future to withdraw the call.
        """
        loop = asyncio.get_running_loop()
        job = _Job(seat, loop.create_future(), front)
        queue = self._queues.setdefault(seat, deque())
        if front:
            queue.appendleft(job)
        else:
            queue.append(job)
        if seat not in self._order:
            if front:
                self._order.appendleft(seat)
            else:
                self._order.append(seat)
        self.poke()
        return job.future

    @property
    def ready(self) -> bool:
        """Whether a slot is due now and no call is queued for it."""
        return not self.waiting and self._delay(self.clock()) <= 0

    def poke(self) -> None:
        """Look again: a call was queued, or began waiting elsewhere (`on_idle` may send it
        here). Runs on the gateway's loop; starts the lane's task on first use."""
        if self._closed:
            return
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        assert self._wake is not None
        self._wake.set()

    def served(self, seat: int) -> int:
        """Slots this lane gave ``seat`` within the last window."""
        self._forget(self.clock())
        return self._served.get(seat, 0)

    def pause(self, seconds: float) -> None:
        """Give no slot for ``seconds`` (capped at `RETRY_AFTER_CAP`)."""
        self._next_at = max(self._next_at, self.clock() + min(seconds, RETRY_AFTER_CAP))

    def paused_for(self) -> float:
        """Seconds until this lane gives its next slot (0 when one is due)."""
        return max(0.0, self._next_at - self.clock())

    def slow_down(self, retry_after: float | None) -> None:
        """The upstream answered 429 in this scope: a lower rate, and a pause of
        ``retry_after`` seconds (capped; one spacing of the new rate when not given)."""
        self.too_many += 1
        self.rate = max(self.configured * MIN_SHARE, self.rate * SLOW_DOWN)
        wait = self.spacing if retry_after is None or retry_after < 0 else retry_after
        self.pause(wait)

    def answered(self) -> None:
        """An answer that was not a 429: win back a little of the configured rate."""
        self.rate = min(self.configured, self.rate + self.configured * RECOVER)

    def finished(self) -> None:
        """A granted call has its answer (or failed): its slot ages from now."""
        self._in_flight -= 1
        self._done.append(self.clock())
        if self._wake is not None:
            self._wake.set()

    def close(self) -> asyncio.Task[None] | None:
        """Stop giving slots; the task to let finish on the loop (if any)."""
        self._closed = True  # also ends a loop whose cancellation `wait_for` swallowed (3.11)
        if self._task is not None:
            self._task.cancel()
            if self._wake is not None:
                self._wake.set()
        return self._task

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0][0] <= now - WINDOW:
            _, seat = self._recent.popleft()
            self._served[seat] -= 1
            if not self._served[seat]:
                del self._served[seat]

    def _pop(self) -> _Job | None:
        """The next call: a retried one first, else the head of the seat served least over
        the window (the first such seat in turn); that seat goes to the end of the turn."""
        self._forget(self.clock())
        chosen: int | None = None
        for seat in list(self._order):
            queue = self._queues.get(seat)
            while queue and queue[0].future.done():  # withdrawn (the participant went away)
                queue.popleft()
            if not queue:
                self._order.remove(seat)
                self._queues.pop(seat, None)
                continue
            if queue[0].front:
                chosen = seat
                break
            if chosen is None or self._served.get(seat, 0) < self._served.get(chosen, 0):
                chosen = seat
        if chosen is None:
            return None
        queue = self._queues[chosen]
        job = queue.popleft()
        self._order.remove(chosen)
        if queue:
            self._order.append(chosen)
        else:
            del self._queues[chosen]
        return job

    def _delay(self, now: float) -> float:
        """Seconds until the next slot may go; ``inf`` until a call in flight finishes."""
        while self._done and self._done[0] <= now - WINDOW - WINDOW_MARGIN:
            self._done.popleft()
        wait = self._next_at - now
        if self._in_flight + len(self._done) >= self.rate:
            if not self._done:
                return float("inf")
            wait = max(wait, self._done[0] + WINDOW + WINDOW_MARGIN - now)
        return wait

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._closed:
            wait = self._delay(self.clock())
            if not self._order and (wait <= 0 or wait == float("inf")):
                self._wake.clear()
                if wait <= 0 and self.on_idle is not None:
                    self.on_idle(self)  # a call it sends here wakes us with its request
                await self._wake.wait()
                continue
            if wait > 0:
                self._wake.clear()
                try:  # a finished call or a new seat may change the answer: wake for either
                    await asyncio.wait_for(self._wake.wait(),
                                           None if wait == float("inf") else wait)
                except asyncio.TimeoutError:
                    pass
                continue
            job = self._pop()
            if job is None:
                continue
            now = self.clock()
            self._in_flight += 1
            self._next_at = now + self.spacing
            self.granted_at.append(now)
            self.granted += 1
            self._served[job.seat] = self._served.get(job.seat, 0) + 1
            self._recent.append((now, job.seat))
            job.future.set_result(Grant(self.granted))
