"""The local engine: the ClipDrop HTTP contract answered in Python, independent of any socket.

[`LocalEngine`][clipdrop_widgets.LocalEngine] answers a request in two steps.
`LocalEngine.admit` decides everything the headers allow (route, method, key, a place in the
bounded work pool, rate, ``Accept``, the announced size) and either refuses or hands back a
`Ticket`;
`LocalEngine.submit` then runs the form's validation and the operation on the pool.
The tornado server (`server`) feeds the body to the ticket's form reader as it arrives
in between; `LocalEngine.handle`, which the ``requests`` adapter (`adapter`)
calls, does the same from a blocking stream. Both serve exactly the same statuses, messages
and headers, and share one bound on work in flight.
"""

from __future__ import annotations

import hmac
import io
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from PIL import Image

from ..contract.endpoints import (
    CONTENT_TYPE_FORMATS,
    ENDPOINTS,
    RATE_WINDOW,
    Endpoint,
    endpoint_for_path,
)
from ..contract.errors import ConfigurationError, InputError
from ..contract.validation import validate_request
from .answers import EngineResponse, json_error
from .forms import Form, FormError, FormReader, Readable, check_announced, parse_form
from .intake import job_megapixels
from .work import Slot, WorkPool

__all__ = ["ENGINE_HEADER", "EngineResponse", "LocalEngine", "Ticket", "negotiate"]

logger = logging.getLogger(__name__)

#: Header (and value) on every answer of the local engine, so clients can label results as
#: offline previews.
ENGINE_HEADER = ("x-clipdrop-engine", "local-preview")
#: How many (path, status) pairs `LocalEngine.log` keeps.
LOG_LENGTH = 10_000
_ECHO_CHARS = 200  # characters of a client-sent path or header echoed or logged
_RATE_SWEEP = 4096  # prune idle rate windows once this many keys are tracked
_INTERNAL = "internal error in the local engine; see its log"

_SAVE_OPTIONS: dict[str, tuple[str, dict[str, int]]] = {
    "image/png": ("PNG", {}),
    "image/jpeg": ("JPEG", {"quality": 92}),
    "image/webp": ("WEBP", {"quality": 90}),
}


class _Refusal(Exception):
    """Stops handling with a JSON error answer."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def _json_error(status: int, message: str, headers: Mapping[str, str] | None = None,
                ) -> EngineResponse:
    return json_error(status, message, {ENGINE_HEADER[0]: ENGINE_HEADER[1], **(headers or {})})


def _number(value: float) -> str:
    """A credit figure as a header value: ``98`` or ``97.5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# -- Accept negotiation --------------------------------------------------------------------

def _media_key(media: str) -> str:
    """Media types compared by format, so ``image/jpg`` and ``image/jpeg`` are one."""
    fmt = CONTENT_TYPE_FORMATS.get(media)
    return f"image/{fmt}" if fmt else media


def _parse_accept(header: str) -> list[tuple[str, float]]:
    """``(media range, q)`` pairs in the header's order; ``*`` is read as ``*/*``."""
    ranges = []
    for item in header.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        if media == "*":
            media = "*/*"
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 1.0
        ranges.append((_media_key(media), q))
    return ranges


def negotiate(endpoint: Endpoint, accept: str | None) -> str | None:
    """The content type to answer ``endpoint`` with under ``accept``, or ``None`` (406).

    The offers are the endpoint's ``accept`` list, or only its ``output_content_type`` when
    the format is fixed. No header, an empty one, ``*/*`` or ``image/*`` give the default
    output type. Each offer takes the q-value of the most specific range that matches it;
    ties go to the more specific match, then to the client's order, then to the default.
    """
    if not accept or not accept.strip():
        return endpoint.output_content_type
    ranges = _parse_accept(accept)
    best: str | None = None
    best_key: tuple[float, int, int, bool] | None = None
    for offer in endpoint.accept or (endpoint.output_content_type,):
        main = offer.split("/")[0]
        match: tuple[int, int, float] | None = None  # (specificity, position, q)
        for position, (media, q) in enumerate(ranges):
            if media == _media_key(offer):
                specificity = 2
            elif media == f"{main}/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if match is None or specificity > match[0]:
                match = (specificity, position, q)
        if match is None or match[2] <= 0:
            continue
        key = (match[2], match[0], -match[1], offer == endpoint.output_content_type)
        if best_key is None or key > best_key:
            best, best_key = offer, key
    return best


# -- the engine ------------------------------------------------------------------------------

