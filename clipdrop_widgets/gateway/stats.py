"""What the teacher needs to see while the room runs, kept in memory by the running gateway.

The ledger knows money; this knows time and trouble: each seat's waits for an upstream slot
(p50, p95), its refusals by kind and its last use; the room's upstream use of its rate, 429s,
upstream errors and whether the upstream is up; the recent request log (labels, never keys).
The admin page (`admin`) and `GatewayDashboard` read `RoomStats.snapshot`.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RoomStats", "LogEntry", "REFUSAL_KINDS", "percentile"]

#: The kind of refusal each status a seat gets stands for.
REFUSAL_KINDS = {400: "input", 401: "key", 403: "key", 402: "credits", 404: "path",
                 405: "method", 406: "accept", 429: "rate", 499: "withdrawn", 502: "upstream",
                 503: "room account"}
#: Requests kept in the log (the CSV export has at most this many).
LOG_SIZE = 5000
#: Seconds over which the upstream rate used is measured.
RATE_WINDOW = 60.0


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` (0-1) percentile of ``values`` (nearest rank); ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@dataclass(frozen=True)
class LogEntry:
    """One request: Unix time, seat label, path, status, how it was served, credits the seat
    was charged, seconds it waited for an upstream slot, what the service claimed (if more)."""

    at: float
    label: str
    path: str
    status: int
    served: str
    charged: float | None
    waited: float | None
    #: What the service said the call cost, when more than the seat was charged.
    claimed: float | None = None


@dataclass
class _Seat:
    waits: deque[float] = field(default_factory=lambda: deque(maxlen=500))
    refusals: Counter[str] = field(default_factory=Counter)
    last_use: float | None = None


@dataclass
class RoomStats:
    """Counters of one running gateway (its asyncio loop writes; readers copy a snapshot)."""

    upstream_calls: int = 0
    upstream_429: int = 0
    upstream_errors: int = 0
    cache_hits: int = 0
    joined: int = 0
    upstream_up: bool | None = None
    started: float = field(default_factory=time.time)
    seats: dict[str, _Seat] = field(default_factory=dict)
    log: deque[LogEntry] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    #: Calls of each seat (by id) sent upstream and not yet answered.
    sending: Counter[int] = field(default_factory=Counter)
    _sent: deque[float] = field(default_factory=deque)

    def _seat(self, label: str) -> _Seat:
        return self.seats.setdefault(label, _Seat())

    def sent(self) -> None:
        """One call went upstream now."""
        self.upstream_calls += 1
        self._sent.append(time.monotonic())

    def upstream_answered(self, status: int) -> None:
        """The upstream answered ``status`` (599: no answer)."""
        if status == 429:
            self.upstream_429 += 1
        elif status >= 500:
            self.upstream_errors += 1
        self.upstream_up = status < 500

    def waited(self, label: str, seconds: float) -> None:
        """A call of ``label`` waited ``seconds`` for its upstream slot."""
        self._seat(label).waits.append(seconds)

    def answered(self, entry: LogEntry) -> None:
        """A request ended (any status): the log, the seat's last use and refusals."""
        self.log.append(entry)
        seat = self._seat(entry.label)
        seat.last_use = entry.at
        if entry.status != 200:
            seat.refusals[REFUSAL_KINDS.get(entry.status, str(entry.status))] += 1

    def rate_used(self) -> float:
        """Upstream calls sent in the last minute."""
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - RATE_WINDOW:
            self._sent.popleft()
        return float(len(self._sent))

    def seat_view(self, label: str) -> dict[str, Any]:
        """Waits (p50, p95 seconds), refusals by kind and last use of one seat."""
        seat = self.seats.get(label) or _Seat()
        waits = list(seat.waits)
        return {"wait_p50": percentile(waits, 0.5), "wait_p95": percentile(waits, 0.95),
                "refusals": dict(seat.refusals), "last_use": seat.last_use}

    def room_view(self) -> dict[str, Any]:
        """The room's upstream figures."""
        return {"upstream_calls": self.upstream_calls, "upstream_rate_used": self.rate_used(),
                "upstream_429": self.upstream_429, "upstream_errors": self.upstream_errors,
                "upstream_up": self.upstream_up, "cache_hits": self.cache_hits,
                "joined": self.joined, "started": self.started}

    def log_rows(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        return [asdict(entry) for entry in list(self.log)]
