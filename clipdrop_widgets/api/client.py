"""The API client: eleven methods, one request path, every rule checked before a credit is spent.

What is retried, and why (the service charges for each answer it makes):

- a connection that could not be made (refused, no route, no connection within the connect
  timeout): nothing reached the service;
- a complete ``429`` or ``5xx`` answer: the contract charges for neither.

Nothing else. Once the whole request has gone out, the service may be making, and charging
for, the image: a timeout, a reset, or an answer that breaks off is raised at once
(`APITimeoutError` or `AnswerLostError`, with ``sent`` true and the credits the
headers reported), never sent again. ``timeout`` bounds the whole call from its first
attempt, retries included: a ``Retry-After`` that would pass it is raised at once, with the
wait in the message. Each answer is read under a size cap from the endpoint table
(`transport`).
"""

from __future__ import annotations

import inspect
import logging
import numbers
import os
import threading
import time
from collections.abc import Collection, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Literal

import requests
import urllib3
from urllib3 import encode_multipart_formdata

from ..contract.endpoints import CONTENT_TYPE_FORMATS, FORMAT_CONTENT_TYPES, Endpoint, endpoint
from ..contract.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CancelledError,
    ConfigurationError,
    ConfigurationTypeError,
    InputError,
    InvalidResponseError,
)
from ..contract.validation import canonical_texts, validate_request
from . import constants as C
from .answer_checks import answer_notices
from .attempt import (
    Body,
    Outcome,
    Timeout,
    answered,
    credits_text,
    failure,
    limits,
    past_deadline,
    redacted,
    reports_charge,
    retry_delay,
    take_answer,
    unusable,
)
from .cache import ResultCache, cache_key, default_cache_dir
from .charge import await_budget, believed_charge, believed_remaining, credible
from .hub import hub_seat
from .inputs import ImageInput, Prepared, prepare_file
from .notices import notify
from .photo_operations import PhotoOperations
from .ratelimit import Cancelled, RateLimiter, Slot, TooLate
from .result import Result, result_from_answer
from .secret import Secret, clean_key
from .shared_pacer import check_scope, pacers_for
from .transport import (
    ACCEPT_ENCODING,
    AnswerTooLarge,
    UnreadableEncoding,
    Watch,
    WatchedAdapter,
    read_body,
    watching,
)

__all__ = ["Client", "PreparedCall", "Wait"]

log = logging.getLogger("clipdrop_widgets")

Format = Literal["png", "jpeg", "webp"]
#: What is known of the key: none set, not yet proven, accepted by a call, refused (401/403).
KeyState = Literal["none", "unverified", "verified", "rejected"]

_sleep = time.sleep  # tests replace this: no test sleeps for real
_local_notice_shown = False


@dataclass(frozen=True)
class Wait:
    """What a call is waiting for before it sends: `Client.waiting`.

    Attributes:
        reason: ``"pause"``: the pause a 429 asked for (its ``Retry-After``, at most
            `MAX_PAUSE` s) holds this key's pace; ``"retry"``: the wait before retrying a 429
            or 5xx; ``"pace"``: the client's own spacing of requests (``requests_per_minute``).
        seconds: how long it is still to wait; ``None`` while another request's upload goes
            out (the turn comes when it ends).
        refused: the status code of the answer that refused this very call without a charge
            (a 429 or 5xx: it was sent once and will be sent again), ``None`` when it has not
            been answered yet.
    """

    reason: Literal["pause", "retry", "pace"]
    seconds: float | None
    refused: int | None = None


@dataclass(frozen=True)
class PreparedCall:
    """A call checked and encoded but not sent: what `Client.prepare` returns.

    Attributes:
        endpoint: the operation's `Endpoint`.
        texts: the text fields to send (fields given as ``None`` left out).
        files: the encoded files by form field name (bytes, file name, content type).
        accept: the ``Accept`` header asked for with ``format``, or ``None``.
        cost: the most the call can cost (credits; `Endpoint.max_credits`).
    """

    endpoint: Endpoint
    texts: Mapping[str, str]
    files: Mapping[str, Prepared]
    accept: str | None
    cost: float = 0


