"""What one attempt came to, and the error that says so in words a user can act on.

The client (`client`) makes an attempt and decides whether to retry; this module holds
the pieces between: the request body that knows when it has gone out (`Body`), the
outcome (`Outcome`), the answer taken in as received (`take_answer`), an error made fit
to show with the key cut out (`redacted`), and the classification of a failure
(`failure`): retried only when nothing reached the service; otherwise the error says
whether the service may have charged, with the credits its headers reported. A complete
answer's status becomes an outcome in `answered` (a 429 also slows its pace's scope down).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from ..contract.endpoints import Endpoint
from ..contract.errors import (
    AnswerLostError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClipdropError,
    ConfigurationError,
    InvalidResponseError,
    connection_failure_text,
    make_status_error,
)
from .constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY
from .ratelimit import RateLimiter, Slot
from .result import parse_credits
from .secret import MASK, Secret
from .transport import AnswerTooLarge, Watch

__all__ = ["Body", "Outcome", "Timeout", "limits", "retry_after", "retry_delay", "take_answer",
           "answered", "failure", "unusable", "credits_text", "redacted", "redacted_response",
           "past_deadline"]

Timeout = float | tuple[float, float] | None
_T = TypeVar("_T", str, bytes)


@dataclass
class Outcome:
    """A complete answer (``error`` None), or an error and whether it may be retried."""

    response: requests.Response | None
    error: ClipdropError | None
    elapsed: float
    retryable: bool = False


class Body:
    """A request body that knows when it has all been handed to the network.

    The first read returns the whole body whatever size is asked (http.client reads file
    bodies in 8-16 KB blocks, a send call each; a bytes body goes out in one), the next
    returns ``b""``: at that moment the body has been passed to the socket, so ``sent`` is
    set and the rate-limit slot told.
    """

    def __init__(self, data: bytes, slot: Slot | None) -> None:
        self._data: bytes | None = data
        self._len = len(data)
        self._slot = slot
        self.sent = False

    def __len__(self) -> int:
        return self._len

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, None
        if data is None:
            if not self.sent:
                self.sent = True
                if self._slot is not None:
                    self._slot.sent()
            return b""
        return data


def limits(timeout: Timeout) -> tuple[float, float, float | None]:
    """``(connect, answer, total)`` seconds from a ``timeout`` argument, checked.

    A number bounds connecting and the whole attempt (``total``); a ``(connect, read)`` pair
    bounds connecting, then everything after it.
    """
    if isinstance(timeout, tuple) and len(timeout) == 2:
        connect, answer = timeout
        total = None
    else:
        connect = answer = total = timeout  # type: ignore[assignment]
    for value in (connect, answer):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigurationError(f"timeout must be seconds > 0 or a (connect, read) pair of "
                                     f"them, "
                             f"got {timeout!r}")
    return float(connect), float(answer), None if total is None else float(total)


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or HTTP date), or ``None``."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds)


def retry_delay(outcome: Outcome, attempt: int, max_retries: int) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or ``None``: raise the error.

    Only what nothing was charged for is retried: a connection that was never made, a
    complete 429 or 5xx answer that reports no charge (`reports_charge`); at most
    ``max_retries`` times. ``Retry-After`` is obeyed as
    given (the client raises at once when it passes `MAX_RETRY_AFTER` s or the call's
    timeout: `past_deadline`), else the wait doubles from `INITIAL_RETRY_DELAY` s, with
    jitter.
    """
    if not outcome.retryable or attempt >= max_retries:
        return None
    if outcome.response is not None:
        after = retry_after(outcome.response)
        if after is not None:
            return after
    base = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
    return base * (1 - 0.25 * random.random())


