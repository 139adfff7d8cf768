"""The gateway as a JupyterHub service: a hub user's own API token is their seat key.

On a JupyterHub the hub already knows every participant, so nobody needs a seat key: a call
carrying a user's hub API token (``$JUPYTERHUB_API_TOKEN`` in their server) is checked with the
hub (``GET /hub/api/user``, the request of its own service-auth library, made through
`hubapi`: the gateway's own client, answers read up to 1 MB), and answered from that user's
seat. A seat is made the first time a user calls: with the room's default credits, or the
credits the roster gives that user. With a roster only its users get seats;
with ``group`` only members of that hub group do. Everyone else gets a 403 naming the rule.

Hub seats are ordinary rows of the ledger (so spend, top-ups, revocation, the dashboard and
``seats list`` work on them as on any seat), labelled with the hub user's name. Their
``key_hash`` is ``hub-user:NAME``: never a SHA-256 digest, so no key can ever look one up.

Tokens are checked with the hub on every call, without a cache: a token the hub has revoked
(its server was stopped) is refused at once. A token pays only when it carries access to this
service (``access:services!service=NAME``), so an identify-only token another service received
cannot spend a seat (the scope is checked by the hub library's `check_scopes`). A user's
groups are read once per first call (concurrent first calls of one user share the read). The
hub gets ``HubPolicy.timeout`` seconds per check, counted while the hub has the request: a
stalled hub costs a hub user a few seconds and a 502 saying nothing was sent or charged,
never minutes. The
gateway's own hub token (the service's ``$JUPYTERHUB_API_TOKEN``) reads user models
(``read:users``) to see groups and admin rights.

`admin_login` opens the gateway's admin page (``/services/NAME/gateway/admin``) to hub admins
through the hub's login (OAuth), beside the admin token: every seat, hub users by name.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..contract.errors import ConfigurationError
from .core import Refusal
from .hubapi import (
    HubAnswer,
    HubTimeout,
    HubUnreachable,
    HubUnreadable,
    api_request,
    get_json,
    tls_of,
)
from .ledger import Ledger, Seat
from .terminal import printable

__all__ = ["HubPolicy", "HubSeats", "read_roster", "hub_routes", "admin_login", "HUB_SEAT_PREFIX",
           "HUB_NAME_LIMIT", "caller_left", "name_too_long"]

logger = logging.getLogger("clipdrop_widgets.gateway")

#: ``key_hash`` of a hub user's seat: ``hub-user:NAME`` (a SHA-256 hex digest has no colon).
HUB_SEAT_PREFIX = "hub-user:"
#: The longest hub user name given a seat, in bytes of UTF-8. The name becomes a seat's label
#: and its identity in the ledger, log lines and the hub API's ``/users/NAME`` path; JupyterHub
#: keeps a user's name in a 255-character column, and most file systems take file names of
#: at most 255 bytes (spawners name home folders after users): a longer one is refused.
HUB_NAME_LIMIT = 255
#: Seconds the admin page's login keeps the hub's answer about a token or cookie.
ADMIN_LOGIN_CACHE = 1
#: Credits a hub user's seat starts with when neither the roster nor the teacher says.
DEFAULT_HUB_CREDITS = 20.0
#: Seconds the gateway waits for the hub to check a token (or read a user) before it answers
#: 502 itself: a stalled hub must not hold every hub user's call for minutes.
DEFAULT_HUB_TIMEOUT = 5.0
#: What a hub user is told when the hub cannot check their token: the gateway's own words,
#: never the hub's advice to its admin (that goes to the gateway's log).
HUB_UNAVAILABLE = ("the JupyterHub {why}, so the gateway could not check your hub token; "
                   "nothing was sent to the service or charged: try again in a minute")


def name_too_long(name: str) -> str | None:
    """Why hub user ``name`` is refused a seat for its length (the rule and its size), or
    ``None`` when it is within `HUB_NAME_LIMIT`."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if size <= HUB_NAME_LIMIT:
        return None
    return (f"a JupyterHub user name gets a seat when it is at most {HUB_NAME_LIMIT} bytes "
            f"in UTF-8 (the longest file name; JupyterHub keeps names of 255 characters); "
            f"{printable(name, limit=40)} is {size} bytes")


