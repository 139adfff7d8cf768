"""The API client: five methods, one request path, every rule checked before a credit is spent."""

from __future__ import annotations

import io
import logging
import numbers
import os
import random
import threading
import time
from collections.abc import Collection, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests
from PIL import Image
from requests.adapters import HTTPAdapter
from urllib3 import encode_multipart_formdata

from ..contract.endpoints import (
    CONTENT_TYPE_FORMATS,
    FORMAT_CONTENT_TYPES,
    PIL_FORMATS,
    Endpoint,
    endpoint,
)
from ..contract.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BudgetExceededError,
    CancelledError,
    ClipdropError,
    ConfigurationError,
    ConfigurationTypeError,
    InputError,
    InvalidResponseError,
    connection_failure_text,
    make_status_error,
)
from ..contract.validation import validate_request
from . import constants as C
from .cache import ResultCache, cache_key, default_cache_dir
from .inputs import ImageInput, Prepared, prepare_file
from .notices import notify
from .ratelimit import Cancelled, RateLimiter, Slot
from .result import Result, parse_credits

__all__ = ["Client"]

log = logging.getLogger("clipdrop_widgets")

Format = Literal["png", "jpeg", "webp"]
Timeout = float | tuple[float, float] | None
#: What is known of the key: none set, not yet proven, accepted by a call, refused (401/403).
KeyState = Literal["none", "unverified", "verified", "rejected"]

_sleep = time.sleep  # tests replace this: no test sleeps for real
_local_notice_shown = False