def _number(value: object, name: str) -> float:
    """``value`` if it is a number (not a bool); else a `ConfigurationTypeError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationTypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


class Client(PhotoOperations):
    """A ClipDrop client.

    Args:
        api_key: the key; default ``$CLIPDROP_API_KEY``. An empty key (what ``getpass()``
            returns when Enter is pressed) means no key. With no key and no ``base_url``, the
            client uses the local engine in-process (offline previews; ``is_local`` is true).
        base_url: the server; default ``$CLIPDROP_API_URL``, else ``https://clipdrop-api.co``.
            ``"local://engine"`` selects the in-process local engine explicitly.
            On a JupyterHub with ``$CLIPDROP_HUB_GATEWAY`` set and no key or ``base_url``
            given or in the environment: that gateway, the user's hub token as the key
            (`api.hub`, ``hub_user``).
        timeout: seconds for the whole call, retries and their waits included (connecting,
            sending, the entire answer), or ``(connect, read)``: seconds to connect, then
            seconds for the rest of an attempt (the call as a whole gets their sum), however
            slowly the server sends. Default ``(10, 120)``. Always applied.
        max_retries: retries of failed connections, 429 and 5xx answers (default 2); nothing
            else is retried (see the module's documentation).
        requests_per_minute: client-side pace, requests spaced evenly; default the documented
            rate (60, text inpainting 30) against a server, none for the in-process engine.
            Clients with the same key, server, pace and scope share it, in this process and
            (against a server) with other processes on the machine (`shared_pacer`).
        limit_scope: ``"key"`` (default): one pace for every operation of the key, text
            inpainting also keeping its own half of it; ``"operation"``: a pace per
            operation, for a service known to count its limit per API.
        cache: a folder, or ``True`` for the user cache folder: identical calls are answered
            from disk, sending nothing and costing nothing. Default: no cache.
        budget: the most credits this client may spend; a call that would spend past it
            raises [`BudgetExceededError`][clipdrop_widgets.BudgetExceededError] before sending;
            one that fits once this client's calls in flight settle waits for them. Default: none.

    ``credits_spent`` counts what the service reported, plus the documented cost of each call
    whose answer was lost after it was sent (the service may have charged it). An error answer
    that reports a charge (``x-credits-consumed``, as the gateway's "credits stay charged"
    502s do) is counted and never retried. A reported
    charge that cannot be true (negative, or over 10 times the most the call can cost) counts
    that most instead, with a notice.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        requests_per_minute: float | None = None,
        limit_scope: Literal["key", "operation"] = "key",
        cache: str | os.PathLike[str] | bool | None = None,
        budget: float | None = None,
    ) -> None:
        key = clean_key(api_key if api_key is not None else os.environ.get(C.API_KEY_ENV))
        url = base_url if base_url is not None else os.environ.get(C.BASE_URL_ENV) or None
        url, key, self.hub_user = hub_seat(url, key, given=api_key is not None or url is not None)
        self.engine = None
        if url is None and key is None:
            url = C.LOCAL_BASE_URL
            _say_local_once()
        self.base_url = (url or C.DEFAULT_BASE_URL).rstrip("/")
        self._key = key
        self._key_state: KeyState = "unverified" if self._key is not None else "none"
        if timeout is None:
            raise ConfigurationError("timeout must be set: a request without one can hang forever")
        limits(timeout)
        self.timeout = timeout
        if _number(max_retries, "max_retries") < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        self.max_retries = max_retries
        if budget is not None and _number(budget, "budget") < 0:
            raise ConfigurationError(f"budget must be 0 or more credits, got {budget}")
        self.budget = budget
        """The most credits this client may spend (``None``: no limit)."""
        if requests_per_minute is not None and \
                not _number(requests_per_minute, "requests_per_minute") > 0:
            raise ConfigurationError(
                f"requests_per_minute must be positive, got {requests_per_minute}")
        self.credits_spent: float = 0
        """Credits this client has spent (what ``budget`` is checked against); starts at 0."""
        self.remaining_credits: float | None = None
        """The balance the server last reported; ``None`` before the first answer, and after
        an answer whose balance could not be right (then `balance_doubt` says so)."""
        self.balance_doubt: str | None = None
        """Why the balance is unknown now: the last answer's ``x-remaining-credits`` could not
        be right (negative, no number), so the figure before it is no longer current either.
        ``None`` once a believable balance arrives (walk 22b #3)."""
        self.requests_per_minute = requests_per_minute
        self.limit_scope = check_scope(limit_scope)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "clipdrop-widgets"
        self._session.headers["Accept-Encoding"] = ACCEPT_ENCODING
        pool = WatchedAdapter(pool_maxsize=C.CONNECTION_POOL_SIZE)
        self._session.mount("https://", pool)
        self._session.mount("http://", pool)
        if self.is_local:
            from ..engine import LocalEngine

            self._use_engine(LocalEngine(require_key=False, credits=C.LOCAL_ENGINE_CREDITS,
                                         practice=True))
        if cache is True:
            cache = default_cache_dir()
        self.cache = ResultCache(cache) if cache else None
        self._lock = threading.Condition()  # notified as reservations settle
        self._reserved: float = 0
        # What each thread's call waits for before it sends: a limiter, or a retry's end.
        self._waits: dict[int, RateLimiter | float] = {}
        # The status of the answer that refused each thread's call in flight (then retried).
        self._refused: dict[int, int] = {}

    def _use_engine(self, engine: Any) -> None:
        from ..engine import LocalEngineAdapter

        self.engine = engine
        self._session.mount("local://", LocalEngineAdapter(engine))
        self.remaining_credits = engine.remaining_credits  # known without a call
        self.balance_doubt = None

    def copy(self, **overrides: Any) -> Client:
        """A client configured like this one, with ``overrides`` (constructor arguments) changed.

        Every constructor argument is carried: the key as it is now (after `set_api_key`),
        the server as resolved, ``timeout``, ``max_retries``, ``requests_per_minute``,
        ``limit_scope``, ``cache`` and ``budget``. An override of ``None`` means what it means
        to the constructor (``base_url=None``: ``$CLIPDROP_API_URL`` or the service).

        Shared with this client: the rate limiters, when the copy has the same key, server,
        pace and scope (as with any client: see `shared_pacer`); the cache, unless ``cache`` is
        overridden; the local engine (its credits), when both use it. Not shared: the
        connections (closing one client leaves the other open), and ``credits_spent``: the
        copy's budget counts from zero.
        """
        unknown = sorted(set(overrides) - set(_PARAMETERS))
        if unknown:
            raise ConfigurationTypeError(f"copy() got unknown arguments {', '.join(unknown)}; "
                                         f"a Client takes {', '.join(_PARAMETERS)}")
        current = {"api_key": self._key.reveal() if self._key is not None else "",
                   "base_url": self.base_url, "timeout": self.timeout,
                   "max_retries": self.max_retries,
                   "requests_per_minute": self.requests_per_minute,
                   "limit_scope": self.limit_scope,
                   "cache": self.cache.directory if self.cache is not None else None,
                   "budget": self.budget}
        assert set(current) == set(_PARAMETERS), "copy() must carry every argument"
        new = Client(**{**current, **overrides})
        if "cache" not in overrides:
            new.cache = self.cache
        if new.is_local and self.is_local:
            new._use_engine(self.engine)
        return new

    # -- facts -------------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """True when calls go to the in-process local engine (offline previews)."""
        return self.base_url.startswith("local://")

    @property
    def source(self) -> str:
        """``"local engine"`` or ``"service"``: where results come from."""
        return "local engine" if self.is_local else "service"

    @property
    def has_key(self) -> bool:
        """True when the client holds an API key (never shown: not in a repr, a log or state)."""
        return self._key is not None

    @property
    def key_state(self) -> KeyState:
        """What the server said of the key: ``"none"`` (no key), ``"unverified"`` (set, no
        answer yet), ``"verified"`` (a call with it succeeded) or ``"rejected"`` (a 401 or
        403 answered it). A new key starts unverified; answers from the cache prove nothing."""
        return self._key_state

    def set_api_key(self, api_key: str | None) -> None:
        """Use ``api_key`` from now on (``None`` or ``""`` removes it). Never stored elsewhere.

        Surrounding white space is removed; a key with spaces or control characters inside
        raises [`ConfigurationError`][clipdrop_widgets.ConfigurationError] (without showing it).
        """
        self._key = clean_key(api_key)
        self._key_state = "unverified" if self._key is not None else "none"
        self.hub_user = None  # a key of one's own: not the hub seat

    def __repr__(self) -> str:
        key = "set" if self._key else "none"
        url = self.redact(self.base_url)  # a key misplaced in the address (att23 #7)
        return f"Client(base_url={url!r}, api_key={key}, source={self.source!r})"

    def close(self) -> None:
        """Close the HTTP connections; ``with Client() as client:`` does it at the end."""
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the five seed operations (the six later ones: photo_operations.py) ------------------
    def text_to_image(self, prompt: str, *, format: Format | None = None,
                      timeout: Timeout = None, cancel: threading.Event | None = None) -> Result:
        """A picture from a prompt (at most 1000 characters). ``format`` sets ``Accept``."""
        return self.call("text_to_image", {"prompt": prompt}, format=format, timeout=timeout,
                         cancel=cancel)

    def sketch_to_image(self, sketch: ImageInput, prompt: str, *, timeout: Timeout = None,
                        cancel: threading.Event | None = None) -> Result:
        """A picture following ``sketch`` (white lines on black, square, at most 1024 px)."""
        return self.call("sketch_to_image", {"prompt": prompt}, {"sketch_file": sketch},
                         timeout=timeout, cancel=cancel)

    def cleanup(self, image: ImageInput, mask: ImageInput, *,
                mode: Literal["fast", "quality"] | None = None,
                timeout: Timeout = None, cancel: threading.Event | None = None) -> Result:
        """Remove what ``mask`` covers (255, or True) from ``image``; PNG at the image's size."""
        texts = {} if mode is None else {"mode": mode}
        return self.call("cleanup", texts, {"image_file": image, "mask_file": mask},
                         timeout=timeout, cancel=cancel)

    def text_inpainting(self, image: ImageInput, mask: ImageInput, text_prompt: str, *,
                        timeout: Timeout = None,
                        cancel: threading.Event | None = None) -> Result:
        """Replace what ``mask`` covers with what ``text_prompt`` describes."""
        return self.call("text_inpainting", {"text_prompt": text_prompt},
                         {"image_file": image, "mask_file": mask}, timeout=timeout,
                         cancel=cancel)

    def replace_background(self, image: ImageInput, prompt: str = "", *,
                           format: Format | None = None, timeout: Timeout = None,
                           cancel: threading.Event | None = None) -> Result:
        """Keep the subject of ``image`` in a new scene (an empty prompt invents one)."""
        return self.call("replace_background", {"prompt": prompt}, {"image_file": image},
                         format=format, timeout=timeout, cancel=cancel)

    # -- the one request path ----------------------------------------------------------------
    def prepare(self, name: str, texts: Mapping[str, str | int | None],
                files: Mapping[str, ImageInput] | None = None,
                *, format: Format | None = None,
                notices: list[str] | None = None,
                unchecked: Collection[str] = ()) -> PreparedCall:
        """Check and encode a call without sending it: raises
        [`InputError`][clipdrop_widgets.InputError] on any rule.

        What the encoding changed (an inverted sketch...) is appended to ``notices`` if given.
        ``unchecked`` names text fields left for the caller to check (a sweep checks each of
        its prompts on its own, after the files once).
        """
        if notices is None:
            notices = []
        ep = endpoint(name)
        known = {f.name for f in ep.fields}
        for field_name in list(texts) + list(files or {}):
            if field_name not in known:
                raise InputError(f"{field_name} is not a field of {ep.path}", field=field_name,
                                 rule="unknown field")
        prepared = {n: prepare_file(ep.field(n), v, notices)  # type: ignore[arg-type]
                    for n, v in (files or {}).items() if v is not None}
        facts = validate_request(ep, texts, {n: p.data for n, p in prepared.items()},
                         binary_checked={n for n, p in prepared.items() if p.binary_checked},
                         unchecked=unchecked)
        accept = None
        if format is not None:
            mime = FORMAT_CONTENT_TYPES.get(str(format).lower())
            offered = ep.accept or (ep.output_content_type,)
            if mime not in offered:
                choices = ", ".join(repr(CONTENT_TYPE_FORMATS[m]) for m in offered)
                raise InputError(f"format is {format!r}; {ep.path} offers {choices}",
                                 field="format", rule="accept")
            accept = mime
        clean = canonical_texts(ep, texts)  # integers as their own text: "+10" goes as 10
        if self._key is not None:
            for field, value in clean.items():
                if self._key.found_in(str(value).encode("utf-8", "surrogatepass")):
                    # pasted into the prompt by mistake: it would go to the service and into
                    # the picture's record and the session (att23 #7)
                    raise InputError(
                        f"{field} holds this client's API key: remove it. Sent, it would "
                        "also be saved in the picture's record and the session log",
                        field=field, rule="no API key in a text field")
        image = facts.get(ep.image_field.name) if ep.image_field is not None else None
        cost = ep.max_credits(clean, image.size if image is not None else None)
        return PreparedCall(ep, clean, prepared, accept, cost)

    def call(self, name: str, texts: Mapping[str, str | int | None],
             files: Mapping[str, ImageInput] | None = None, *,
             format: Format | None = None, timeout: Timeout = None,
             cancel: threading.Event | None = None) -> Result:
        """Run operation ``name`` (an endpoint name) with text fields and files.

        Every method takes ``timeout`` (seconds, or ``(connect, read)``; default the client's)
        and ``cancel``: a `threading.Event` that, once set, stops the call before it
        sends (while it waits for a rate-limit slot or a retry), raising
        [`CancelledError`][clipdrop_widgets.CancelledError]. A request already sent is not recalled.
        """
        if timeout is not None:
            limits(timeout)
        collected: list[str] = []  # plain data: warnings' global state is not thread-safe
        prepared = self.prepare(name, texts, files, format=format, notices=collected)
        ep = prepared.endpoint
        notices = tuple(collected)
        for message in notices:
            notify(message)
        inputs: dict[str, Any] = dict(prepared.texts)
        inputs.update({n: p.summary() for n, p in prepared.files.items()})
        key = None
        if self.cache is not None and ep.repeatable(prepared.texts):  # not a new take
            key = cache_key(server=self.base_url, path=ep.path, accept=prepared.accept,
                            texts=prepared.texts,
                            files={n: p.data for n, p in prepared.files.items()})
            hit = self.cache.get(key)
            if hit is not None:
                data, meta = hit
                return Result(data, meta["content_type"], ep.name, inputs, credits_consumed=0,
                              remaining_credits=None, elapsed=0.0, from_cache=True,
                              source=meta.get("source", self.source), notices=notices,
                              files={n: p.data for n, p in prepared.files.items()})
        cost = prepared.cost
        self._reserve(ep, cost, cancel)
        spent: float | None = None
        left: float | None = None
        balance_doubt: str | None = None
        try:
            response, elapsed = self._send(prepared, timeout, cancel)
            spent, doubt = believed_charge(response.headers.get("x-credits-consumed"), cost)
            left, balance_doubt = believed_remaining(response.headers.get("x-remaining-credits"))
            result = result_from_answer(ep, response, inputs, elapsed, local=self.is_local)
            if self._key is not None and self._key.found_in(result.data):
                # a server that echoes the key into the picture's metadata: kept, the key
                # would be saved with every copy of it (att23 #4)
                raise InvalidResponseError(
                    f"{ep.name}: the picture's bytes carry your API key (the server wrote it "
                    "into the picture), so it was not kept: the key is never saved with a "
                    "picture", response=response)
            notices = (*notices, *answer_notices(prepared, result, doubt, spent, balance_doubt))
            result.files = {n: p.data for n, p in prepared.files.items()}
        except InvalidResponseError as exc:  # a 2xx that is not an image: shown redacted
            if spent is not None:  # an answer came whole and is counted: say so, once
                self._learn_balance(left, balance_doubt)
                exc.args = (f"{exc.args[0]}. It was counted as {spent:g} "
                            f"credit{'' if spent == 1 else 's'} ({credits_text(response)}); "
                            "its bytes are on this error's response.content",
                            *exc.args[1:])
            redacted(exc, self._secrets(None))
            raise
        except APIConnectionError as exc:
            if exc.sent:  # the service may have made and charged it
                spent = exc.credits_consumed if credible(exc.credits_consumed, cost) else cost
            raise
        except APIStatusError as exc:  # an error the server says it charged is counted
            if exc.status_code in (401, 402, 403):  # the balance shown is no longer the key's
                self._refused_balance(exc)
            elif reports_charge(exc.response):
                self._learn_balance(*believed_remaining(
                    exc.response.headers.get("x-remaining-credits")))
            if reports_charge(exc.response):
                spent, _doubt = believed_charge(
                    exc.response.headers.get("x-credits-consumed"), cost)
                if "charged" not in exc.message:
                    exc.message = (f"{exc.message}; it reported a charge "
                                   f"(x-credits-consumed: "
                                   f"{exc.response.headers.get('x-credits-consumed', '')[:40]}),"
                                   f" counted as {spent:g} credit{'' if spent == 1 else 's'}, "
                                   "so it was not sent again")
                    exc.args = (f"{exc.status_code}: {exc.message}", *exc.args[1:])
                redacted(exc, self._secrets(None))
            raise
        finally:
            self._settle(cost, spent)
        self._learn_balance(result.remaining_credits, balance_doubt)
        result.notices = notices
        if self.cache is not None and key is not None:
            self.cache.put(key, result.data, {"content_type": result.content_type,
                                              "endpoint": ep.name, "source": result.source})
        return result

    def _refused_balance(self, exc: APIStatusError) -> None:
        """A 401, 402 or 403: the balance the answer gives, or none (walk 22c #4: "Not
        enough credits" beside the "100 left" of an earlier answer)."""
        left, doubt = believed_remaining(exc.response.headers.get("x-remaining-credits"))
        if left is None:
            doubt = doubt or (f"the service refused the call ({exc.status_code}) without "
                              "saying how many credits are left")
        self._learn_balance(left, doubt)

    def _learn_balance(self, left: float | None, doubt: str | None) -> None:
        """An answer's balance: a believable one is current; one that cannot be right
        (``doubt``) makes the balance unknown, not the figure before it (which the server has
        just contradicted); none at all changes nothing."""
        if doubt is not None:
            self.remaining_credits, self.balance_doubt = None, doubt
        elif left is not None:
            self.remaining_credits, self.balance_doubt = left, None

    # -- budget --------------------------------------------------------------------------------
    def _reserve(self, ep: Endpoint, cost: float, cancel: threading.Event | None) -> None:
        with self._lock:  # waits for calls in flight when only their reservations are in the way
            await_budget(self._lock, ep.name, cost, lambda: (self.credits_spent, self._reserved),
                         self.budget, cancel)
            self._reserved += cost

    def _settle(self, cost: float, consumed: float | None) -> None:
        with self._lock:
            self._reserved -= cost
            self.credits_spent += consumed or 0
            self._lock.notify_all()

    # -- HTTP ------------------------------------------------------------------------------------
    def limiter(self, operation: str) -> RateLimiter | None:
        """The rate limiter pacing ``operation`` (an endpoint name), or ``None`` if unpaced."""
        return self._limiter(endpoint(operation))

    def redact(self, text: str) -> str:
        """``text`` with this client's API key replaced by ``***`` (for logs and records)."""
        return text if self._key is None else self._key.redact(text)

    def waiting(self, thread: int | None = None) -> Wait | None:
        """What the call running in ``thread`` (a `threading.get_ident`; default this thread)
        waits for before it sends, or ``None`` when it is not waiting (preparing, sending,
        reading the answer, or no call). For an app's status line: a call held by the pause
        a 429 asked for is not a slow service."""
        thread = threading.get_ident() if thread is None else thread
        held = self._waits.get(thread)
        if held is None:
            return None
        refused = self._refused.get(thread)
        if isinstance(held, RateLimiter):
            pause, delay = held.paused(), held.delay()
            if pause > 0:
                return Wait("pause", min(delay, pause) if delay != float("inf") else pause,
                            refused)
            return Wait("pace", None if delay == float("inf") else delay, refused)
        return Wait("retry", max(0.0, held - time.monotonic()), refused)

    def _limiter(self, ep: Endpoint) -> RateLimiter | None:
        if self.requests_per_minute is None and self.is_local:
            return None
        return pacers_for(self._key, self.base_url, self.requests_per_minute,
                          shared=not self.is_local, scope=self.limit_scope).get(ep)

    def _send(self, call: PreparedCall, timeout: Timeout,
              cancel: threading.Event | None) -> tuple[requests.Response, float]:
        """Attempt the call until it succeeds or `retry_delay` says to stop."""
        ep = call.endpoint
        fields: list[tuple[str, Any]] = [(n, (p.filename, p.data, p.content_type))
                                         for n, p in call.files.items()]
        fields += [(n, v) for n, v in call.texts.items()]  # text parts carry no file name
        body, content_type = encode_multipart_formdata(fields)
        headers = {"Content-Type": content_type}
        if call.accept:
            headers["Accept"] = call.accept
        sent_key = self._key
        if sent_key is not None:
            headers["x-api-key"] = sent_key.reveal()
        timeout = timeout or self.timeout
        connect, answer, total = limits(timeout)
        # The whole call's, from now: the wait for the pace is within it too.
        deadline = time.monotonic() + (total if total is not None else connect + answer)
        attempt = 0
        me = threading.get_ident()
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise CancelledError(f"{ep.name} was cancelled before it was sent")
                outcome = self._attempt(ep, body, headers, sent_key, timeout, cancel, deadline)
                if outcome.error is None:
                    assert outcome.response is not None
                    return outcome.response, outcome.elapsed
                delay = retry_delay(outcome, attempt, self.max_retries)
                if delay is None:
                    raise outcome.error
                left = deadline - time.monotonic()
                if delay > min(left, C.MAX_RETRY_AFTER):  # waiting less would only fail again
                    raise past_deadline(outcome.error, delay, left=left, timeout=timeout)
                log.info("retrying %s in %.2f s (%s)", ep.path, delay, outcome.error)
                if outcome.response is not None:  # answered (429, 5xx): sent once, not charged
                    self._refused[me] = outcome.response.status_code
                self._waits[me] = time.monotonic() + delay
                try:
                    if cancel is not None:
                        if cancel.wait(delay):
                            raise CancelledError(
                                f"{ep.name} was cancelled before its retry") from None
                    else:
                        _sleep(delay)
                finally:
                    self._waits.pop(me, None)
                attempt += 1
        except CancelledError as exc:
            exc.refused = self._refused.get(me)
            raise
        finally:
            self._refused.pop(me, None)

    def _learn_key_state(self, sent_key: Secret | None, status: int) -> None:
        """A 2xx proves the key that was sent; a 401 or 403 refuses it (if still the key)."""
        if sent_key is None or sent_key is not self._key:
            return
        if 200 <= status < 300:
            self._key_state = "verified"
        elif status in (401, 403):
            self._key_state = "rejected"

    def _attempt(self, ep: Endpoint, body: bytes, headers: dict[str, str],
                 sent_key: Secret | None, timeout: Timeout,
                 cancel: threading.Event | None, deadline: float) -> Outcome:
        """One POST, paced, its whole answer read under the cap, within the call's
        ``deadline`` (monotonic seconds)."""
        connect, answer, total = limits(timeout)
        secrets = self._secrets(sent_key)
        limiter = self._limiter(ep)
        with ExitStack() as stack:
            slot: Slot | None = None
            if limiter is not None:
                me = threading.get_ident()
                self._waits[me] = limiter
                try:
                    slot = stack.enter_context(limiter.slot(cancel=cancel, deadline=deadline))
                except TooLate as late:
                    raise APITimeoutError(f"{ep.name}: nothing was sent: {late}") from None
                except Cancelled:
                    raise CancelledError(f"{ep.name} was cancelled before it was sent") from None
                finally:
                    self._waits.pop(me, None)
            sending = Body(body, slot)
            left = max(0.01, deadline - time.monotonic())  # after the pace and any retries
            total = min(total if total is not None else connect + answer, left)
            connect = min(connect, left)
            watch = None if self.is_local else Watch(connect=connect, answer=answer,
                                                     total=total)
            stack.enter_context(watching(watch))
            start = time.perf_counter()
            response: requests.Response | None = None
            try:
                # No redirects: the contract has none, and requests would carry x-api-key to
                # whatever host a redirect names.
                response = self._session.post(
                    self.base_url + ep.path, data=body if self.is_local else sending,
                    headers=headers, timeout=(connect, answer), allow_redirects=False,
                    stream=True)
                ok = 200 <= response.status_code < 300
                data = read_body(response, cap=ep.max_answer_bytes if ok else C.MAX_ERROR_BYTES,
                                 watch=watch)
            except (AnswerTooLarge, UnreadableEncoding) as exc:
                assert response is not None
                response.close()
                take_answer(response, b"")
                return Outcome(None, redacted(unusable(ep, response, exc), secrets),
                               time.perf_counter() - start)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                if response is not None:
                    response.close()
                    take_answer(response, b"")
                outcome = failure(exc, base_url=self.base_url, response=response, watch=watch,
                                  sent=sending.sent or self.is_local, timeout=timeout,
                                  elapsed=time.perf_counter() - start)
                if isinstance(outcome.error, APIConnectionError):
                    remaining = outcome.error.remaining_credits
                    self._learn_balance(remaining, None)
                return outcome
            elapsed = time.perf_counter() - start
        take_answer(response, data)
        log.debug("POST %s -> %s in %.3f s", ep.path, response.status_code, elapsed)
        self._learn_key_state(sent_key, response.status_code)
        return answered(response, elapsed, secrets, limiter)

    def _secrets(self, sent_key: Secret | None) -> list[Secret]:
        """The keys a server may echo: the one sent, and the one set now."""
        return [k for k in dict.fromkeys((sent_key, self._key)) if k is not None]


_PARAMETERS = tuple(p for p in inspect.signature(Client.__init__).parameters if p != "self")


def _say_local_once() -> None:
    global _local_notice_shown
    if not _local_notice_shown:
        _local_notice_shown = True
        notify(f"No API key: using the local engine, offline previews made on this machine "
               f"(not the ClipDrop service). Set {C.API_KEY_ENV} or pass api_key= to use the "
               "service.")
