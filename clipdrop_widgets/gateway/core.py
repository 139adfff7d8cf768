"""One participant's call, from a parsed seat to an answer: the gateway's rules in one place.

In order, each step before anything goes upstream: ``Accept`` negotiated (406), the body
(spooled to disk as it came) parsed and validated within the room's memory budget (400) and
re-spooled as the upstream request (`bodies`), the seat's own rate checked (429, only with a
per-seat rate), the shared cache asked (a hit costs 0), an identical call in flight waited for
(costs 0), the seat's balance checked (402; a call short only by what the seat's own calls in
flight hold waits for them to settle, then 503 with Retry-After). Then the call waits behind
the seat's own calls (`SeatGate`), then for its fair slot in each pacing scope it falls in
(`lanes_for`), the seat is read again (revoked while waiting: 403), the credits are reserved in
the ledger, and the call goes upstream. A participant who goes away before that withdraws the
call: nothing is sent or charged. Once sent, a call always runs to its answer and is settled by
what the upstream did (`settle`): a 429 is charged nothing and retried in a slowed-down scope;
an answer that may have been charged is never released as free. The room's own account being
refused upstream (401, 402, 403) is a 503 to the seat. Seats never see the upstream's bodies or
headers, only the gateway's own, quoting the upstream's message without the room's key
(`redact`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

from ..api.result import parse_credits
from ..contract.endpoints import ENDPOINTS, Endpoint
from ..contract.errors import ConfigurationError
from ..engine.core import negotiate
from .bodies import DEFAULT_BODY_MEMORY, SMALL_BODY, BodyBudget, Outgoing, prepare
from .fairshare import WINDOW, Lane
from .ledger import Ledger, Seat
from .seatgate import DEFAULT_SEAT_PARALLEL, SeatGate
from .settle import Refusal, settle
from .shared_cache import Answer, SharedCache
from .stats import RoomStats
from .upstream import UNREACHABLE, Upstream

__all__ = ["Gateway", "Refusal", "Reply", "room_rates", "lanes_for", "SCOPES"]

logger = logging.getLogger("clipdrop_widgets.gateway")

#: Pacing scopes: the upstream limits the room's ``key`` as a whole (the safe default, as
#: CONTRACT.md's "per key" reads), or each ``operation`` separately.
SCOPES = ("key", "operation")
#: The lane of the whole key, in scope ``key``.
KEY_LANE = "key"
#: Seconds a call short only by its seat's calls in flight waits for them to settle; then 503.
SETTLE_WAIT = 30.0
#: How often such a call looks at the seat's balance again (s).
SETTLE_POLL = 0.05
#: The ``Retry-After`` (s) of the 503 that ends such a wait.
SETTLE_RETRY = 5
#: Seconds a call keeps being retried while the upstream answers 429; then the seat is told
#: (429, nothing charged) instead of waiting on a limit that may last the day.
RATE_LIMITED_WAIT = 60.0


@dataclass
class Reply:
    """What the seat gets: the upstream's answer, the credits charged and how it was served
    (``"upstream"``, ``"hit"`` from the cache, ``"joined"`` an identical call in flight)."""

    answer: Answer
    charged: float
    served: str
    #: Seconds the call waited for its upstream slot (``None``: it did not go upstream).
    waited: float | None = None
    #: What the service said the call cost, when more than the seat was charged (``None``:
    #: the seat was charged what the service said).
    claimed: float | None = None


def room_rates(requests_per_minute: float | None) -> dict[str, float]:
    """Upstream calls per minute for each endpoint path.

    ``None``: each endpoint's documented rate (60, text inpainting 30). A number R scales
    them all by R / 60, so text inpainting keeps half the room's rate.
    """
    scale = 1.0 if requests_per_minute is None else requests_per_minute / 60.0
    if scale <= 0:
        raise ConfigurationError(f"requests_per_minute must be positive, got {requests_per_minute}")
    return {e.path: e.requests_per_minute * scale for e in ENDPOINTS.values()}


def lanes_for(scope: str, requests_per_minute: float | None) -> dict[str, Lane]:
    """The pacing lanes of a room: by path in scope ``operation``; in scope ``key`` one lane
    for the key at the room's rate, plus a lane for each path documented slower (text
    inpainting), which its calls take first."""
    if scope not in SCOPES:
        raise ConfigurationError(f"the upstream limit scope is 'key' or 'operation', got {scope!r}")
    rates = room_rates(requests_per_minute)
    if scope == "operation":
        return {path: Lane(rate, name=path) for path, rate in rates.items()}
    top = max(rates.values())
    lanes = {KEY_LANE: Lane(top, name=KEY_LANE)}
    lanes.update({path: Lane(rate, name=path) for path, rate in rates.items() if rate < top})
    return lanes


@dataclass
class _Call:
    """One call on its way: its seat, what it holds of the balance, when it arrived."""

    seat: Seat
    cost: float
    arrived: float = field(default_factory=time.monotonic)
    held: bool = True
    waited: float | None = None
    #: What the service said the call cost (``x-credits-consumed``), when it differs from
    #: what the seat could be charged (its balance ran out first).
    claimed: float | None = None


@dataclass
class Gateway:
    """The room: its ledger, its upstream, its pacing lanes, the seats' gates, the cache.

    ``scope`` is what the upstream's rate limit counts (``"key"``, the default, or
    ``"operation"``); ``seat_parallel`` the calls one seat may have in flight (its others
    wait behind them); ``seat_rpm`` caps each seat's requests per minute (``None``: no cap);
    ``body_memory`` the bytes of request bodies parsed at once, room-wide (`bodies`);
    ``rate_limited_wait`` the seconds a call is retried while the upstream answers 429
    (then the seat gets a 429 saying nothing was charged).
    A seat's own ``parallel`` and ``rpm`` in the ledger override both, read at each call.
    Runs on one asyncio loop; parsing and validation run in a small thread pool.
    """

    ledger: Ledger
    upstream: Upstream
    requests_per_minute: float | None = None
    seat_rpm: float | None = None
    shared_cache: bool = True
    scope: str = "key"
    seat_parallel: int = DEFAULT_SEAT_PARALLEL
    body_memory: int = DEFAULT_BODY_MEMORY
    rate_limited_wait: float = RATE_LIMITED_WAIT
    lanes: dict[str, Lane] = field(init=False)
    bodies: BodyBudget = field(init=False)
    gates: SeatGate = field(init=False, default_factory=SeatGate)
    cache: SharedCache | None = field(init=False)
    stats: RoomStats = field(init=False, default_factory=RoomStats)
    _holds: dict[int, float] = field(init=False, default_factory=dict)
    _seat_times: dict[int, deque[float]] = field(init=False, default_factory=dict)
    _pool: ThreadPoolExecutor = field(init=False)
    _small_pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        if self.seat_rpm is not None and self.seat_rpm <= 0:
            raise ConfigurationError(f"seat_rpm must be positive, got {self.seat_rpm}")
        if self.seat_parallel < 1:
            raise ConfigurationError(f"seat_parallel must be 1 or more, got {self.seat_parallel}")
        if self.body_memory <= 0:  # 0 would mean no cap at all (every body let through)
            raise ConfigurationError(f"body_memory must be a positive number of bytes, got "
                                     f"{self.body_memory}")
        self.lanes = lanes_for(self.scope, self.requests_per_minute)
        for lane in self.lanes.values():
            lane.on_idle = self._lend
        self.gates.on_wait = self._poke_lanes
        self.bodies = BodyBudget(self.body_memory)
        self.cache = SharedCache() if self.shared_cache else None
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="gateway-forms")
        self._small_pool = ThreadPoolExecutor(1, thread_name_prefix="gateway-small-forms")

    def close(self) -> list[asyncio.Task[None]]:
        """Stop; the lanes' cancelled tasks, for the loop to finish (if it runs again)."""
        tasks = [task for lane in self.lanes.values() if (task := lane.close()) is not None]
        self.upstream.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._small_pool.shutdown(wait=False, cancel_futures=True)
        self.ledger.close()
        return tasks

    def remaining(self, seat_id: int) -> float:
        """The seat's balance now, minus what its queued calls hold (never below 0)."""
        return max(0.0, self.ledger.seat(seat_id).remaining - self._holds.get(seat_id, 0.0))

    def held(self, seat_id: int) -> float:
        """Credits the seat's calls waiting for a slot hold (not yet reserved in the ledger)."""
        return self._holds.get(seat_id, 0.0)

    def _lanes_of(self, endpoint: Endpoint) -> list[Lane]:
        """The lanes a call of ``endpoint`` takes, narrowest first."""
        if self.scope == "operation":
            return [self.lanes[endpoint.path]]
        own = self.lanes.get(endpoint.path)
        return [own, self.lanes[KEY_LANE]] if own is not None else [self.lanes[KEY_LANE]]

    def _lend(self, lane: Lane) -> None:
        """``lane`` has a slot due and nothing queued: send it a call waiting behind its seat's
        own, one whose every lane has a slot due (no pacer slot unused while work waits)."""
        self.gates.lend(lambda lanes: any(each is lane for each in lanes)
                        and all(each.ready for each in lanes))

    def _poke_lanes(self) -> None:
        for lane in self.lanes.values():
            lane.poke()

    async def call(self, seat: Seat, endpoint: Endpoint, *, accept: str | None,
                   content_type: str | None, body: IO[bytes], length: int) -> Reply:
        """Answer one call of ``seat`` whose body (``length`` bytes) is the file ``body``;
        raises `Refusal` for every error answer.

        Cancelling the task (the participant went away) withdraws the call if it was not sent
        yet; once sent, it runs to its answer and is settled before the cancellation lands.
        """
        answer_type = negotiate(endpoint, accept)
        if answer_type is None:
            offers = ", ".join(endpoint.accept or (endpoint.output_content_type,))
            raise Refusal(406, f"Accept: {(accept or '')[:200]} is not acceptable; "
                               f"{endpoint.path} answers with {offers}")
        pool = self._small_pool if length <= SMALL_BODY else self._pool
        async with self.bodies.hold(length):
            outgoing = await asyncio.get_running_loop().run_in_executor(
                pool, prepare, endpoint, content_type, body, length, answer_type)
        try:
            return await self._call(seat, endpoint, outgoing)
        finally:
            outgoing.close()

    async def _call(self, seat: Seat, endpoint: Endpoint, outgoing: Outgoing) -> Reply:
        self._check_seat_rate(seat)
        shared = (await self._shared(seat, endpoint, outgoing.key)
                  if outgoing.repeatable else None)  # reimagine: a new take each time
        if shared is not None:
            return shared
        call = _Call(seat, outgoing.cost)
        await self._room_for(seat, endpoint, call.cost)
        self._holds[seat.id] = self._holds.get(seat.id, 0.0) + call.cost
        cache = self.cache if outgoing.repeatable else None
        if cache is not None:
            cache.lead(outgoing.key)
        kept: Answer | None = None
        try:
            async with self.gates.slot(seat.id, seat.parallel or self.seat_parallel,
                                       tuple(self._lanes_of(endpoint))):
                answer, charged = await self._upstream_call(call, endpoint, outgoing)
            kept = answer
            return Reply(answer, charged, "upstream", call.waited, call.claimed)
        finally:
            self._unhold(call)
            if cache is not None:
                cache.finish(outgoing.key, kept)  # only images: a refusal is never shared

    async def _room_for(self, seat: Seat, endpoint: Endpoint, cost: float) -> None:
        """Return once ``cost`` fits the seat's balance beside its calls in flight.

        A call short only because the seat's own calls in flight hold credits (they reserve
        the most they can cost, and usually cost less) waits for them to settle, up to
        `SETTLE_WAIT` seconds; then a 503 with ``Retry-After`` says so (the client retries
        it). A 402 only when the balance itself, spent counted and nothing held, is short.
        The check and the hold that follows it run without a pause, so calls never both
        take the same credits.
        """
        deadline = time.monotonic() + SETTLE_WAIT
        while True:
            now = self.ledger.seat(seat.id)
            held = now.reserved + self.held(seat.id)
            balance = now.credits - now.spent
            if balance - held >= cost:
                return
            if balance < cost or held <= 0:
                raise Refusal(402, f"{seat.label} has {_number(max(0.0, balance))} credits "
                                   f"left; {endpoint.path} costs {_number(cost)}; nothing "
                                   "was sent")
            if time.monotonic() >= deadline:
                raise Refusal(503, f"{seat.label} has {_number(balance)} credits left, "
                                   f"{_number(held)} of them reserved by its calls in flight; "
                                   f"{endpoint.path} costs {_number(cost)}; retry once they "
                                   "are answered", {"Retry-After": str(SETTLE_RETRY)})
            await asyncio.sleep(SETTLE_POLL)

    def _unhold(self, call: _Call) -> None:
        if call.held:
            call.held = False
            self._holds[call.seat.id] -= call.cost

    async def _shared(self, seat: Seat, endpoint: Endpoint, key: str) -> Reply | None:
        """A reply from the cache or an identical call in flight, or ``None``."""
        if self.cache is None:
            return None
        answer = self.cache.get(key)
        served = "hit"
        if answer is None:
            flight = self.cache.in_flight(key)
            if flight is None:
                return None
            try:
                answer = await asyncio.shield(flight)
            except asyncio.CancelledError:
                if not flight.cancelled():
                    raise  # this participant went away
                return None  # the first call got no image: go upstream ourselves
            served = "joined"
        self.ledger.record_hit(seat.id, endpoint.path)
        if served == "hit":
            self.stats.cache_hits += 1
        else:
            self.stats.joined += 1
        return Reply(answer, 0.0, served)

    def _check_seat_rate(self, seat: Seat) -> None:
        rpm = seat.rpm or self.seat_rpm
        now = time.monotonic()
        times = self._seat_times.setdefault(seat.id, deque())  # kept even without a cap: a
        while times and times[0] <= now - WINDOW:  # cap set while running counts the minute
            times.popleft()
        if rpm is not None and len(times) >= rpm:
            wait = max(1, int(times[0] + WINDOW - now + 1))
            raise Refusal(429, f"{seat.label} may send {_number(rpm)} requests per "
                               f"minute in this workshop; retry in {wait} s",
                          {"Retry-After": str(wait)})
        times.append(now)

    async def _upstream_call(self, call: _Call, endpoint: Endpoint,
                             outgoing: Outgoing) -> tuple[Answer, float]:
        lanes = self._lanes_of(endpoint)
        front = False
        while True:
            granted: list[Lane] = []
            try:
                for lane in lanes:
                    await _take(lane, call.seat.id, front)
                    granted.append(lane)
                call.waited = time.monotonic() - call.arrived
                self.stats.waited(call.seat.label, call.waited)
                answer, charged = await self._send(call, endpoint, outgoing)
            finally:
                for lane in granted:
                    lane.finished()  # the slot ages from its answer
            if answer.status != 429:
                for lane in lanes:
                    lane.answered()
                return answer, charged
            wait = parse_credits(answer.headers.get("retry-after"))
            for lane in lanes:
                lane.slow_down(None if wait is None else float(wait))
            logger.warning("the upstream answered 429 on %s; slowing the %s scope down",
                           endpoint.path, self.scope)
            again = max(1, int(max(lane.paused_for() for lane in lanes) + 0.999))
            if time.monotonic() - call.arrived + again > self.rate_limited_wait:
                raise Refusal(429, "nothing was charged: the service is rate limiting the "
                                   f"room; try again in {again} s", {"Retry-After": str(again)})
            front = True

    async def _send(self, call: _Call, endpoint: Endpoint,
                    outgoing: Outgoing) -> tuple[Answer, float]:
        """In the seat's slot: read the seat again, reserve, call, settle; the answer and the
        credits charged.

        Raises `Refusal` for every answer but an image (and a 429, returned to retry). The send
        is shielded: a participant leaving mid-call does not stop its settlement.
        """
        seat = self.ledger.seat(call.seat.id)
        refusal = seat.refusal()
        if refusal is not None:  # revoked or expired while it waited
            raise Refusal(403, refusal)
        charge = self.ledger.reserve(seat.id, endpoint.path, call.cost)
        if charge is None:  # its credits were taken meanwhile (an admin, a dearer answer)
            balance = max(0.0, seat.credits - seat.spent)
            raise Refusal(402, f"{seat.label} has {_number(balance)} credits left, "
                               f"{_number(seat.reserved)} of them reserved by its calls in "
                               f"flight; {endpoint.path} costs {_number(call.cost)}; nothing "
                               "was sent")
        self._unhold(call)  # from now on the ledger's reservation counts it, once
        self.stats.sent()
        task = asyncio.ensure_future(self._settled(charge, call, endpoint, outgoing))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                await task  # settle what was sent, then let the cancellation land
            raise

    async def _settled(self, charge: int, call: _Call, endpoint: Endpoint,
                       outgoing: Outgoing) -> tuple[Answer, float]:
        self.stats.sending[call.seat.id] += 1
        outgoing.before_last = lambda: self.ledger.mark_sent(charge)
        try:
            answer = await self.upstream.send(endpoint, outgoing)
        except Exception:
            logger.exception("upstream call for %s failed", endpoint.path)
            answer = Answer(UNREACHABLE, {}, b"the gateway failed while calling")
        finally:
            self.stats.sending[call.seat.id] -= 1
        self.stats.upstream_answered(answer.status)
        outcome = settle(endpoint, answer, call.cost, self.upstream.quote,
                         getattr(self.upstream, "carries_key", None))
        charged: float | None = None
        if outcome.charge is None:
            self.ledger.release(charge, answer.status)
        else:  # the seat pays at most what it has: what the ledger took is what it was charged
            charged = self.ledger.settle(charge, outcome.charge, answer.status)
            if charged < outcome.charge:
                call.claimed = outcome.charge
        if outcome.refusal is not None:
            outcome.refusal.charged, outcome.refusal.claimed = charged, call.claimed
            raise outcome.refusal
        return answer, charged or 0.0


async def _take(lane: Lane, seat_id: int, front: bool) -> None:
    """Wait for a slot of ``lane``; a slot granted just as the call is withdrawn is returned."""
    future = lane.request(seat_id, front=front)
    try:
        await future
    except asyncio.CancelledError:
        if future.done() and not future.cancelled():
            lane.finished()
        raise


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