def _clean_key(value: str | None) -> _Secret | None:
    """The key, stripped of surrounding white space; ``None`` if empty; refused if malformed.

    An empty key means no key (the user pressed Enter at ``getpass()``): the local engine.

    A key pasted or read from a file often ends in a newline; sent as is it would make the
    HTTP library raise an error quoting the header's value, key included.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationTypeError(f"api_key must be a string, not {type(value).__name__}")
    key = value.strip()
    if not key:
        return None
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise ConfigurationError("api_key contains spaces or characters that cannot be sent in an "
                         "HTTP header; check how it was copied (the key is not shown)")
    return _Secret(key)


def _number(value: object, name: str) -> float:
    """``value`` if it is a number (not a bool); else a `ConfigurationTypeError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigurationTypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


class _Secret:
    """Holds the API key; its repr never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"


def _retry_after(response: requests.Response) -> float | None:
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


class Client:
    """A ClipDrop client.

    Args:
        api_key: the key; default ``$CLIPDROP_API_KEY``. An empty key (what ``getpass()``
            returns when Enter is pressed) means no key. With no key and no ``base_url``, the
            client uses the local engine in-process (offline previews; ``is_local`` is true).
        base_url: the server; default ``$CLIPDROP_API_URL``, else ``https://clipdrop-api.co``.
            ``"local://engine"`` selects the in-process local engine explicitly.
        timeout: seconds, or ``(connect, read)`` seconds; default ``(10, 120)``. Always applied.
        max_retries: retries of connection errors, 429 and 5xx (default 2); other 4xx never.
        requests_per_minute: client-side rate per endpoint; default the documented rate
            (60, text inpainting 30) against a server, none for the in-process engine.
        cache: a folder, or ``True`` for the user cache folder: identical calls are answered
            from disk, sending nothing and costing nothing. Default: no cache.
        budget: the most credits this client may spend; a call that would spend past it
            raises [`BudgetExceededError`][clipdrop_widgets.BudgetExceededError] before sending.
            Default: no limit.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        requests_per_minute: float | None = None,
        cache: str | os.PathLike[str] | bool | None = None,
        budget: float | None = None,
    ) -> None:
        key = _clean_key(api_key if api_key is not None else os.environ.get(C.API_KEY_ENV))
        url = base_url if base_url is not None else os.environ.get(C.BASE_URL_ENV) or None
        self.engine = None
        if url is None and key is None:
            url = C.LOCAL_BASE_URL
            _say_local_once()
        self.base_url = (url or C.DEFAULT_BASE_URL).rstrip("/")
        self._key = key
        self._key_state: KeyState = "unverified" if self._key is not None else "none"
        if timeout is None:
            raise ConfigurationError("timeout must be set: a request without one can hang forever")
        self.timeout = timeout
        if _number(max_retries, "max_retries") < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {max_retries}")
        self.max_retries = max_retries
        if budget is not None and _number(budget, "budget") < 0:
            raise ConfigurationError(f"budget must be 0 or more credits, got {budget}")
        self.budget = budget
        if requests_per_minute is not None and \
                not _number(requests_per_minute, "requests_per_minute") > 0:
            raise ConfigurationError(
                f"requests_per_minute must be positive, got {requests_per_minute}")
        self.credits_spent: float = 0
        """Credits this client has spent (what ``budget`` is checked against); starts at 0."""
        self.remaining_credits: float | None = None
        """The balance the server last reported; ``None`` before the first answer."""
        self.requests_per_minute = requests_per_minute
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "clipdrop-widgets"
        pool = HTTPAdapter(pool_maxsize=C.CONNECTION_POOL_SIZE)
        self._session.mount("https://", pool)
        self._session.mount("http://", pool)
        if self.is_local:
            from ..engine import LocalEngine, LocalEngineAdapter

            self.engine = LocalEngine(require_key=False, credits=C.LOCAL_ENGINE_CREDITS,
                                      practice=True)
            self._session.mount("local://", LocalEngineAdapter(self.engine))
            self.remaining_credits = self.engine.remaining_credits  # known without a call
        if cache is True:
            cache = default_cache_dir()
        self.cache = ResultCache(cache) if cache else None
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()
        self._reserved: float = 0

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
        self._key = _clean_key(api_key)
        self._key_state = "unverified" if self._key is not None else "none"

    def __repr__(self) -> str:
        key = "set" if self._key else "none"
        return f"Client(base_url={self.base_url!r}, api_key={key}, source={self.source!r})"

    def close(self) -> None:
        """Close the HTTP connections; ``with Client() as client:`` does it at the end."""
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the five operations -----------------------------------------------------------------
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
    def prepare(self, name: str, texts: Mapping[str, str | None],
                files: Mapping[str, ImageInput] | None = None,
                *, format: Format | None = None,
                notices: list[str] | None = None,
                unchecked: Collection[str] = ()) -> tuple[Endpoint, dict[str, str],
                                                          dict[str, Prepared], str | None]:
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
        validate_request(ep, texts, {n: p.data for n, p in prepared.items()},
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
        clean = {k: v for k, v in texts.items() if v is not None}
        return ep, clean, prepared, accept

    def call(self, name: str, texts: Mapping[str, str | None],
             files: Mapping[str, ImageInput] | None = None, *,
             format: Format | None = None, timeout: Timeout = None,
             cancel: threading.Event | None = None) -> Result:
        """Run operation ``name`` (an endpoint name) with text fields and files.

        Every method takes ``timeout`` (seconds, or ``(connect, read)``; default the client's)
        and ``cancel``: a `threading.Event` that, once set, stops the call before it
        sends (while it waits for a rate-limit slot or a retry), raising
        [`CancelledError`][clipdrop_widgets.CancelledError]. A request already sent is not recalled.
        """
        collected: list[str] = []  # plain data: warnings' global state is not thread-safe
        ep, clean, prepared, accept = self.prepare(name, texts, files, format=format,
                                                   notices=collected)
        notices = tuple(collected)
        for message in notices:
            notify(message)
        inputs: dict[str, Any] = dict(clean)
        inputs.update({n: p.summary() for n, p in prepared.items()})
        key = None
        if self.cache is not None:
            key = cache_key(server=self.base_url, path=ep.path, accept=accept, texts=clean,
                            files={n: p.data for n, p in prepared.items()})
            hit = self.cache.get(key)
            if hit is not None:
                data, meta = hit
                return Result(data, meta["content_type"], ep.name, inputs, credits_consumed=0,
                              remaining_credits=None, elapsed=0.0, from_cache=True,
                              source=meta.get("source", self.source), notices=notices,
                              files={n: p.data for n, p in prepared.items()})
        self._reserve(ep)
        try:
            response, elapsed = self._send(ep, clean, prepared, accept, timeout, cancel)
            result = self._result(ep, response, inputs, elapsed)
            result.notices = notices
            result.files = {n: p.data for n, p in prepared.items()}
        except BaseException:
            self._settle(ep, None)
            raise
        self._settle(ep, result.credits_consumed if result.credits_consumed is not None
                     else ep.credits)
        if self.cache is not None and key is not None:
            self.cache.put(key, result.data, {"content_type": result.content_type,
                                              "endpoint": ep.name, "source": result.source})
        return result

    # -- budget --------------------------------------------------------------------------------
    def _reserve(self, ep: Endpoint) -> None:
        with self._lock:
            if self.budget is not None:
                committed = self.credits_spent + self._reserved
                if committed + ep.credits > self.budget:
                    raise BudgetExceededError(
                        f"{ep.name} costs {ep.credits:g} credits; {committed:g} of the budget "
                        f"of {self.budget:g} are spent or in flight, so nothing was sent",
                        budget=self.budget, spent=committed, cost=ep.credits)
            self._reserved += ep.credits

    def _settle(self, ep: Endpoint, consumed: float | None) -> None:
        with self._lock:
            self._reserved -= ep.credits
            if consumed:
                self.credits_spent += consumed

    # -- HTTP ------------------------------------------------------------------------------------
    def limiter(self, operation: str) -> RateLimiter | None:
        """The rate limiter pacing ``operation`` (an endpoint name), or ``None`` if unpaced."""
        return self._limiter(endpoint(operation))

    def redact(self, text: str) -> str:
        """``text`` with this client's API key replaced by ``***`` (for logs and records)."""
        if self._key is None or not self._key.reveal():
            return text
        return text.replace(self._key.reveal(), "***")

    def _limiter(self, ep: Endpoint) -> RateLimiter | None:
        rpm = self.requests_per_minute
        if rpm is None and self.is_local:
            return None
        with self._lock:
            limiter = self._limiters.get(ep.name)
            if limiter is None:
                limiter = self._limiters[ep.name] = RateLimiter(rpm or ep.requests_per_minute,
                                                                window=C.RATE_WINDOW)
            return limiter

    def _send(self, ep: Endpoint, texts: Mapping[str, str], files: Mapping[str, Prepared],
              accept: str | None, timeout: Timeout,
              cancel: threading.Event | None) -> tuple[requests.Response, float]:
        url = self.base_url + ep.path
        fields: list[tuple[str, Any]] = [(n, (p.filename, p.data, p.content_type))
                                         for n, p in files.items()]
        fields += [(n, v) for n, v in texts.items()]  # text parts carry no file name
        body, content_type = encode_multipart_formdata(fields)
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        sent_key = self._key
        if sent_key is not None:
            headers["x-api-key"] = sent_key.reveal()
        limiter = self._limiter(ep)
        attempt = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"{ep.name} was cancelled before it was sent")
            start = time.perf_counter()
            try:
                if limiter is not None:
                    try:
                        with limiter.slot(cancel=cancel) as slot:
                            start = time.perf_counter()
                            response = self._post(url, _Body(body, slot), headers, timeout)
                    except Cancelled:
                        raise CancelledError(f"{ep.name} was cancelled before it was sent") \
                            from None
                else:
                    response = self._post(url, body, headers, timeout)
                error: Exception | None = None
            except APIConnectionError as exc:
                response, error = None, exc
            elapsed = time.perf_counter() - start
            if response is not None:
                log.debug("POST %s -> %s in %.3f s", ep.path, response.status_code, elapsed)
                self._learn_key_state(sent_key, response.status_code)
                if 200 <= response.status_code < 300:
                    return response, elapsed
                if 300 <= response.status_code < 400:
                    target = response.headers.get("location", "nowhere")
                    raise APIStatusError(
                        f"the server redirected to {target!r}; the API never redirects, so "
                        "nothing was followed (check base_url)", response=response,
                        status_code=response.status_code)
                error = make_status_error(response)
                retryable = response.status_code == 429 or response.status_code >= 500
            else:
                log.debug("POST %s failed: %s", ep.path, error)
                retryable = True
            assert error is not None
            if not retryable or attempt >= self.max_retries:
                raise error
            delay = self._retry_delay(attempt, response)
            log.info("retrying %s in %.2f s (%s)", ep.path, delay, error)
            if cancel is not None:
                if cancel.wait(delay):
                    raise CancelledError(f"{ep.name} was cancelled before its retry") from None
            else:
                _sleep(delay)
            attempt += 1

    def _learn_key_state(self, sent_key: _Secret | None, status: int) -> None:
        """A 2xx proves the key that was sent; a 401 or 403 refuses it (if still the key)."""
        if sent_key is None or sent_key is not self._key:
            return
        if 200 <= status < 300:
            self._key_state = "verified"
        elif status in (401, 403):
            self._key_state = "rejected"

    def _post(self, url: str, body: Any, headers: dict[str, str],
              timeout: Timeout) -> requests.Response:
        where = self.base_url if not self.is_local else "the local engine"
        try:
            # No redirects: the contract has none, and requests would carry x-api-key to
            # whatever host a redirect names.
            response = self._session.post(url, data=body, headers=headers,
                                          timeout=timeout or self.timeout,
                                          allow_redirects=False)
            _ = response.content  # read the whole body here, inside the error handling
            return response
        except requests.Timeout as exc:
            raise APITimeoutError(connection_failure_text(
                exc, self.base_url, timeout=timeout or self.timeout)) from None
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema) as exc:
            raise ClipdropError(f"the request to {where} could not be made: "
                                f"{self.redact(_short(exc))}") from None
        except requests.RequestException as exc:
            raise APIConnectionError(connection_failure_text(
                exc, self.base_url, timeout=timeout or self.timeout)) from None

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        if response is not None:
            after = _retry_after(response)
            if after is not None:
                return min(after, C.MAX_RETRY_AFTER)
        base = min(C.INITIAL_RETRY_DELAY * 2**attempt, C.MAX_RETRY_DELAY)
        return base * (1 - 0.25 * random.random())

    def _result(self, ep: Endpoint, response: requests.Response, inputs: dict[str, Any],
                elapsed: float) -> Result:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        data = response.content
        if not content_type.startswith("image/"):
            raise InvalidResponseError(
                f"{ep.name}: the server answered 200 with {content_type or 'no content type'} "
                f"({len(data)} bytes), not an image", response=response)
        try:  # a cheap check now (header, format, PNG checksums); pixels decode on first use
            with Image.open(io.BytesIO(data)) as im:
                actual = PIL_FORMATS.get(im.format or "", (im.format or "").lower())
                size = im.size
                im.verify()
        except Exception as exc:  # noqa: BLE001 - every decoding failure means the same
            raise InvalidResponseError(
                f"{ep.name}: the server answered 200 with {content_type}, but its {len(data)} "
                f"bytes are not a readable image ({type(exc).__name__})",
                response=response) from None
        claimed = CONTENT_TYPE_FORMATS.get(content_type)
        if claimed is not None and actual != claimed:
            raise InvalidResponseError(
                f"{ep.name}: the server said {content_type} but sent a {actual.upper()} image",
                response=response)
        consumed = parse_credits(response.headers.get("x-credits-consumed"))
        remaining = parse_credits(response.headers.get("x-remaining-credits"))
        if remaining is not None:
            self.remaining_credits = remaining
        source = ("local engine" if self.is_local
                  or response.headers.get("x-clipdrop-engine") == "local-preview" else "service")
        return Result(data, content_type, ep.name, inputs, credits_consumed=consumed,
                      remaining_credits=remaining, elapsed=elapsed, source=source, _size=size)


class _Body:
    """A request body that tells its rate-limit slot when it has all been handed out.

    The first read returns the whole body whatever size is asked (http.client reads file
    bodies in 8-16 KB blocks, a send call each; a bytes body goes out in one), the next
    returns ``b""``: at that moment the body has been passed to the socket.
    """

    def __init__(self, data: bytes, slot: Slot) -> None:
        self._data: bytes | None = data
        self._len = len(data)
        self._slot = slot

    def __len__(self) -> int:
        return self._len

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, None
        if data is None:
            self._slot.sent()
            return b""
        return data


def _short(exc: BaseException, limit: int = 200) -> str:
    """``str(exc)`` cut at a word boundary before ``limit`` characters, marked with "…"."""
    text = " ".join(str(exc).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


def _say_local_once() -> None:
    global _local_notice_shown
    if not _local_notice_shown:
        _local_notice_shown = True
        notify(f"No API key: using the local engine, offline previews made on this machine "
               f"(not the ClipDrop service). Set {C.API_KEY_ENV} or pass api_key= to use the "
               "service.")

