"""One exception per failure kind, all under [`ClipdropError`][clipdrop_widgets.ClipdropError].

The tree follows the official OpenAI and Anthropic clients: connection failures, status
failures (one subclass per status, chosen in `make_status_error`), and our own
client-side refusals (bad input, budget). No message ever contains the API key.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    import requests

__all__ = [
    "ClipdropError",
    "ConfigurationError",
    "ConfigurationTypeError",
    "NotFoundError",
    "StateError",
    "InputError",
    "BudgetExceededError",
    "CancelledError",
    "APIConnectionError",
    "APITimeoutError",
    "AnswerLostError",
    "APIStatusError",
    "BadRequestError",
    "MissingAPIKeyError",
    "OutOfCreditsError",
    "InvalidAPIKeyError",
    "NotAcceptableError",
    "RateLimitError",
    "ServerError",
    "InvalidResponseError",
    "RunDirBusyError",
    "RunDirMismatchError",
    "RunLogError",
    "make_status_error",
    "connection_failure_text",
]


class ClipdropError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(ClipdropError, ValueError):
    """An impossible setting, refused when it is given, before anything is sent.

    For instance ``Client(budget=-1)``, ``Client(timeout=None)``, a key with spaces inside or
    ``client.call("nope")``. Also a ``ValueError``, so code written for the built-in keeps
    working.
    """


class ConfigurationTypeError(ConfigurationError, TypeError):
    """A setting of the wrong type (``Client(api_key=123)``); also a ``TypeError``."""


class NotFoundError(ClipdropError, KeyError):
    """A name that is not there: a sample photo, an app of the Studio, a seat, a sweep item's
    picture. Also a ``KeyError`` (and so a ``LookupError``), as code written for the built-in
    expects."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


class StateError(ClipdropError, RuntimeError):
    """Something asked at the wrong moment: a sweep already running, a read-only sweep run.
    Also a ``RuntimeError``."""


class InputError(ClipdropError, ValueError):
    """An input breaks a documented rule; raised before any request is sent.

    ``field`` names the form field (``mask_file``), ``rule`` says the rule in words.
    """

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None):
        super().__init__(message)
        self.field = field
        """The form field that broke the rule (``"mask_file"``), or ``None``."""
        self.rule = rule
        """The rule broken, in words (``"mask size"``), or ``None``."""


class BudgetExceededError(ClipdropError):
    """The call would spend past the client's ``budget``; nothing was sent."""

    def __init__(self, message: str, *, budget: float, spent: float, cost: float):
        super().__init__(message)
        self.budget = budget
        """The client's ``budget``, in credits."""
        self.spent = spent
        """Credits this client had spent (or reserved) before the call."""
        self.cost = cost
        """The refused call's cost, in credits."""


class CancelledError(ClipdropError):
    """The call was cancelled before its request was sent; nothing was spent.

    Cancelled while waiting to send it again, after an answer that refused it without a
    charge (a 429 or a 5xx, then retried), `refused` is that answer's status code."""

    refused: int | None = None
    """The status code of the answer that refused the call once without a charge (then
    cancelled before it was sent again), else ``None``."""


class InvalidResponseError(ClipdropError):
    """The server answered 200 but the body is not the image it claims to be."""

    def __init__(self, message: str, *, response: requests.Response | None = None):
        super().__init__(message)
        self.response = response
        """The `requests.Response` whose body was not an image, when there is one."""