def answered(response: requests.Response, elapsed: float, secrets: Iterable[Secret],
             limiter: RateLimiter | None) -> Outcome:
    """The outcome of a complete answer: an image's, or the error its status says (the key
    cut out); a 429 or 5xx may be retried, and a 429 makes ``limiter``'s whole scope wait its
    ``Retry-After`` (`RateLimiter.slow_down`), not only the call that drew it."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(response, None, elapsed)
    if 300 <= status < 400:
        target = response.headers.get("location", "nowhere")
        return Outcome(response, redacted(APIStatusError(
            f"the server redirected to {target!r}; the API never redirects, so nothing "
            "was followed (check base_url)", response=response, status_code=status),
            secrets), elapsed)
    if status == 429 and limiter is not None:
        limiter.slow_down(retry_after(response))
    # An error the server says it charged (the gateway's "credits stay charged" 502s, a
    # service 5xx reporting a charge) is never sent again: each try would be charged.
    return Outcome(response, redacted(make_status_error(response), secrets), elapsed,
                   retryable=status == 429 or (status >= 500 and not reports_charge(response)))


def reports_charge(response: requests.Response) -> bool:
    """Whether an answer's ``x-credits-consumed`` says credits were taken (anything but an
    absent, empty or zero figure: a charge that cannot be read is taken as one)."""
    raw = (response.headers.get("x-credits-consumed") or "").strip()
    if not raw:
        return False
    try:
        return float(raw) != 0
    except ValueError:
        return True


def take_answer(response: requests.Response, data: bytes) -> None:
    """Keep the body read in ``response``, as received, and mask the key in the request kept.

    The answer's headers and body are protocol fields, parsed as they came (see `secret`);
    what a person may see of them goes through `redacted` first."""
    response._content = data
    response._content_consumed = True
    if response.request is not None and "x-api-key" in response.request.headers:
        response.request.headers["x-api-key"] = MASK


def redacted_response(response: requests.Response,
                      secrets: Iterable[Secret]) -> requests.Response:
    """A copy of ``response`` for people to read: every form of the key cut out of its
    headers, reason, address and body (an error's text, or a 2xx body that is not an image)."""
    secrets = list(secrets)

    def clean(text: _T) -> _T:
        for secret in secrets:
            text = secret.redact(text)
        return text

    copy = requests.Response()
    copy.status_code = response.status_code
    copy.headers = CaseInsensitiveDict({n: clean(v) for n, v in response.headers.items()})
    copy.reason = clean(response.reason or "")
    copy.url = clean(response.url or "")
    copy.encoding = response.encoding
    copy.elapsed = response.elapsed
    copy.request = response.request
    copy._content = clean(response._content if isinstance(response._content, bytes) else b"")
    copy._content_consumed = True
    return copy


def redacted(error: ClipdropError, secrets: Iterable[Secret]) -> ClipdropError:
    """``error`` made fit to show: its message, text attributes and kept response redacted."""
    secrets = list(secrets)
    if not secrets:
        return error

    def clean(text: str) -> str:
        for secret in secrets:
            text = secret.redact(text)
        return text

    error.args = tuple(clean(a) if isinstance(a, str) else a for a in error.args)
    if isinstance(getattr(error, "message", None), str):
        error.message = clean(error.message)  # type: ignore[attr-defined]
    response = getattr(error, "response", None)
    if isinstance(response, requests.Response):
        error.response = redacted_response(response, secrets)  # type: ignore[attr-defined]
    return error


def credits_text(response: requests.Response | None) -> str:
    """What the answer's headers said of credits, in words."""
    if response is None:
        return "no answer headers arrived, so what it charged is unknown"
    consumed = parse_credits(response.headers.get("x-credits-consumed"))
    remaining = parse_credits(response.headers.get("x-remaining-credits"))
    if remaining is not None and remaining < 0:  # cannot be right (see `believed_remaining`)
        remaining = None
    if consumed is None and remaining is None:
        return "its headers did not say what it charged"
    parts = []
    if consumed is not None:
        parts.append(f"{consumed:g} credit{'' if consumed == 1 else 's'} consumed")
    if remaining is not None:
        parts.append(f"{remaining:g} left")
    return "its headers reported " + ", ".join(parts)


def unusable(ep: Endpoint, response: requests.Response, exc: Exception) -> InvalidResponseError:
    """The error for an answer refused for its size or encoding (made, so not retried)."""
    if isinstance(exc, AnswerTooLarge):
        what = (f"declares {exc.declared} bytes" if exc.declared is not None else
                "inflates past that" if exc.compressed else "went past that")
        reason = (f"the answer {what}, over the cap of {exc.cap} bytes for {ep.name} (from "
                  "the endpoint's largest documented output); it was not read further")
    else:
        reason = str(exc)
    return InvalidResponseError(
        f"{ep.name}: {reason}. It was not sent again: the service answered "
        f"{response.status_code}, so it may have charged for it ({credits_text(response)}).",
        response=response)


def failure(exc: BaseException, *, base_url: str, response: requests.Response | None,
            watch: Watch | None, sent: bool, timeout: Timeout, elapsed: float) -> Outcome:
    """Classify a failed attempt: retried only when nothing reached the service.

    ``exc`` is only classified, never quoted, so no header (the key) reaches the message.
    """
    where = _where(base_url)
    if isinstance(exc, (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return Outcome(None, ClipdropError(f"the request to {where} could not be made "
                                           f"({type(exc).__name__}); check base_url"), elapsed)
    # The deadline passed, whichever noticed first: the watchdog, or the socket's own timeout
    # (which requests may report as a broken connection).
    timed_out = (watch is not None and (watch.expired or watch.remaining() <= 0.01)) or any(
        isinstance(e, (requests.Timeout, TimeoutError, urllib3.exceptions.TimeoutError))
        and not isinstance(e, urllib3.exceptions.NewConnectionError)  # a timeout by descent
        for e in _chain(exc))
    connected = watch.connected if watch is not None else True
    if isinstance(exc, requests.ConnectTimeout) or not connected:
        text = connection_failure_text(exc, base_url, timeout=timeout)
        kind = APITimeoutError if timed_out else APIConnectionError
        return Outcome(None, kind(text, sent=False), elapsed, retryable=True)
    answer = timeout[1] if isinstance(timeout, tuple) else timeout
    if not sent:
        if timed_out:
            return Outcome(None, APITimeoutError(
                f"{where} did not take the whole request within {answer:g} s; it was not "
                "sent whole, so nothing was charged", sent=False), elapsed)
        return Outcome(None, APIConnectionError(
            f"the connection to {where} broke before the request had gone out whole; "
            "nothing was charged", sent=False), elapsed, retryable=True)
    charged: dict[str, Any] = {"sent": True, "credits_consumed": None, "remaining_credits": None}
    if response is not None:
        charged["credits_consumed"] = parse_credits(response.headers.get("x-credits-consumed"))
        remaining = parse_credits(response.headers.get("x-remaining-credits"))
        charged["remaining_credits"] = remaining if remaining is None or remaining >= 0 else None
    lost = (f"the service may have made and charged it ({credits_text(response)}), so it was "
            "not sent again")
    if timed_out:
        return Outcome(None, APITimeoutError(
            f"{where} did not answer within {answer:g} s after the request was sent; {lost}: "
            "try again if you want it, or allow a longer timeout", **charged), elapsed)
    error: APIConnectionError = AnswerLostError(
        f"the answer from {where} broke off after the request was sent ({_breakage(exc)}); "
        f"{lost}: call again if you want it", **charged)
    return Outcome(None, error, elapsed)


def _where(base_url: str) -> str:
    """``host:port`` of ``base_url`` (as `connection_failure_text` says it)."""
    parts = urlsplit(base_url)
    if parts.scheme == "local":
        return "the local engine"
    host = parts.hostname or base_url
    return f"{host}:{parts.port}" if parts.port else host


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the exceptions it wraps (in its arguments) and its causes, a few deep."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(found) < 16:
        e = todo.pop()
        if e is None or e in found:
            continue
        found.append(e)
        todo += [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(e, "reason", None)
        todo += [reason if isinstance(reason, BaseException) else None, e.__cause__,
                 e.__context__]
    return found


def _breakage(exc: BaseException) -> str:
    """How an answer broke, in words, from the chain of exceptions (never their text)."""
    names: set[str] = set()
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        names |= {k.__name__ for k in type(seen).__mro__}
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, BaseException):
                names |= {k.__name__ for k in type(arg).__mro__}
        seen = seen.__cause__ or seen.__context__
    if "HeadersBrokeOff" in names:
        return "its headers broke off"
    if "InvalidChunkLength" in names:
        return "a malformed chunk"
    if "ConnectionResetError" in names:
        return "the connection was reset"
    if names & {"IncompleteRead", "RemoteDisconnected"}:
        return "the server closed the connection early"
    return f"the connection broke: {type(exc).__name__}"


def past_deadline(error: ClipdropError, wait: float, *, left: float,
                  timeout: Timeout) -> ClipdropError:
    """The error to raise at once when the wait before a retry would pass the call's time.

    A status error (429, 5xx) is raised again, of the same class, saying the wait; nothing
    more is sent. Other errors are raised as they are.
    """
    if not isinstance(error, APIStatusError):
        return error
    again = type(error)(error.message, response=error.response, status_code=error.status_code)
    asked = "asks to wait" if error.response.headers.get("retry-after") else "would wait"
    again.args = (f"{error.args[0]} (the server {asked} {wait:g} s before another try, "
                  f"more than the {max(0.0, left):.3g} s left of timeout={timeout!r} or "
                  f"the {MAX_RETRY_AFTER:g} s most waited; it was not retried)",)
    return again
