"""One participant's call, from a parsed seat to an answer: the gateway's rules in one place.

In order, each step before anything goes upstream: the form is parsed and validated (400),
``Accept`` negotiated (406), the seat's own rate checked (429, only with ``seat_rpm``), the
shared cache asked (a hit costs 0), an identical call in flight waited for (costs 0), the
seat's balance checked (402). Then the call waits for its fair slot, the seat is read again
(revoked while waiting: 403), the credits are reserved in the ledger, the call goes upstream,
and the charge is settled from ``x-credits-consumed``, or released when the upstream charged
nothing. The room's own account being refused upstream (401, 402, 403) is a 503 to the seat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..api.result import parse_credits
from ..contract.endpoints import ENDPOINTS, Endpoint
from ..contract.errors import ConfigurationError, InputError
from ..contract.validation import inspect_image, validate_request
from ..engine.core import negotiate
from ..engine.forms import Form, FormError, parse_form
from .fairshare import WINDOW, Lane
from .ledger import Ledger, Seat
from .shared_cache import Answer, SharedCache, request_key
from .upstream import UNREACHABLE, Upstream, encode_form

__all__ = ["Gateway", "Refusal", "Reply", "room_rates"]

logger = logging.getLogger("clipdrop_widgets.gateway")

#: Shown to seats when the room's own account is refused upstream.
ROOM_REFUSED = ("the workshop's ClipDrop account was refused by the service ({status}: {why}); "
                "this is not your key or your credits, and nothing was charged: tell the person "
                "running the workshop")
_WHY = {401: "no key", 402: "out of credits", 403: "key refused"}


class Refusal(Exception):
    """Stops a call with an error answer: ``status``, a plain ``message``, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Reply:
    """What the seat gets: the upstream's answer, the credits charged and how it was served
    (``"upstream"``, ``"hit"`` from the cache, ``"joined"`` an identical call in flight)."""

    answer: Answer
    charged: float
    served: str


def room_rates(requests_per_minute: float | None) -> dict[str, float]:
    """Upstream calls per minute for each endpoint path.

    ``None``: each endpoint's documented rate (60, text inpainting 30). A number R scales
    them all by R / 60, so text inpainting keeps half the room's rate.
    """
    scale = 1.0 if requests_per_minute is None else requests_per_minute / 60.0
    if scale <= 0:
        raise ConfigurationError(f"requests_per_minute must be positive, got {requests_per_minute}")
    return {e.path: e.requests_per_minute * scale for e in ENDPOINTS.values()}


@dataclass
class _Stats:
    upstream_calls: int = 0
    upstream_429: int = 0
    cache_hits: int = 0
    joined: int = 0