class APIConnectionError(ClipdropError):
    """The server could not be reached, or the connection broke before a full answer.

    Attributes:
        sent: ``True`` when the whole request had been sent before the failure: the service
            may have made, and charged, the answer that was lost. Such a call is never
            retried. ``False``: nothing reached the service, and the call was retried.
        credits_consumed: ``x-credits-consumed`` of the answer's headers, when they arrived
            before the failure (else ``None``).
        remaining_credits: ``x-remaining-credits`` likewise.
    """

    def __init__(self, message: str, *, sent: bool = False,
                 credits_consumed: float | None = None,
                 remaining_credits: float | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.credits_consumed = credits_consumed
        self.remaining_credits = remaining_credits


class APITimeoutError(APIConnectionError):
    """The server did not give its whole answer within the timeout (connect, send, answer).

    With ``sent`` true the request had gone out, so it is not retried: the service may have
    made and charged the answer.
    """


class AnswerLostError(APIConnectionError):
    """The request was sent whole, then the answer broke (reset, early close, bad chunk).

    ``sent`` is always true: the service may have made, and charged, the answer, so the call
    is not retried; the message says what the headers reported. Run it again if you want it.
    """


class RunDirBusyError(ClipdropError):
    """Another sweep (in this process or another) is running in the same run folder.

    ``run_dir`` is the folder, ``holder`` what the running sweep wrote beside its lock
    (``"pid 4242 on host lab-3 since 2026-11-30 19:40:02 UTC"``), or ``None`` if unknown.
    """

    def __init__(self, message: str, *, run_dir: str, holder: str | None) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        """The run folder in use."""
        self.holder = holder
        """Who holds it (process, host, since when), as written beside its lock; or ``None``."""


class RunDirMismatchError(ClipdropError, ValueError):
    """The run folder holds another sweep (a different operation, items or inputs)."""


class RunLogError(ClipdropError, ValueError):
    """A log on disk (a sweep's run log, a session's) was changed by hand so that it cannot be
    trusted: a line that is not a JSON record, or a file path outside its folder. Nothing it
    names was read."""


class APIStatusError(ClipdropError):
    """The server answered with an error status.

    ``status_code`` is the HTTP status, ``message`` the JSON body's ``error`` field (or the
    body's text when it is not JSON), ``response`` the `requests.Response`.
    """

    advice: str = ""
    """What the user can do about it, in plain words (shown by the apps)."""

    def __init__(self, message: str, *, response: requests.Response, status_code: int):
        super().__init__(f"{status_code}: {message}" if message else str(status_code))
        self.message = message
        """The server's reason: the JSON body's ``error`` field, else the body's text."""
        self.response = response
        """The `requests.Response`."""
        self.status_code = status_code
        """The HTTP status, such as 402."""

    @property
    def body(self) -> Any:
        """The response's body: parsed JSON when it is JSON, else its text."""
        try:
            return self.response.json()
        except ValueError:
            return self.response.text


class BadRequestError(APIStatusError):
    """400: the request is malformed or an input is invalid."""

    advice = "An input was refused: check the image format, size and prompt."
    """What to do about it, in plain words (shown by the apps)."""


class MissingAPIKeyError(APIStatusError):
    """401: no API key was sent."""

    advice = ("Give a key: paste it in the Studio's API key box, or set CLIPDROP_API_KEY "
              "before starting (in code: Client(api_key=...)).")
    """What to do about it, in plain words (shown by the apps)."""


class OutOfCreditsError(APIStatusError):
    """402: the account has no credits left."""

    advice = ("Buy credits for this key, or remove the key to make offline previews on the "
              "local engine.")
    """What to do about it, in plain words (shown by the apps)."""
    """What to do about it, in plain words (shown by the apps)."""


class InvalidAPIKeyError(APIStatusError):
    """403: the API key is invalid or revoked."""

    advice = "The API key was refused: check it, or make a new one."
    """What to do about it, in plain words (shown by the apps)."""


class NotAcceptableError(APIStatusError):
    """406: the ``Accept`` header asks for a format the endpoint cannot give."""

    advice = "Ask for another output format."
    """What to do about it, in plain words (shown by the apps)."""


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically before it reaches you."""

    advice = "Wait a little, or lower requests_per_minute."
    """What to do about it, in plain words (shown by the apps)."""


class ServerError(APIStatusError):
    """5xx: a fault on the server's side; retried automatically before it reaches you."""

    advice = "The server failed: try again later."
    """What to do about it, in plain words (shown by the apps)."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: MissingAPIKeyError,
    402: OutOfCreditsError,
    403: InvalidAPIKeyError,
    406: NotAcceptableError,
    429: RateLimitError,
}


def error_message(response: requests.Response) -> str:
    """The ``error`` field of a JSON error body, else the body's text (trimmed)."""
    text = ""
    try:
        text = response.content.decode("utf-8", "replace")
        body = json.loads(text)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return body["error"]
    except (ValueError, RuntimeError):
        pass
    text = text.strip()
    return text[:500] + ("..." if len(text) > 500 else "")


def make_status_error(response: requests.Response) -> APIStatusError:
    """The exception for an error response: one class per status,
    [`ServerError`][clipdrop_widgets.ServerError] for 5xx."""
    status = response.status_code
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    return cls(error_message(response), response=response, status_code=status)


# -- connection failures in one sentence -------------------------------------------------------

def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (``__cause__``, ``__context__``, urllib3's ``reason``
    and a first argument that is itself an exception), outermost first, each once."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.append(current)
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None),
                   current.args[0] if current.args else None]
        todo += [w for w in wrapped if isinstance(w, BaseException)]
    return seen


