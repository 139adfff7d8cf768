"""One pace per key and server, however many clients and processes use them.

The service counts requests per key: two `Client` objects with the same key, or two kernels
on one machine, that each keep the documented pace draw 429s together. So the rate limiters
live here, not in a client: every client with the same key, server, pace and scope in a
process gets the same ones (`pacers_for`), and against a real server each also spaces its
starts with the other processes on the machine through a small file, under a `filelock`
lock, that holds the earliest moment (wall clock) the next request may start
(`SharedRateLimiter`).

The scope (`SCOPES`): in ``"key"`` (the default, the contract's "pace per key unless told
otherwise") every operation of a key on a server takes its turns in one pace, the key's
(`KEY_RATE` a minute, or the client's ``requests_per_minute``), and an operation documented
slower (text inpainting, 30) also keeps its own share of it, within the key's. In
``"operation"`` (for a service known to count per API) each operation has a pace of its own:
the client's ``requests_per_minute``, else its documented rate.

The file is named by a keyed hash of the key, the server and the endpoint (or the whole key,
`KEY_PACE`): never the key.
Its folder is ``$CLIPDROP_PACER_DIR``, else ``pacers`` in the user cache folder. What
spaces requests across processes is their starts; the in-process rules (no start while a body
is going out, the interval counted from when a body went out) hold within each process.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from filelock import FileLock

from ..contract.endpoints import Endpoint
from ..contract.errors import ConfigurationError
from . import constants as C
from .ratelimit import SAFETY_MARGIN, RateLimiter
from .secret import Secret

__all__ = ["SharedRateLimiter", "Pacers", "pacers_for", "pacer_dir", "check_scope", "SCOPES",
           "KEY_RATE", "STALE_SECONDS"]

#: Seconds past one interval beyond which the shared file's next moment is not believed.
STALE_SECONDS = 120.0
#: What a client's pace may be shared by: every operation of a key, or each operation.
SCOPES = ("key", "operation")
#: The service's documented limit per key (requests a minute), what scope ``key`` paces to.
KEY_RATE = 60
#: What names the key-wide pace's file in place of an endpoint (no endpoint is called so).
KEY_PACE = "*key*"


def check_scope(limit_scope: object) -> str:
    """``limit_scope`` if it is one of `SCOPES`, else a `ConfigurationError` naming the rule."""
    if not isinstance(limit_scope, str) or limit_scope not in SCOPES:
        raise ConfigurationError(
            f"limit_scope must be 'key' (one pace for every operation of a key, as the "
            f"service counts unless told otherwise) or 'operation' (a pace per operation, for "
            f"a service known to count per API), got {limit_scope!r}")
    return limit_scope


def pacer_dir() -> Path:
    """Where the shared pacers' files live (``$CLIPDROP_PACER_DIR`` or the user cache)."""
    configured = os.environ.get(C.PACER_DIR_ENV)
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("clipdrop-widgets")) / "pacers"


def _file_name(key: Secret | None, base_url: str, endpoint: str) -> str:
    """A name for one key's pace on one endpoint of one server: a hash, not the key."""
    h = hashlib.blake2b(digest_size=16, person=b"clipdrop-pacer")
    for part in (key.reveal() if key is not None else "", base_url, endpoint):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


class SharedRateLimiter(RateLimiter):
    """A `RateLimiter` whose starts are also spaced with other processes, through ``path``.

    Before a request starts, the file's moment must have passed; starting writes the next
    one (now plus the interval). When a body has gone out, or a request ended unsent, the
    file's moment is moved as late as this process's own next start. A file that cannot be
    read counts as "start now"; a folder or lock that cannot be used (a read-only home)
    leaves the in-process pace alone, never failing a call.
    """

    def __init__(self, requests_per_minute: float, *, path: Path,
                 margin: float = SAFETY_MARGIN, within: RateLimiter | None = None) -> None:
        super().__init__(requests_per_minute, margin=margin, within=within)
        self.path = path
        self.shared = True
        """False once the file could not be used: then only this process is paced."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            self.shared = False
        self._file_lock = FileLock(str(path) + ".lock", mode=0o600)

    def __repr__(self) -> str:
        return super().__repr__().replace("RateLimiter(", "SharedRateLimiter(", 1)

    def _read(self) -> float:
        try:
            return float(self.path.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return float("-inf")

    def _write(self, moment: float) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(repr(moment))
        except OSError:
            pass

    def _claim(self) -> float:
        if not self.shared:
            return 0.0
        try:
            with self._file_lock:
                now = time.time()
                earliest = self._read()
                # A moment further off than an interval and a long upload is stale (the
                # clock was set back, or a process wrote nonsense): taken as "now".
                if now < earliest <= now + self.interval + STALE_SECONDS:
                    return min(earliest - now, self.interval)
                self._write(now + self.interval)
                return 0.0
        except OSError:
            self.shared = False
            return 0.0

    def _publish(self) -> None:
        if not self.shared:
            return
        moment = time.time() + (self._next - self._clock())
        try:
            with self._file_lock:
                if moment > self._read():
                    self._write(moment)
        except OSError:
            self.shared = False


class Pacers:
    """The rate limiters of one key on one server at one pace in one scope."""

    def __init__(self, key: Secret | None, base_url: str, requests_per_minute: float | None,
                 *, shared: bool, scope: str = "key") -> None:
        self._key = key
        self._base_url = base_url
        self._requests_per_minute = requests_per_minute
        self._shared = shared
        self.scope = check_scope(scope)
        self._by_name: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def get(self, ep: Endpoint) -> RateLimiter:
        """The limiter pacing ``ep``.

        Scope ``operation``: ``ep``'s own, at the client's pace, else the endpoint's
        documented one. Scope ``key``: the key's (the client's pace, else `KEY_RATE`); an
        endpoint documented slower than `KEY_RATE` gets its own, at the same share of the
        key's pace (text inpainting: half), within the key's.
        """
        with self._lock:
            if self.scope == "operation":
                return self._limiter(ep.name, self._requests_per_minute or
                                     ep.requests_per_minute)
            key_rate = self._requests_per_minute or KEY_RATE
            key_pace = self._limiter(KEY_PACE, key_rate)
            if ep.requests_per_minute >= KEY_RATE:
                return key_pace
            return self._limiter(ep.name, key_rate * ep.requests_per_minute / KEY_RATE,
                                 within=key_pace)

    def _limiter(self, name: str, rate: float,
                 within: RateLimiter | None = None) -> RateLimiter:
        limiter = self._by_name.get(name)
        if limiter is None:
            if self._shared:
                path = pacer_dir() / _file_name(self._key, self._base_url, name)
                limiter = SharedRateLimiter(rate, path=path, within=within)
            else:
                limiter = RateLimiter(rate, within=within)
            self._by_name[name] = limiter
        return limiter


_registry: dict[tuple[str, str, float | None, str], Pacers] = {}
_registry_lock = threading.Lock()


def pacers_for(key: Secret | None, base_url: str, requests_per_minute: float | None, *,
               shared: bool = True, scope: str = "key") -> Pacers:
    """The one `Pacers` of this process for ``key`` on ``base_url`` at this pace in ``scope``.

    ``shared`` (a real server) also spaces the requests with other processes; the in-process
    engine is paced within the process only.
    """
    ident = (_file_name(key, base_url, ""), base_url, requests_per_minute, check_scope(scope))
    with _registry_lock:
        pacers = _registry.get(ident)
        if pacers is None:
            pacers = _registry[ident] = Pacers(key, base_url, requests_per_minute,
                                               shared=shared, scope=scope)
        return pacers