@dataclass
class Gateway:
    """The room: its ledger, its upstream, one `Lane` per endpoint, the shared cache.

    ``seat_rpm`` caps each seat's requests per minute (``None``: no cap besides fair share).
    Runs on one asyncio loop; parsing and validation run in a small thread pool.
    """

    ledger: Ledger
    upstream: Upstream
    requests_per_minute: float | None = None
    seat_rpm: float | None = None
    shared_cache: bool = True
    lanes: dict[str, Lane] = field(init=False)
    cache: SharedCache | None = field(init=False)
    stats: _Stats = field(init=False, default_factory=_Stats)
    _holds: dict[int, float] = field(init=False, default_factory=dict)
    _seat_times: dict[int, deque[float]] = field(init=False, default_factory=dict)
    _pool: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        if self.seat_rpm is not None and self.seat_rpm <= 0:
            raise ConfigurationError(f"seat_rpm must be positive, got {self.seat_rpm}")
        self.lanes = {path: Lane(rate) for path, rate in
                      room_rates(self.requests_per_minute).items()}
        self.cache = SharedCache() if self.shared_cache else None
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="gateway-forms")

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
        self.upstream.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.ledger.close()

    def remaining(self, seat_id: int) -> float:
        """The seat's balance now, minus what its queued calls hold."""
        return self.ledger.seat(seat_id).remaining - self._holds.get(seat_id, 0.0)

    async def call(self, seat: Seat, endpoint: Endpoint, *, accept: str | None,
                   content_type: str | None, body: bytes) -> Reply:
        """Answer one call of ``seat``; raises `Refusal` for every error answer."""
        form = await asyncio.get_running_loop().run_in_executor(
            self._pool, _parse, endpoint, content_type, body)
        answer_type = negotiate(endpoint, accept)
        if answer_type is None:
            offers = ", ".join(endpoint.accept or (endpoint.output_content_type,))
            raise Refusal(406, f"Accept: {(accept or '')[:200]} is not acceptable; "
                               f"{endpoint.path} answers with {offers}")
        self._check_seat_rate(seat)
        key = request_key(endpoint.path, answer_type, form.texts, form.files)
        shared = (await self._shared(seat, endpoint, key)
                  if endpoint.repeatable(form.texts) else None)  # reimagine: a new take each
        if shared is not None:
            return shared
        cost = _most_it_can_cost(endpoint, form)
        left = self.remaining(seat.id)
        if left < cost:
            raise Refusal(402, f"{seat.label} has {_number(left)} credits left; "
                               f"{endpoint.path} costs {_number(cost)}")
        self._holds[seat.id] = self._holds.get(seat.id, 0.0) + cost
        if self.cache is not None:
            self.cache.lead(key)
        answer: Answer | None = None
        try:
            answer, charged = await self._upstream_call(seat, endpoint, answer_type, form, cost)
            return Reply(answer, charged, "upstream")
        finally:
            self._holds[seat.id] -= cost
            if self.cache is not None:
                self.cache.finish(key, answer)

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
                return None  # the first call never got an answer: go upstream ourselves
            served = "joined"
        if answer.status == 200:
            self.ledger.record_hit(seat.id, endpoint.path)
            if served == "hit":
                self.stats.cache_hits += 1
            else:
                self.stats.joined += 1
        return Reply(answer, 0.0, served)

    def _check_seat_rate(self, seat: Seat) -> None:
        if self.seat_rpm is None:
            return
        now = time.monotonic()
        times = self._seat_times.setdefault(seat.id, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) >= self.seat_rpm:
            wait = max(1, int(times[0] + WINDOW - now + 1))
            raise Refusal(429, f"{seat.label} may send {_number(self.seat_rpm)} requests per "
                               f"minute in this workshop; retry in {wait} s",
                          {"Retry-After": str(wait)})
        times.append(now)

    async def _upstream_call(self, seat: Seat, endpoint: Endpoint, answer_type: str,
                             form: Form, cost: float) -> tuple[Answer, float]:
        lane = self.lanes[endpoint.path]
        body, body_type = encode_form(endpoint, form.texts, form.files)
        front = False
        while True:
            await lane.request(seat.id, front=front)
            try:
                charge, answer = await self._send(seat, endpoint, answer_type, body, body_type,
                                                  cost)
            finally:
                lane.finished()  # the slot ages from its answer
            if answer.status != 429:
                return answer, self._settle(charge, endpoint, answer, cost)
            self.ledger.release(charge, 429)
            self.stats.upstream_429 += 1
            wait = parse_credits(answer.headers.get("retry-after"))
            lane.pause(float(wait) if wait is not None else lane.spacing)
            logger.warning("the upstream answered 429 on %s; pausing that endpoint",
                           endpoint.path)
            front = True

    async def _send(self, seat: Seat, endpoint: Endpoint, answer_type: str, body: bytes,
                    body_type: str, cost: float) -> tuple[int, Answer]:
        """In the seat's slot: read the seat again, reserve, call; the charge and answer."""
        refusal = self.ledger.seat(seat.id).refusal()
        if refusal is not None:  # revoked or expired while it waited
            raise Refusal(403, refusal)
        charge = self.ledger.reserve(seat.id, endpoint.path, cost)
        self.stats.upstream_calls += 1
        try:
            return charge, await self.upstream.send(endpoint, answer_type, body, body_type)
        except Exception:
            self.ledger.release(charge, UNREACHABLE)
            logger.exception("upstream call for %s failed", endpoint.path)
            raise Refusal(502, "the gateway failed while calling the service; nothing "
                               "was charged") from None

    def _settle(self, charge: int, endpoint: Endpoint, answer: Answer, cost: float) -> float:
        """Settle or release the charge by the upstream's answer; returns credits charged."""
        if answer.status == 200:
            consumed = parse_credits(answer.headers.get("x-credits-consumed"))
            charged = cost if consumed is None else float(consumed)
            self.ledger.settle(charge, charged)
            return charged
        self.ledger.release(charge, answer.status)
        if answer.status in _WHY:
            logger.warning("the upstream refused the room's account on %s (%d %s): check the "
                           "room's key and credits", endpoint.path, answer.status,
                           _WHY[answer.status])
            raise Refusal(503, ROOM_REFUSED.format(status=answer.status,
                                                   why=_WHY[answer.status]))
        if answer.status == UNREACHABLE:
            raise Refusal(502, f"the gateway could not reach the service "
                               f"({answer.body.decode(errors='replace')}); nothing was charged")
        return 0.0


def _parse(endpoint: Endpoint, content_type: str | None, body: bytes) -> Form:
    """Parse and validate a body, as the local engine does (a `Refusal` 400 if not)."""
    import io

    try:
        form = parse_form(endpoint, content_type, io.BytesIO(body), len(body))
        validate_request(endpoint, form.texts, form.files)
    except (FormError, InputError) as err:
        raise Refusal(400, str(err)) from None
    except Exception as err:  # noqa: BLE001 - the mask check decodes: a broken file raises anything
        raise Refusal(400, f"an uploaded image could not be decoded: {err}") from None
    return form


def _most_it_can_cost(endpoint: Endpoint, form: Form) -> float:
    """What the call is reserved at: the endpoint table's most (upscale: by output
    megapixels); the charge is then settled from ``x-credits-consumed``."""
    image = endpoint.image_field
    data = form.files.get(image.name) if image is not None else None
    size = inspect_image(data).size if data else None
    return float(endpoint.max_credits(form.texts, size))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
