"""A cap on each seat's calls in flight, so one participant's loop cannot fill the room's queue.

A seat may have at most ``limit`` calls past its gate (queued for an upstream slot or on their
way); its further calls wait here, behind its own, in arrival order. The turns in
`fairshare.Lane` then share the room's rate among seats, and a seat running eight threads holds
no more places in it than a seat running two. The limit is read at each call, so a teacher can
change it per seat while the gateway runs (``gateway seats limit``).

One exception keeps the room's rate in use: when a pacing lane has a slot due and no call of
any seat queued for it, `SeatGate.lend` lets one waiting call past its seat's cap into that
slot (a slot nobody else was waiting for). ``on_wait`` is told each time a call starts waiting
here, so an idle lane can look again.

Runs on the gateway's asyncio loop: no locks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["SeatGate", "DEFAULT_SEAT_PARALLEL"]

#: Calls of one seat in flight at once, by default (``--seat-parallel``).
DEFAULT_SEAT_PARALLEL = 2


@dataclass
class _Waiter:
    future: asyncio.Future[None]
    tag: object  # what `lend` asks about the call (the gateway: the lanes it will take)


@dataclass
class _Seat:
    in_flight: int = 0
    waiting: deque[_Waiter] = field(default_factory=deque)


@dataclass
class SeatGate:
    """Per-seat admission: `slot` waits until the seat has fewer than ``limit`` calls in."""

    _seats: dict[int, _Seat] = field(default_factory=dict)
    #: Called (no arguments) when a call starts waiting at its seat's gate.
    on_wait: Callable[[], None] | None = None
    #: Calls let past their seat's cap by `lend`.
    lent: int = 0

    def in_flight(self, seat_id: int) -> int:
        """Calls of the seat past its gate."""
        seat = self._seats.get(seat_id)
        return 0 if seat is None else seat.in_flight

    def waiting(self, seat_id: int) -> int:
        """Calls of the seat waiting at its gate."""
        seat = self._seats.get(seat_id)
        return 0 if seat is None else sum(1 for w in seat.waiting if not w.future.done())

    def lend(self, wanted: Callable[[object], bool]) -> bool:
        """Let one waiting call past its seat's cap: the first in its seat's line, of the seat
        with the fewest calls in, whose ``tag`` is ``wanted``. Whether one went."""
        for seat in sorted(self._seats.values(), key=lambda s: s.in_flight):
            while seat.waiting and seat.waiting[0].future.done():  # withdrawn
                seat.waiting.popleft()
            if seat.waiting and wanted(seat.waiting[0].tag):
                seat.in_flight += 1
                self.lent += 1
                seat.waiting.popleft().future.set_result(None)
                return True
        return False

    @asynccontextmanager
    async def slot(self, seat_id: int, limit: int, tag: object = None) -> AsyncIterator[None]:
        """Hold one of the seat's ``limit`` places for the block (cancellable while waiting);
        ``tag`` is what `lend` is shown of this call."""
        seat = self._seats.setdefault(seat_id, _Seat())
        if seat.in_flight >= max(1, limit) or self.waiting(seat_id):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            waiter = _Waiter(future, tag)
            seat.waiting.append(waiter)
            if self.on_wait is not None:
                self.on_wait()
            try:
                await future
            except asyncio.CancelledError:  # withdrawn while waiting
                if future.cancelled():
                    if waiter in seat.waiting:
                        seat.waiting.remove(waiter)
                else:  # handed a place just as it was withdrawn
                    seat.in_flight -= 1
                self._wake(seat, limit)
                raise
        else:
            seat.in_flight += 1
        try:
            yield
        finally:
            seat.in_flight -= 1
            self._wake(seat, limit)

    def _wake(self, seat: _Seat, limit: int) -> None:
        while seat.waiting and seat.in_flight < max(1, limit):
            future = seat.waiting.popleft().future
            if future.done():  # withdrawn
                continue
            seat.in_flight += 1
            future.set_result(None)