def _kind(exc: BaseException) -> str:
    """What went wrong, by the first cause that says it plainly."""
    causes = _causes(exc)
    names = {k.__name__ for c in causes for k in type(c).__mro__}
    if any(isinstance(c, socket.gaierror) for c in causes) or "NameResolutionError" in names:
        return "name"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "refused"
    if "ConnectTimeout" in names or "ConnectTimeoutError" in names:
        return "connect timeout"
    if "ReadTimeout" in names or "ReadTimeoutError" in names or "Timeout" in names:
        return "read timeout"
    if any(isinstance(c, ssl.SSLError) for c in causes) or "SSLError" in names:
        return "tls"
    if (any(isinstance(c, (ConnectionResetError, BrokenPipeError)) for c in causes)
            or names & {"RemoteDisconnected", "ProtocolError", "ChunkedEncodingError",
                        "IncompleteRead"}):
        return "broken"
    return "other"


def _seconds(timeout: Any, part: int) -> str:
    value = timeout[part] if isinstance(timeout, tuple) else timeout
    return f"{value:g} s" if isinstance(value, (int, float)) else "the time allowed"


def connection_failure_text(exc: BaseException, base_url: str, *, timeout: Any = None) -> str:
    """One sentence (no full stop) saying why ``base_url`` could not be used and what to do.

    ``exc`` is what the HTTP library raised; it is only classified, never quoted, so no
    header (the key) or long library text reaches the message. ``timeout`` is the client's
    timeout in seconds, or ``(connect, read)`` seconds.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    where = f"{host}:{parts.port}" if parts.port else host
    if parts.scheme == "local":
        host = where = "the local engine"
    kind = _kind(exc)
    if kind == "name":
        return (f"cannot reach {where}: its name could not be resolved; check the address "
                "and that this computer is online")
    if kind == "refused":
        return (f"cannot reach {where}: the connection was refused (nothing answers there); "
                "check the address and that the server is running")
    if kind == "connect timeout":
        return (f"cannot reach {where}: no answer to connect within {_seconds(timeout, 0)}; "
                "check that this computer is online, or try again later")
    if kind == "read timeout":
        return (f"{where} did not answer within {_seconds(timeout, 1)}; the server may be busy: "
                "try again, or allow a longer timeout")
    if kind == "tls":
        return (f"cannot talk to {where} securely: its certificate was not accepted; check "
                "the address")
    if kind == "broken":
        return f"the connection to {where} broke before a full answer; try again"
    return (f"cannot reach {where} ({type(exc).__name__}); check the address and that this "
            "computer is online")