@dataclass
class _RateWindows:
    """Sliding one-minute windows of request times, per (key, path)."""

    clock: Callable[[], float]
    windows: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def admit(self, key: str, path: str, per_minute: int) -> float | None:
        """Record a request and return ``None``, or the seconds to wait when the window is full."""
        now = self.clock()
        if len(self.windows) > _RATE_SWEEP:
            idle = [k for k, w in self.windows.items() if not w or w[-1] <= now - RATE_WINDOW]
            for k in idle:
                del self.windows[k]
        window = self.windows.setdefault((key, path), deque())
        while window and window[0] <= now - RATE_WINDOW:
            window.popleft()
        if len(window) >= per_minute:
            return window[0] + RATE_WINDOW - now
        window.append(now)
        return None


@dataclass
class Ticket:
    """A request that passed every check its headers allow, holding a work slot.

    Made by `LocalEngine.admit`; answered by `LocalEngine.submit` (or
    `LocalEngine.complete`) with its form, or by `LocalEngine.refuse`. Either gives
    the slot back; so does `release`, for a client that went away.
    """

    endpoint: Endpoint
    route: str
    content_type: str  # the answer's, from Accept
    request_type: str | None  # the request's Content-Type header
    length: int | None  # the announced Content-Length (bytes), None when chunked
    slot: Slot

    def form_reader(self) -> FormReader:
        """A `FormReader` for this request's body."""
        return FormReader(self.endpoint, self.request_type, self.length)

    def release(self) -> None:
        """Give the work slot back (idempotent)."""
        self.slot.release()