def read_roster(path: str | os.PathLike[str], *, credits: float) -> dict[str, float]:
    """A roster file as ``{hub user name: credits}``, names lowercased as the hub's
    authenticators make them (``Alice`` in a class list is the hub user ``alice``).

    One user a line: ``NAME`` (gets ``credits``) or ``NAME CREDITS`` (tab or spaces; credits a
    finite number >= 0, the rule of ``--hub-credits``); blank lines and lines starting with
    ``#`` are skipped; a UTF-8 byte order mark (Excel's "CSV UTF-8") is ignored. A name listed
    twice is refused naming both lines.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"cannot read the roster {path}: "
                                 f"{getattr(err, 'strerror', None) or err}") from None
    roster: dict[str, float] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            given = float(words[1]) if len(words) > 1 else credits
        except ValueError:
            given = -1.0
        if len(words) > 2 or not (math.isfinite(given) and given >= 0):
            raise ConfigurationError(f"{path}, line {number}: a roster line is NAME or NAME "
                                     f"CREDITS (credits a finite number >= 0), got "
                                     f"{line.strip()!r}")
        name = words[0].lower()
        too_long = name_too_long(words[0])
        if too_long is not None:
            raise ConfigurationError(f"{path}, line {number}: {too_long}: no hub user has it")
        if name in roster:
            raise ConfigurationError(f"{path}: {words[0]!r} is listed twice, on lines "
                                     f"{lines[name]} and {number} (names are compared "
                                     "ignoring case, as the hub does): keep one line")
        roster[name], lines[name] = given, number
    return roster


@dataclass(frozen=True)
class HubPolicy:
    """Who gets a hub seat and with how much.

    Args:
        credits: a new seat's credits (service units; default 20).
        group: only members of this hub group get a seat (default: every hub user).
        roster: ``{name: credits}``; when given, only these users get a seat, with these
            credits (default: no roster).
        timeout: seconds the gateway waits for the hub on each check (default 5); past it the
            call is answered 502, nothing sent or charged.
        service_access: a token pays only when it carries access to this service
            (``access:services!service=NAME``, JupyterHub's rule for a service); ``False``
            accepts any token the hub says is the user's, even an identify-only one that
            another service or a shared server received (default ``True``).
        roster_file: the file ``roster`` was read from (`read_roster`): when a user not on the
            roster calls and the file has changed since, it is read again, so a latecomer the
            teacher adds gets in without a restart (default none: the roster as given).
    """

    credits: float = DEFAULT_HUB_CREDITS
    """A new seat's credits (service units; default 20)."""
    group: str | None = None
    """Only members of this hub group get a seat; ``None`` (default) lets every hub user in."""
    roster: Mapping[str, float] | None = None
    """``{name: credits}``: only these users get a seat, with these credits (default none)."""
    timeout: float = DEFAULT_HUB_TIMEOUT
    """Seconds the gateway waits for the hub on each check (default 5)."""
    service_access: bool = True
    """A token must carry ``access:services!service=NAME`` to pay (default ``True``)."""
    roster_file: str | None = None
    """The roster's file, read again when it changed and someone not on it calls."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.credits) and self.credits >= 0):
            raise ConfigurationError(f"hub credits must be a finite number >= 0, got "
                                     f"{self.credits}")
        if not self.timeout > 0:
            raise ConfigurationError(f"the hub timeout must be more than 0 s, got {self.timeout}")
        for name, given in (self.roster or {}).items():
            if not (math.isfinite(given) and given >= 0):
                raise ConfigurationError(f"the roster's credits must be a finite number >= 0, "
                                         f"got {given} for {name}")


def _hub_auth() -> Any:
    """The hub's service-auth object, configured from the ``JUPYTERHUB_*`` environment the hub
    gives its services (or the teacher gives an external one)."""
    try:
        from jupyterhub.services.auth import HubOAuth
    except ImportError:  # pragma: no cover - the hub mode's one extra dependency
        raise ConfigurationError("the gateway's hub mode needs the jupyterhub package: "
                                 "pip install 'clipdrop-widgets[hub]'") from None
    if not os.environ.get("JUPYTERHUB_API_TOKEN"):
        raise ConfigurationError("the gateway's hub mode needs the service's hub token in "
                                 "$JUPYTERHUB_API_TOKEN (the hub sets it for a managed service; "
                                 "give an external one the api_token of its services entry)")
    # Seats never use HubOAuth's cache (use_cache=False: a token the hub revoked, its server
    # stopped, is refused at once). The admin page's login does (its page polls every
    # second): one second at most, so a revoked admin is out a second later. (0 would mean
    # "forever" to jupyterhub.) The environment is read now: HubOAuth's defaults are read at
    # first use, or at its import.
    env = os.environ

    class CappedHubOAuth(HubOAuth):  # type: ignore[misc,valid-type]
        """HubOAuth reading the hub's answers to its GETs at most 1 MB (`hubapi`)."""

        _api_request = api_request

    return CappedHubOAuth(
        cache_max_age=ADMIN_LOGIN_CACHE, api_token=env["JUPYTERHUB_API_TOKEN"],
        api_url=env.get("JUPYTERHUB_API_URL") or "http://127.0.0.1:8081/hub/api",
        base_url=env.get("JUPYTERHUB_SERVICE_PREFIX") or "/")


@dataclass
class HubSeats:
    """Hub users' seats in ``ledger``, by the rules of ``policy``; ``auth`` a `HubOAuth`
    (default: from the environment)."""

    ledger: Ledger
    policy: HubPolicy = field(default_factory=HubPolicy)
    auth: Any = field(default_factory=_hub_auth)
    #: The roster in force (the policy's, or the file's when it was read again) and the
    #: modification time of the file it came from.
    roster: Mapping[str, float] | None = field(init=False, default=None)
    _roster_mtime: float | None = field(init=False, default=None)
    #: Set while the roster file's latest edit cannot be read (the previous roster in force).
    _roster_unreadable: bool = field(init=False, default=False)
    #: Reads of a user's model in flight, by name: concurrent first calls share one.
    _reading: dict[str, asyncio.Future[dict[str, Any]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy.service_access and self.auth is not None and not self.auth.access_scopes:
            raise ConfigurationError(
                "the gateway's hub mode needs its service name in $JUPYTERHUB_SERVICE_NAME (the "
                "hub sets it for a managed service) to require access to the service; or "
                "accept any token of the user with --hub-any-token")
        self.roster = self.policy.roster
        if self.roster is None and self.policy.roster_file is not None:
            self.roster = read_roster(self.policy.roster_file, credits=self.policy.credits)
        self._roster_mtime = self._mtime()

    async def seat_for_token(self, token: str) -> Seat:
        """The seat of the hub user owning ``token``; a `Refusal` (403) for anyone else."""
        model = await self._ask("check your hub token", f"{self._api_url()}/user", token)
        if model.status in (401, 403, 404):
            model = HubAnswer()
        elif model.status >= 400:
            logger.warning("the hub answered %s to a token check", model.status)
            raise Refusal(502, HUB_UNAVAILABLE.format(why="could not be reached"))
        if not model or model.get("kind", "user") != "user":
            raise Refusal(403, "Invalid or revoked api key: not a seat key, and the hub does not "
                               "know this token (its server may have stopped: start it again "
                               "from the hub's home page)")
        name = model.get("name")
        if not isinstance(name, str) or not name:
            logger.warning("the hub answered a token check with a model without a name")
            raise Refusal(502, HUB_UNAVAILABLE.format(
                why=f"at {self._api_url()} answered something that is not a user"))
        too_long = name_too_long(name)
        if too_long is not None:
            logger.warning("refused a hub user name of %d bytes", len(name.encode("utf-8",
                                                                                 "surrogatepass")))
            refusal = Refusal(403, f"{too_long}: ask the hub's admin for a shorter user name; "
                                   "nothing was sent to the service or charged")
            refusal.hub_user = name  # type: ignore[attr-defined] # for the log line (cut)
            raise refusal
        if self.policy.service_access:
            self._check_access(name, model)
        seat = self.seat_for_user(name)
        if seat is None:
            try:
                await self._admit(name)
                seat = self._create(name)
            except Refusal as refusal:
                refusal.hub_user = name  # type: ignore[attr-defined] # for the log line
                raise
        return seat

    def _api_url(self) -> str:
        return str(self.auth.api_url).rstrip("/")

    async def _ask(self, what: str, url: str, token: str) -> HubAnswer:
        """The hub's JSON answer at ``url`` (any status), or the 502 saying why there is none:
        the hub's own words go to the log, never to the caller."""
        timeout = self.policy.timeout
        try:
            return await get_json(url, token, timeout, tls_of(self.auth))
        except HubTimeout:
            logger.warning("the hub did not answer within %g s (to %s)", timeout, what)
            why = f"did not answer within {timeout:g} s"
        except HubUnreachable as err:
            logger.warning("the hub could not be reached (to %s): %s", what, err)
            why = "could not be reached"
        except HubUnreadable as err:
            logger.warning("the hub's answer (to %s) is unreadable: %s", what, err)
            why = f"at {self._api_url()} answered something unreadable"
        raise Refusal(502, HUB_UNAVAILABLE.format(why=why).replace(
            "check your hub token", what))

    def _check_access(self, name: str, model: Mapping[str, Any]) -> None:
        """Refuse a token without access to this service: an identify-only token (what the hub
        gives another service or a shared server a user visits) is not a payment credential."""
        from jupyterhub.services.auth import check_scopes

        needed = set(self.auth.access_scopes)
        try:
            granted = check_scopes(needed, set(model.get("scopes") or []))
        except ValueError:  # a scope the hub's own library cannot read: no access shown
            granted = set()
        if not granted:
            refusal = Refusal(403, f"this hub token of {name} does not give access to the "
                                   f"workshop gateway (it needs the scope "
                                   f"{', '.join(sorted(needed))}): use the token of your own "
                                   "server, or ask the person running the hub to grant it")
            refusal.hub_user = name  # type: ignore[attr-defined] # for the log line
            raise refusal

    async def _admit(self, name: str) -> None:
        """Refuse ``name`` a new seat when the roster or the group says so."""
        policy = self.policy
        if self.roster is not None and self._on_roster(name) is None:
            # the student hears what the teacher's log says (att23 #10), not its details,
            # which may name other users
            stale = (" (the roster file was changed but cannot be read, so the roster before "
                     "that change is in force: the gateway's log says why)"
                     if self._roster_unreadable else "")
            raise Refusal(403, f"JupyterHub user {name} is not on this workshop's roster{stale}"
                               ": ask the person running the workshop to add you")
        if policy.group is not None:
            groups = (await self.user_model(name)).get("groups") or []
            if policy.group not in groups:
                raise Refusal(403, f"JupyterHub user {name} is not in the hub group "
                                   f"'{policy.group}' this workshop's gateway serves: ask the "
                                   "person running the workshop to add you to it")

    def _mtime(self) -> float | None:
        if self.policy.roster_file is None:
            return None
        try:
            return os.stat(self.policy.roster_file).st_mtime
        except OSError:
            return None

    def _on_roster(self, name: str) -> float | None:
        """``name``'s credits on the roster (names compared ignoring case, as the hub's
        authenticators lowercase them), or ``None``; a roster file the teacher edited since it
        was read is read again first. An edit that does not read keeps the roster in force
        (and says why in the log)."""
        assert self.roster is not None
        credits = self.roster.get(name.lower())
        mtime = self._mtime()
        if credits is None and mtime is not None and mtime != self._roster_mtime:
            try:
                self.roster = read_roster(str(self.policy.roster_file),
                                          credits=self.policy.credits)
                logger.info("the roster %s changed: read again, %d users",
                            self.policy.roster_file, len(self.roster))
                self._roster_unreadable = False
            except ConfigurationError as err:
                logger.warning("the roster changed but cannot be used, the previous one "
                               "stays: %s", err)
                self._roster_unreadable = True
            self._roster_mtime = mtime
            credits = self.roster.get(name.lower())
        return credits

    async def user_model(self, name: str) -> dict[str, Any]:
        """The hub's model of user ``name`` (groups, admin), read with the service's token;
        calls for the same user at once share one read (a class's first calls)."""
        reading = self._reading.get(name)
        if reading is None:
            reading = asyncio.ensure_future(self._read_user(name))
            self._reading[name] = reading
            reading.add_done_callback(lambda _: self._reading.pop(name, None))
        return dict(await asyncio.shield(reading))

    async def _read_user(self, name: str) -> dict[str, Any]:
        url = f"{self._api_url()}/users/{quote(name, safe='')}"
        model = await self._ask(f"read hub user {name}", url, self.auth.api_token)
        if model.status == 404:
            return {"name": name}
        if model.status >= 500:
            logger.warning("the hub answered %s reading user %s", model.status, name)
            raise Refusal(502, HUB_UNAVAILABLE.format(why="could not be reached").replace(
                "check your hub token", f"read hub user {name}"))
        if model.status >= 400:
            raise Refusal(502, f"the gateway could not read hub user {name} from the hub "
                               f"({model.status}): its service needs the read:users scope")
        return dict(model)

    # -- the ledger's rows ----------------------------------------------------------------
    def seat_for_user(self, name: str) -> Seat | None:
        """Hub user ``name``'s seat, or ``None`` before their first call."""
        return self.ledger.seat_for_identity(HUB_SEAT_PREFIX + name)

    def _create(self, name: str) -> Seat:
        policy = self.policy
        credits = policy.credits if self.roster is None else self._on_roster(name)
        if credits is None:  # pragma: no cover - _admit refused them
            raise Refusal(403, f"JupyterHub user {name} is not on this workshop's roster")
        # The room's expiry, like any late seat; a seat made meanwhile (two first calls at
        # once) is the one returned.
        seat = self.ledger.add_identity_seat(HUB_SEAT_PREFIX + name, name, credits)
        if seat is None:  # the label is a seat key's: never hand a hub user someone's seat
            raise Refusal(403, f"a seat-key seat is already called {name}: rename it or give "
                               "this hub user another name")
        return seat

    def hub_seats(self) -> list[Seat]:
        """Every hub user's seat, by name."""
        return self.ledger.identity_seats(HUB_SEAT_PREFIX)


def hub_seat_ids(ledger: Ledger) -> set[int]:
    """The ids of the hub users' seats in ``ledger`` (``seats list`` and the admin page mark
    them)."""
    return {seat.id for seat in ledger.identity_seats(HUB_SEAT_PREFIX)}


def caller_left(request: Any) -> bool:
    """Whether the client of tornado's ``request`` has closed its connection: checked before a
    call goes upstream, so a call its sender gave up on (waiting for the hub) is withdrawn,
    never sent or charged. A peek at the socket: an orderly close reads as end of file."""
    stream = getattr(request.connection, "stream", None)
    if stream is None:
        return False
    if stream.closed():
        return True
    try:
        return stream.socket.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False  # open, nothing more sent
    except OSError:
        return True  # reset by the peer


@functools.cache
def admin_login() -> type:
    """The admin page's way in for hub admins (a mixin for `admin.admin_routes`), made when
    first needed: it is jupyterhub's own `HubOAuthenticated`.

    Under the service's prefix, a browser without the hub's login cookie is sent through the
    hub's login (OAuth) and back; a hub user with access to the service who is a hub admin
    (read with the service's ``read:users``) gets in, anyone else a 403 naming them. A
    request carrying a hub token with access to the service (``Authorization: token ...``)
    is checked the same way. The admin token keeps working beside it.
    """
    from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
    from tornado.web import HTTPError

    from .admin import ADMIN_PATH

    class HubAdminLogin(HubOAuthenticated):  # type: ignore[misc]
        async def login(self) -> bool:
            seats: HubSeats = self.settings["hub"]
            self.hub_auth = seats.auth
            try:
                model = await asyncio.wait_for(self.hub_auth.get_user(self, sync=False),
                                               seats.policy.timeout)
                if model is not None:
                    model = self.check_hub_user(model)
            except UserNotAllowed as refused:  # no access to the service: the hub's rule
                name = refused.model.get("name", "?")
                self.deny(403, f"{name} may not use the workshop gateway on this JupyterHub "
                               f"(it needs {', '.join(sorted(self.hub_scopes or []))})")
                return False
            except (asyncio.TimeoutError, HTTPError, ValueError, KeyError, TypeError):
                # ValueError, KeyError, TypeError: an answer the hub library cannot read
                self.deny(502, "the JupyterHub could not check your login: try again in a "
                               "minute, or use the admin token")
                return False
            prefix = seats.auth.base_url
            if model is None:
                if self.page and prefix != "/" and self.request.path.startswith(prefix):
                    self.to_hub_login()
                elif self.page and prefix != "/":
                    self.deny(401, "open the admin page through the hub, at "
                                   f"{prefix}{ADMIN_PATH.lstrip('/')} on the hub's address "
                                   "(hub admins), or give the admin token (?token=...)")
                return False
            name = str(model["name"])
            if model.get("kind", "user") != "user":
                self.deny(403, f"the hub service {name} is not a hub admin: use the admin token")
                return False
            try:
                admin = (await seats.user_model(name)).get("admin")
            except Refusal as refusal:
                self.deny(refusal.status, refusal.message)
                return False
            if not admin:
                self.deny(403, f"{name} is not an admin of this JupyterHub: only hub admins "
                               "(and whoever holds the gateway's admin token) see this page")
                return False
            if self.page:
                self.xsrf_token  # noqa: B018 - sets the cookie the page's fetches send back
            return True

        def to_hub_login(self) -> None:
            """Redirect to the hub's login (OAuth), which comes back to this page."""
            if not self.hub_auth.oauth_client_id:  # the hub would refuse the login
                self.deny(503, "the gateway cannot send you to the hub's login: it needs its "
                               "OAuth client id in $JUPYTERHUB_CLIENT_ID (the hub sets it for a "
                               "managed service; an external one is service-NAME); the admin "
                               "token still opens the page")
                return
            self.redirect(self.get_login_url())

    return HubAdminLogin


def hub_routes(seats: HubSeats, routes: list[Any]) -> list[Any]:
    """``routes`` also under the service's prefix (the hub's proxy does not strip it), plus
    the OAuth callback of the hub's login."""
    from jupyterhub.services.auth import HubOAuthCallbackHandler

    class Callback(HubOAuthCallbackHandler):  # type: ignore[misc]
        def initialize(self, seats: HubSeats) -> None:
            self.hub_auth = seats.auth

    prefix = seats.auth.base_url  # $JUPYTERHUB_SERVICE_PREFIX, "/" outside a hub
    extra: list[Any] = []
    if prefix != "/":
        extra = [(prefix.rstrip("/") + route[0], *route[1:]) for route in routes]
    extra.append((prefix + "oauth_callback", Callback, {"seats": seats}))
    return routes + extra
