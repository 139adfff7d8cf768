"""A cap on each seat's calls in flight, so one participant's loop cannot fill the room's queue.

A seat may have at most ``limit`` calls past its gate (queued for an upstream slot or on their
way); its further calls wait here, behind its own, in arrival order. The round-robin in
`fairshare.Lane` then shares the room's rate among seats, and a seat running eight threads holds
no more places in it than a seat running two. The limit is read at each call, so a teacher can
change it per seat while the gateway runs (``gateway seats limit``).

Runs on the gateway's asyncio loop: no locks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["SeatGate", "DEFAULT_SEAT_PARALLEL"]

#: Calls of one seat in flight at once, by default (``--seat-parallel``).
DEFAULT_SEAT_PARALLEL = 2


@dataclass
class _Seat:
    in_flight: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


@dataclass
class SeatGate:
    """Per-seat admission: `slot` waits until the seat has fewer than ``limit`` calls in."""

    _seats: dict[int, _Seat] = field(default_factory=dict)

    def in_flight(self, seat_id: int) -> int:
        """Calls of the seat past its gate."""
        seat = self._seats.get(seat_id)
        return 0 if seat is None else seat.in_flight

    def waiting(self, seat_id: int) -> int:
        """Calls of the seat waiting at its gate."""
        seat = self._seats.get(seat_id)
        return 0 if seat is None else sum(1 for f in seat.waiting if not f.done())

    @asynccontextmanager
    async def slot(self, seat_id: int, limit: int) -> AsyncIterator[None]:
        """Hold one of the seat's ``limit`` places for the block (cancellable while waiting)."""
        seat = self._seats.setdefault(seat_id, _Seat())
        if seat.in_flight >= max(1, limit) or self.waiting(seat_id):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            seat.waiting.append(future)
            try:
                await future
            except asyncio.CancelledError:  # withdrawn while waiting
                if future.cancelled():
                    if future in seat.waiting:
                        seat.waiting.remove(future)
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
            future = seat.waiting.popleft()
            if future.done():  # withdrawn
                continue
            seat.in_flight += 1
            future.set_result(None)