class LocalEngine:
    """The ClipDrop contract for every endpoint of the endpoint table
    ([`ENDPOINTS`][clipdrop_widgets.ENDPOINTS]).

    Args:
        api_key: the only key accepted (others get 403); ``None`` accepts any non-empty key.
        require_key: when true (default), a request without ``x-api-key`` gets 401.
        credits: the starting balance; each success spends the endpoint's ``credits`` and a
            call that cannot be paid gets 402. Default 100, the free development allowance.
        practice: when true, the balance is a practice counter: a call it cannot pay starts
            it again from ``credits`` instead of answering 402, so it never blocks a session.
            The in-process engine of a keyless [`Client`][clipdrop_widgets.Client] uses this.
        rate_limit: ``False`` (default) for none; ``True`` for each endpoint's documented
            ``requests_per_minute`` per key; a positive int for that many per minute instead.
            Windows slide over 60 s; a refused request gets 429 with ``Retry-After`` (seconds).
        clock: monotonic time in seconds for the rate windows (tests pass a fake one).
        workers: threads running operations at once (decode, validate, run, encode); default
            the machine's cores (``os.cpu_count()``).
        queue: requests admitted beyond those running, reading their body or waiting for a
            thread; default twice ``workers``. Past ``workers + queue`` a request gets 503
            with ``Retry-After`` (seconds) before its body is read.

    Thread-safe: credits, rate windows and the log are guarded by one lock; operations run
    outside it, on the pool's threads (`WorkPool`).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        require_key: bool = True,
        credits: float = 100,
        practice: bool = False,
        rate_limit: bool | int = False,
        clock: Callable[[], float] = time.monotonic,
        workers: int | None = None,
        queue: int | None = None,
    ):
        if credits < 0:
            raise ConfigurationError(f"credits must be >= 0, got {credits}")
        if not isinstance(rate_limit, bool) and (not isinstance(rate_limit, int)
                                                 or rate_limit <= 0):
            raise ConfigurationError(
                f"rate_limit must be a bool or a positive int, got {rate_limit!r}")
        if api_key is not None and not api_key:
            raise ConfigurationError("api_key must be None (accept any key) or a non-empty string")
        self._api_key = api_key
        self.require_key = require_key
        self.rate_limit = rate_limit
        self._credits = credits
        self._starting_credits = credits
        self.practice = practice
        """Whether the balance starts again rather than refuse a call (see ``practice``)."""
        self._lock = threading.Lock()
        self._rates = _RateWindows(clock)
        self.pool = WorkPool(workers=workers, queue=queue)
        """The bounded pool every request's work runs on."""
        self.log: deque[tuple[str, int]] = deque(maxlen=LOG_LENGTH)
        """The last `LOG_LENGTH` requests as ``(path, status)``, oldest first."""

    def __repr__(self) -> str:
        key = "any key" if self._api_key is None else "one key"
        return (f"LocalEngine({key}, credits={_number(self.remaining_credits)}, "
                f"rate_limit={self.rate_limit!r})")

    @property
    def remaining_credits(self) -> float:
        """Credits left (what the next ``x-remaining-credits`` is computed from)."""
        with self._lock:
            return self._credits

    def resume_credits(self, credits: float) -> None:
        """Go on from ``credits``, a balance this engine's kind reported earlier (a Studio
        session's last result, made in another kernel): a new page of the session goes on
        counting down from there, not from a fresh figure (walk 22b #10)."""
        if not credits >= 0:
            raise ConfigurationError(f"credits must be >= 0, got {credits}")
        with self._lock:
            self._credits = credits

    def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body_stream: Readable,
        content_length: int | None,
    ) -> EngineResponse:
        """Answer one request, blocking until it is done.

        ``path`` may carry a query string (ignored); ``headers`` are matched without regard to
        case; ``body_stream`` is read only after routing, auth, the work queue, rate limit,
        ``Accept`` and the announced ``content_length`` (bytes; ``None`` when unknown) have
        passed; the work then runs on the engine's pool. Never raises: a fault inside an
        operation is a 500 answer.
        """
        admitted = self.admit(method, path, headers, content_length)
        if isinstance(admitted, EngineResponse):
            return admitted
        try:
            form = parse_form(admitted.endpoint, admitted.request_type, body_stream,
                              content_length)
        except FormError as err:
            return self.refuse(admitted, 400, str(err))
        except Exception:
            logger.exception("local engine failed reading a body for %s", admitted.route)
            return self.refuse(admitted, 500, _INTERNAL)
        return self.submit(admitted, form).result()

    def admit(self, method: str, path: str, headers: Mapping[str, str],
              content_length: int | None) -> Ticket | EngineResponse:
        """Check what the headers allow, in order: route (404), method (405), key (401/403),
        a free work slot (503 with ``Retry-After``), rate (429), ``Accept`` (406), and the
        announced ``content_length`` against the endpoint's cap (400).

        Returns the refusal (already logged), or a `Ticket` holding a work slot.
        """
        route = urlsplit(path).path or "/"
        try:
            return self._admit(method.upper(), route, headers, content_length)
        except _Refusal as refusal:
            return self.record(route, _json_error(refusal.status, refusal.message,
                                                  refusal.headers))

    def _admit(self, method: str, route: str, headers: Mapping[str, str],
               content_length: int | None) -> Ticket:
        endpoint = endpoint_for_path(route)
        if endpoint is None:
            served = ", ".join(e.path for e in ENDPOINTS.values())
            raise _Refusal(404, f"no endpoint at {route[:_ECHO_CHARS]}; "
                                f"the local engine serves {served}")
        if method != "POST":
            raise _Refusal(405, f"{method[:_ECHO_CHARS]} is not allowed on {endpoint.path}; "
                                "use POST", {"Allow": "POST"})
        lowered = {k.lower(): v for k, v in headers.items()}
        key = self._authenticate(lowered.get("x-api-key", "").strip())
        slot = self.pool.try_enter()
        if slot is None:
            seconds = self.pool.retry_after()
            raise _Refusal(503, f"The local engine is busy ({self.pool.capacity} requests in "
                                f"progress or queued); retry in {seconds} s",
                           {"Retry-After": str(seconds)})
        try:
            self._check_rate(key, endpoint)
            content_type = negotiate(endpoint, lowered.get("accept"))
            if content_type is None:
                offers = ", ".join(endpoint.accept or (endpoint.output_content_type,))
                raise _Refusal(406, f"Accept: {lowered['accept'][:_ECHO_CHARS]} is not "
                                    f"acceptable; {endpoint.path} answers with {offers}")
            try:
                check_announced(endpoint, content_length)
            except FormError as err:
                raise _Refusal(400, str(err)) from None
        except BaseException:
            slot.release()
            raise
        return Ticket(endpoint, route, content_type, lowered.get("content-type"),
                      content_length, slot)

    def submit(self, ticket: Ticket, form: Form) -> Future[EngineResponse]:
        """Run `complete` on the engine's pool, weighed by its images' or its answer's
        megapixels, whichever is larger (`job_megapixels`); the future never raises."""
        ticket.slot.megapixels = job_megapixels(ticket.endpoint, form.texts, form.files)
        return self.pool.submit(ticket.slot, lambda: self.complete(ticket, form))

    def complete(self, ticket: Ticket, form: Form) -> EngineResponse:
        """Validate ``form``, take the credits, run the operation: the answer (logged).

        Blocks for the operation's time; call it on a worker thread (`submit` does).
        Releases the ticket's slot. Never raises: a fault is a 500, its credits refunded.
        """
        endpoint = ticket.endpoint
        try:
            _validate(endpoint, form.texts, form.files)
            remaining = self._reserve(endpoint)
            try:
                data, content_type = self._run(endpoint, form, ticket.content_type)
            except BaseException:
                self._refund(endpoint)
                raise
            response = EngineResponse(200, {
                "Content-Type": content_type,
                "x-remaining-credits": _number(remaining),
                "x-credits-consumed": _number(endpoint.credits),
                ENGINE_HEADER[0]: ENGINE_HEADER[1],
            }, data)
        except _Refusal as refusal:
            response = _json_error(refusal.status, refusal.message, refusal.headers)
        except Exception:
            logger.exception("local engine failed on %s", ticket.route[:_ECHO_CHARS])
            response = _json_error(500, _INTERNAL)
        finally:
            form.files.clear()  # the uploads' bytes are not needed any more
            ticket.release()
        return self.record(ticket.route, response)

    def refuse(self, ticket: Ticket, status: int, message: str) -> EngineResponse:
        """Answer an admitted request with a JSON error (its body was unreadable); logged."""
        ticket.release()
        return self.record(ticket.route, _json_error(status, message))

    def record(self, route: str, response: EngineResponse) -> EngineResponse:
        """Log ``response`` as the answer to ``route`` in `log`, and return it.

        For answers the HTTP layer gives on its own (an unknown method, a malformed request).
        """
        with self._lock:
            self.log.append((route[:_ECHO_CHARS], response.status))
        return response

    def _authenticate(self, key: str) -> str:
        """The key to account the request to; refuses 401 (none) or 403 (not the one)."""
        if not key:
            if self.require_key:
                raise _Refusal(401, "No api key provided")
            return ""
        if self._api_key is not None and not hmac.compare_digest(
                key.encode(), self._api_key.encode()):
            raise _Refusal(403, "Invalid or revoked api key")
        return key

    def _check_rate(self, key: str, endpoint: Endpoint) -> None:
        if self.rate_limit is False:
            return
        per_minute = endpoint.requests_per_minute if self.rate_limit is True else self.rate_limit
        with self._lock:
            wait = self._rates.admit(key, endpoint.path, per_minute)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise _Refusal(429, f"Too many requests: {endpoint.path} allows {per_minute} per "
                                f"minute per key; retry in {seconds} s",
                           {"Retry-After": str(seconds)})

    def _reserve(self, endpoint: Endpoint) -> float:
        """Take the call's credits now (402 if short); returns the balance left."""
        with self._lock:
            if self._credits < endpoint.credits and self.practice:
                self._credits = max(self._starting_credits, endpoint.credits)
            if self._credits < endpoint.credits:
                raise _Refusal(402, f"No credits left: {endpoint.path} costs "
                                    f"{_number(endpoint.credits)}, "
                                    f"{_number(self._credits)} remaining")
            self._credits -= endpoint.credits
            return self._credits

    def _refund(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._credits += endpoint.credits

    def _run(self, endpoint: Endpoint, form: Form, content_type: str) -> tuple[bytes, str]:
        """Decode the validated files, run the operation, encode its image as ``content_type``
        (the endpoint's ``alpha_content_type`` for a see-through result, when it has one).

        Each upload's bytes are dropped once decoded, and the decoded images once the
        operation returns, so a worker holds one stage's buffers at a time.
        """
        from . import operations

        images = {}
        for name in list(form.files):
            data = form.files.pop(name)
            images[name] = _decode(name, data, mask=endpoint.field(name).role == "mask")
            del data
        result = operations.run(endpoint.name, form.texts, images)
        images.clear()
        if result.mode == "RGBA" and endpoint.alpha_content_type:
            content_type = endpoint.alpha_content_type
        pil_format, options = _SAVE_OPTIONS[content_type]
        if result.mode == "RGBA" and pil_format == "JPEG":  # no alpha in JPEG: over white
            result = Image.alpha_composite(Image.new("RGBA", result.size, "white"),
                                           result).convert("RGB")
        if result.mode not in ("RGB", "L", "RGBA"):
            result = result.convert("RGB")
        out = io.BytesIO()
        result.save(out, pil_format, **options)
        result.close()
        return out.getvalue(), content_type


def _validate(endpoint: Endpoint, texts: dict[str, str], files: dict[str, bytes]) -> None:
    """`validate_request`, its refusals as 400s in its own words."""
    try:
        validate_request(endpoint, texts, files)
    except InputError as err:
        raise _Refusal(400, str(err)) from None
    except Exception as err:  # noqa: BLE001 - the mask check decodes: a broken file raises anything
        raise _Refusal(400, f"an uploaded image could not be decoded: {err}") from None


def _decode(name: str, data: bytes, *, mask: bool) -> Image.Image:
    """Decode one validated file (a mask to mode ``L``); an undecodable file is a 400."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as err:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise _Refusal(400, f"{name} could not be decoded: {err}") from None
    return image.convert("L") if mask else image
