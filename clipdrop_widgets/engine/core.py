"""The local engine: the ClipDrop HTTP contract answered in Python, independent of any socket.

[`LocalEngine`][clipdrop_widgets.LocalEngine] takes a request's method, path, headers and body
stream and returns an
`EngineResponse`. The loopback server (`server`) and the ``requests`` adapter
(`adapter`) are thin shells around `LocalEngine.handle`, so both serve exactly the
same statuses, messages and headers.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from PIL import Image

from ..contract.endpoints import (
    CONTENT_TYPE_FORMATS,
    ENDPOINTS,
    RATE_WINDOW,
    Endpoint,
    endpoint_for_path,
)
from ..contract.errors import InputError
from ..contract.validation import validate_request
from .forms import FormError, Readable, parse_form

__all__ = ["ENGINE_HEADER", "EngineResponse", "LocalEngine", "negotiate"]

logger = logging.getLogger(__name__)

#: Header (and value) on every answer of the local engine, so clients can label results as
#: offline previews.
ENGINE_HEADER = ("x-clipdrop-engine", "local-preview")
#: How many (path, status) pairs `LocalEngine.log` keeps.
LOG_LENGTH = 10_000
_ECHO_CHARS = 200  # characters of a client-sent path or header echoed or logged
_RATE_SWEEP = 4096  # prune idle rate windows once this many keys are tracked

_SAVE_OPTIONS: dict[str, tuple[str, dict[str, int]]] = {
    "image/png": ("PNG", {}),
    "image/jpeg": ("JPEG", {"quality": 92}),
    "image/webp": ("WEBP", {"quality": 90}),
}


@dataclass(frozen=True)
class EngineResponse:
    """One answer: HTTP ``status``, ``headers`` (without Content-Length) and the ``body``."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def reason(self) -> str:
        """The status's standard reason phrase (``"Bad Request"``)."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""


class _Refusal(Exception):
    """Stops handling with a JSON error answer."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def _json_error(status: int, message: str, headers: Mapping[str, str] | None = None,
                ) -> EngineResponse:
    body = json.dumps({"error": message}).encode()
    all_headers = {"Content-Type": "application/json", ENGINE_HEADER[0]: ENGINE_HEADER[1]}
    all_headers.update(headers or {})
    return EngineResponse(status, all_headers, body)


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

    Thread-safe: credits, rate windows and the log are guarded by one lock; operations run
    outside it, concurrently.
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
    ):
        if credits < 0:
            raise ValueError(f"credits must be >= 0, got {credits}")
        if not isinstance(rate_limit, bool) and (not isinstance(rate_limit, int)
                                                 or rate_limit <= 0):
            raise ValueError(f"rate_limit must be a bool or a positive int, got {rate_limit!r}")
        if api_key is not None and not api_key:
            raise ValueError("api_key must be None (accept any key) or a non-empty string")
        self._api_key = api_key
        self.require_key = require_key
        self.rate_limit = rate_limit
        self._credits = credits
        self._starting_credits = credits
        self.practice = practice
        """Whether the balance starts again rather than refuse a call (see ``practice``)."""
        self._lock = threading.Lock()
        self._rates = _RateWindows(clock)
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

    def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body_stream: Readable,
        content_length: int | None,
    ) -> EngineResponse:
        """Answer one request.

        ``path`` may carry a query string (ignored); ``headers`` are matched without regard to
        case; ``body_stream`` is read only after routing, auth, rate limit, ``Accept`` and the
        announced ``content_length`` (bytes; ``None`` when unknown) have passed. Never raises:
        a fault inside an operation is a 500 answer.
        """
        route = urlsplit(path).path or "/"
        try:
            response = self._handle(method.upper(), route, headers, body_stream, content_length)
        except _Refusal as refusal:
            response = _json_error(refusal.status, refusal.message, refusal.headers)
        except Exception:
            logger.exception("local engine failed on %s %s", method, route[:_ECHO_CHARS])
            response = _json_error(500, "internal error in the local engine; see its log")
        with self._lock:
            self.log.append((route[:_ECHO_CHARS], response.status))
        return response

    def _handle(self, method: str, route: str, headers: Mapping[str, str],
                body_stream: Readable, content_length: int | None) -> EngineResponse:
        endpoint = endpoint_for_path(route)
        if endpoint is None:
            served = ", ".join(e.path for e in ENDPOINTS.values())
            raise _Refusal(404, f"no endpoint at {route[:_ECHO_CHARS]}; "
                                f"the local engine serves {served}")
        if method != "POST":
            raise _Refusal(405, f"{method} is not allowed on {endpoint.path}; use POST",
                           {"Allow": "POST"})
        lowered = {k.lower(): v for k, v in headers.items()}
        key = self._authenticate(lowered.get("x-api-key", "").strip())
        self._check_rate(key, endpoint)
        content_type = negotiate(endpoint, lowered.get("accept"))
        if content_type is None:
            offers = ", ".join(endpoint.accept or (endpoint.output_content_type,))
            raise _Refusal(406, f"Accept: {lowered['accept'][:_ECHO_CHARS]} is not acceptable; "
                                f"{endpoint.path} answers with {offers}")
        try:
            form = parse_form(endpoint, lowered.get("content-type"), body_stream,
                              content_length)
        except FormError as err:
            raise _Refusal(400, str(err)) from None
        _validate(endpoint, form.texts, form.files)
        remaining = self._reserve(endpoint)
        try:
            data = self._run(endpoint, form.texts, form.files, content_type)
        except BaseException:
            self._refund(endpoint)
            raise
        return EngineResponse(200, {
            "Content-Type": content_type,
            "x-remaining-credits": _number(remaining),
            "x-credits-consumed": _number(endpoint.credits),
            ENGINE_HEADER[0]: ENGINE_HEADER[1],
        }, data)

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

    def _run(self, endpoint: Endpoint, texts: dict[str, str], files: dict[str, bytes],
             content_type: str) -> bytes:
        """Decode the validated files, run the operation, encode its image as ``content_type``."""
        from . import operations

        images = {name: _decode(name, data, mask=endpoint.field(name).role == "mask")
                  for name, data in files.items()}
        result = operations.run(endpoint.name, texts, images)
        pil_format, options = _SAVE_OPTIONS[content_type]
        if result.mode not in ("RGB", "L"):
            result = result.convert("RGB")
        out = io.BytesIO()
        result.save(out, pil_format, **options)
        return out.getvalue()


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
