"""The gateway on tornado: the five ClipDrop paths for seat keys, and ``/gateway/v1/seat``.

Bodies are streamed (``stream_request_body``) and capped at the endpoint's limit; the seat's
key is checked (401, 403) before a byte of the body is read. Every answer is JSON on error,
written by the gateway (never the upstream's body or headers), and carries the seat's balance in
``x-remaining-credits``. A participant who hangs up withdraws a call not yet sent. One log line
per request names the seat's label, never a key. One gateway serves a database at a time
(`lock.ServeLock`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler, stream_request_body

from ..api.constants import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from ..contract.endpoints import ENDPOINTS, Endpoint
from ..contract.errors import ConfigurationError
from ..engine.forms import BodyTooLargeError, body_cap
from .admin import ADMIN_PATH, AdminCheck, admin_routes, new_admin_token, token_check
from .bodies import DEFAULT_BODY_MEMORY, spool
from .core import RATE_LIMITED_WAIT, Gateway, Refusal, Reply, _number
from .hub import HubPolicy, HubSeats, admin_login, caller_left, hub_routes
from .ledger import Ledger, Seat
from .lock import ServeLock
from .seatgate import DEFAULT_SEAT_PARALLEL
from .stats import LogEntry
from .terminal import printable
from .upstream import UPSTREAM_TIMEOUT, HTTPUpstream, LocalUpstream, Upstream

__all__ = ["GatewayHandle", "make_app", "make_upstream", "serve_gateway", "SEAT_PATH"]

logger = logging.getLogger("clipdrop_widgets.gateway")

#: Where a seat reads its own usage (GET, JSON).
SEAT_PATH = "/gateway/v1/seat"
DEFAULT_PORT = 8770
#: Seconds a connection may stay idle, or an upload stall, before it is closed.
IDLE_TIMEOUT = 60.0
#: Bytes of a chunked body past the endpoint's cap read (and dropped) to answer a clear 400;
#: beyond them the connection is closed.
DRAIN_LIMIT = 16 * 1024 * 1024


class _Base(RequestHandler):
    gateway: Gateway
    seat: Seat | None = None
    served = ""
    charged: float | None = None
    claimed: float | None = None
    waited: float | None = None
    refused_user: str | None = None  # a hub user refused a seat, named in the log line

    def initialize(self, gateway: Gateway, **_: Any) -> None:
        self.gateway = gateway

    def set_default_headers(self) -> None:
        self.set_header("Server", "clipdrop-widgets-gateway")

    def refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        if self.seat is not None:
            self.set_header("x-remaining-credits", _number(self.gateway.remaining(self.seat.id)))
        self.finish(json.dumps({"error": message}))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        message = self._reason if status_code != 500 else "internal error in the gateway"
        self.finish(json.dumps({"error": message}))

    async def authenticate(self) -> Seat | None:
        """The caller's seat, or ``None`` after answering 401 or 403."""
        key = (self.request.headers.get("x-api-key") or "").strip()
        hub = self.settings.get("hub")  # a HubSeats when serving a JupyterHub (gateway.hub)
        if not key and hub is not None:  # a hub token may come as curl and the hub send it
            key = self.request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not key:
            self.refuse(401, "No api key provided: send your seat key in the x-api-key header")
            return None
        seat = self.gateway.ledger.seat_for_key(key)
        if seat is None and hub is not None:
            try:
                seat = await hub.seat_for_token(key)
            except Refusal as refusal:
                self.refused_user = getattr(refusal, "hub_user", None)
                self.refuse(refusal.status, refusal.message)
                return None
        if seat is None:
            self.refuse(403, "Invalid or revoked api key")
            return None
        refusal = seat.refusal()
        if refusal is not None:
            self.refuse(403, refusal)
            return None
        self.seat = seat
        return seat


class _SeatHandler(_Base):
    async def get(self) -> None:
        seat = await self.authenticate()
        if seat is None:
            return
        left = self.gateway.remaining(seat.id)
        self.set_header("x-remaining-credits", _number(left))
        self.finish({"label": seat.label, "credits_remaining": left, "credits_spent": seat.spent,
                     "credits_reserved": seat.reserved, "requests": seat.requests,
                     "expires": seat.expires})


@stream_request_body
class _OperationHandler(_Base):
    endpoint: Endpoint

    def initialize(self, gateway: Gateway, endpoint: Endpoint, **_: Any) -> None:  # type: ignore[override]
        self.gateway = gateway
        self.endpoint = endpoint
        self._body = spool()  # on disk beyond a megabyte: a room of photos stays off the heap
        self._size = 0
        self._cap = body_cap(endpoint)

    async def prepare(self) -> None:
        if self.request.method != "POST":
            self.refuse(405, f"{self.request.method} is not allowed on {self.endpoint.path}; "
                             "use POST", {"Allow": "POST"})
            return
        if await self.authenticate() is None:
            return
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self._cap:
            self.refuse(400, str(BodyTooLargeError(self.endpoint.path, size=int(declared),
                                                   cap=self._cap, announced=True)))
            return
        # Past the cap, data_received drops what comes and post() answers 400; tornado itself
        # closes the connection only DRAIN_LIMIT later (an upload that will not stop).
        self.request.connection.set_max_body_size(  # type: ignore[union-attr]
            self._cap + DRAIN_LIMIT)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self._cap:
            self._body.write(chunk)

    async def post(self) -> None:
        assert self.seat is not None
        if self._size > self._cap:
            self.refuse(400, str(BodyTooLargeError(self.endpoint.path, size=self._size,
                                                   cap=self._cap, announced=False)))
            return
        if caller_left(self.request):  # it gave up (e.g. while the hub was slow): never sent
            self.served = "withdrawn: the caller left before it was sent; nothing charged"
            self.set_status(499, "Client Closed Request")
            self.finish()
            return
        headers = self.request.headers
        self._task = asyncio.ensure_future(self.gateway.call(
            self.seat, self.endpoint, accept=headers.get("Accept"),
            content_type=headers.get("Content-Type"), body=self._body, length=self._size))
        try:
            reply = await self._task
        except Refusal as refusal:
            self.charged, self.claimed = refusal.charged, refusal.claimed
            headers = dict(refusal.headers or {})
            if refusal.charged:  # a client must not send a charged failure again
                headers["x-credits-consumed"] = _number(refusal.charged)
            self.refuse(refusal.status, refusal.message, headers)
            return
        except asyncio.CancelledError:  # the participant hung up: nothing to answer
            self.set_status(499, "withdrawn")
            return
        self._answer(reply)

    def on_finish(self) -> None:
        self._body.close()

    def on_connection_close(self) -> None:
        """The participant went away: withdraw the call (a call already sent still settles).
        An upload abandoned mid-body never reaches `post` nor `on_finish`: its spool (a temp
        file and its descriptor) is closed here, or it would stay open until the gateway stops."""
        task = getattr(self, "_task", None)
        if task is None:
            self._body.close()
        elif not task.done():
            task.cancel()

    def _answer(self, reply: Reply) -> None:
        """An image: the gateway's own headers, the image's type, never the upstream's others."""
        assert self.seat is not None
        answer = reply.answer
        self.served, self.charged, self.waited = reply.served, reply.charged, reply.waited
        self.claimed = reply.claimed
        self.set_status(200)
        for name, value in answer.headers.items():
            if name not in ("x-credits-consumed", "retry-after"):
                self.set_header(name, value)
        self.set_header("x-credits-consumed", _number(reply.charged))
        self.set_header("x-gateway-cache", reply.served)
        self.set_header("x-remaining-credits", _number(self.gateway.remaining(self.seat.id)))
        self.finish(answer.body)


class _NotFound(_Base):
    def prepare(self) -> None:
        served = ", ".join([e.path for e in ENDPOINTS.values()] + [SEAT_PATH])
        self.refuse(404, f"no endpoint at {self.request.path[:200]}; this gateway serves "
                         f"{served}")


def _log_request(handler: RequestHandler) -> None:
    seat = getattr(handler, "seat", None)
    refused = getattr(handler, "refused_user", None)
    label = (printable(seat.label) if seat is not None else
             f"{printable(refused)} (refused)" if refused is not None else "-")
    charged = getattr(handler, "charged", None)
    gateway = getattr(handler, "gateway", None)
    if gateway is not None and seat is not None:
        gateway.stats.answered(LogEntry(time.time(), label, handler.request.path[:200],
                                        handler.get_status(), handler.served or "-", charged,
                                        handler.waited, getattr(handler, "claimed", None)))
    served = getattr(handler, "served", "")
    extra = (f" charged={_number(charged)} ({served})" if charged is not None else
             f" {served}" if served else "")
    logger.info("%s %s %s %d %.0f ms%s", label, handler.request.method,
                printable(handler.request.path, limit=200), handler.get_status(),
                1000 * handler.request.request_time(), extra)


def _nobody(request: Any) -> bool:
    """No admin token: on a hub without one, only hub admins see the admin page."""
    return False


def make_app(gateway: Gateway, admin_check: AdminCheck | None = None,
             hub: HubSeats | None = None) -> Application:
    """The tornado application serving ``gateway`` (and its admin page behind
    ``admin_check``, when given); with ``hub``, to JupyterHub users too, and the admin page
    to hub admins through the hub's login."""
    routes: list[Any] = [(SEAT_PATH, _SeatHandler, {"gateway": gateway})]
    if hub is not None:
        routes += admin_routes(gateway, admin_check or _nobody, admin_login())
    elif admin_check is not None:
        routes += admin_routes(gateway, admin_check)
    for endpoint in ENDPOINTS.values():
        routes.append((endpoint.path + "/?", _OperationHandler,
                       {"gateway": gateway, "endpoint": endpoint}))
    settings: dict[str, Any] = {}
    if hub is not None:
        routes = hub_routes(hub, routes)
        settings = {"hub": hub, "cookie_secret": secrets.token_bytes(32)}
    return Application(routes, default_handler_class=_NotFound,
                       default_handler_args={"gateway": gateway}, log_function=_log_request,
                       **settings)


def make_upstream(upstream: str | None = None, upstream_key: str | None = None, *,
                  timeout: float = UPSTREAM_TIMEOUT) -> Upstream:
    """Where the room's calls go.

    ``upstream`` (default ``$CLIPDROP_API_URL``) is a server URL or ``local://engine``;
    ``upstream_key`` (default ``$CLIPDROP_API_KEY``) the room's key; ``timeout`` seconds per
    upstream call. With neither, the in-process local engine. A URL without a key is an error.
    """
    key = upstream_key if upstream_key is not None else os.environ.get(API_KEY_ENV)
    key = (key or "").strip() or None
    url = upstream if upstream is not None else os.environ.get(BASE_URL_ENV) or None
    if (url is None and key is None) or (url or "").startswith("local://"):
        return LocalUpstream()
    if key is None:
        raise ConfigurationError(f"the upstream {url} needs the room's key: set ${API_KEY_ENV} or "
                         "give a key file")
    return HTTPUpstream(url or DEFAULT_BASE_URL, key, timeout=timeout)


@dataclass
class GatewayHandle:
    """A gateway serving from a background thread; a context manager that stops it.

    ``url`` is where participants point their clients; ``gateway`` the running room.
    """

    url: str
    port: int
    gateway: Gateway
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _lock: ServeLock | None = None
    _admin_token: str | None = None

    @property
    def admin_url(self) -> str:
        """The admin page (with its token, when the default check guards it)."""
        token = f"?token={self._admin_token}" if self._admin_token else ""
        return f"{self.url}{ADMIN_PATH}{token}"

    @property
    def source(self) -> str:
        """``"local engine"`` or ``"service"``: where the room's results come from."""
        return self.gateway.upstream.source

    def __repr__(self) -> str:  # never the admin token
        state = "running" if self._thread.is_alive() else "closed"
        return f"<GatewayHandle {self.url} upstream={self.source!r} {state}>"

    def close(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> GatewayHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _start(gateway: Gateway, host: str, port: int,
           admin_check: AdminCheck, hub: HubSeats | None) -> tuple[HTTPServer, int]:
    sockets = bind_sockets(port, host)
    server = HTTPServer(make_app(gateway, admin_check, hub), idle_connection_timeout=IDLE_TIMEOUT,
                        body_timeout=IDLE_TIMEOUT)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def _run(gateway: Gateway, host: str, port: int, admin_check: AdminCheck,
         started: dict[str, Any], ready: threading.Event, hub: HubSeats | None = None) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def start() -> tuple[HTTPServer, int]:
        return _start(gateway, host, port, admin_check, hub)

    try:
        server, bound = loop.run_until_complete(start())
    except Exception as err:  # noqa: BLE001 - handed to the caller's thread, raised there
        started["error"] = err
        ready.set()
        loop.close()
        return
    started.update(loop=loop, port=bound)
    ready.set()
    try:
        loop.run_forever()
    finally:
        server.stop()
        lanes = gateway.close()
        if lanes:  # let them end (a second at most), so none is destroyed still pending
            loop.run_until_complete(asyncio.wait(lanes, timeout=1.0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def serve_gateway(
    db: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    upstream: str | None = None,
    upstream_key: str | None = None,
    requests_per_minute: float | None = None,
    seat_rpm: float | None = None,
    shared_cache: bool = True,
    upstream_limit_scope: str = "key",
    seat_parallel: int = DEFAULT_SEAT_PARALLEL,
    upstream_timeout: float = UPSTREAM_TIMEOUT,
    admin_token: str | None = None,
    admin_check: AdminCheck | None = None,
    body_memory: int = DEFAULT_BODY_MEMORY,
    rate_limited_wait: float = RATE_LIMITED_WAIT,
    hub: HubPolicy | None = None,
    background: bool = False,
) -> GatewayHandle | None:
    """Serve the workshop gateway for the seats in the ledger ``db``.

    Args:
        db: the seats database (``gateway seats add`` makes it).
        host: address to bind (default loopback); port: TCP port (default 8770, 0 any free).
        upstream: the service's URL, or ``"local://engine"``; see `make_upstream`.
        upstream_key: the room's key (default ``$CLIPDROP_API_KEY``); sent only upstream.
        requests_per_minute: the room's upstream rate (default the documented 60; text
            inpainting gets half of it).
        seat_rpm: most requests per minute one seat may send (default no cap).
        shared_cache: answer identical requests once (default true).
        upstream_limit_scope: what the upstream's rate limit counts: ``"key"`` (default, the
            safe reading of "per key": every operation shares the room's rate) or
            ``"operation"`` (each operation has its own).
        seat_parallel: calls one seat may have in flight (default 2); its others wait behind
            them. A seat's own limit (``gateway seats limit``) overrides it.
        upstream_timeout: seconds an upstream call may take (default 150); a call that timed
            out after it was sent stays charged (the service may have done the work).
        admin_token: the admin page's token (default a fresh one, printed at start and in
            `GatewayHandle.admin_url`).
        admin_check: who may see the admin page, instead of the token: a function of the
            tornado request answering true or false. With ``hub``, hub admins also get in
            through the hub's login (`hub.admin_login`).
        body_memory: bytes of request bodies parsed and validated at once, room-wide (default
            128 MB); bigger uploads wait on disk for their turn, small ones never wait.
        rate_limited_wait: seconds a call is retried while the service answers 429 (default
            60); then the seat gets a 429 with Retry-After saying nothing was charged.
        hub: serve as a JupyterHub service (`HubPolicy`): hub users' API tokens are their
            seat keys, their seats made by this policy (default: seat keys only).
        background: serve from a daemon thread and return a `GatewayHandle`; otherwise
            serve until Ctrl-C (or SIGTERM) and return ``None``.
    """
    lock = ServeLock(db)
    lock.acquire()  # before recover(): never settle a running gateway's reservations
    try:
        gateway = _room(db, make_upstream(upstream, upstream_key, timeout=upstream_timeout),
                        requests_per_minute=requests_per_minute,
                        seat_rpm=seat_rpm, shared_cache=shared_cache,
                        scope=upstream_limit_scope, seat_parallel=seat_parallel,
                        body_memory=body_memory, rate_limited_wait=rate_limited_wait)
    except BaseException:
        lock.release()
        raise
    if admin_check is None:
        admin_token = admin_token or new_admin_token()
        admin_check = token_check(admin_token)
    else:
        admin_token = None
    seats = HubSeats(gateway.ledger, hub) if hub is not None else None
    handle = _launch(gateway, host, port, admin_check, lock, admin_token, seats)
    if background:
        return handle
    _serve_in_foreground(handle)
    return None


def _launch(gateway: Gateway, host: str, port: int, admin_check: AdminCheck, lock: ServeLock,
            admin_token: str | None, hub: HubSeats | None = None) -> GatewayHandle:
    """Serve ``gateway`` from a daemon thread; its handle once it listens."""
    started: dict[str, Any] = {}
    ready = threading.Event()
    thread = threading.Thread(target=_run, args=(gateway, host, port, admin_check, started,
                                                 ready, hub),
                              name="clipdrop-gateway", daemon=True)
    thread.start()
    ready.wait()
    if "error" in started:
        gateway.close()
        lock.release()
        raise started["error"]
    handle = GatewayHandle(_url(host, started["port"]), started["port"], gateway,
                           started["loop"], thread, lock, admin_token)
    lock.announce(handle.url)
    return handle


def _serve_in_foreground(handle: GatewayHandle) -> None:
    """Say where the room and the teacher's page are, then serve until Ctrl-C or SIGTERM."""
    gateway = handle.gateway
    where = ("the local engine (offline previews)" if handle.source == "local engine"
             else f"the service at {getattr(gateway.upstream, 'url', '?')}")
    print(f"Workshop gateway listening on {handle.url} for {len(gateway.ledger.seats())} seats; "
          f"upstream: {where}. Ctrl-C stops it.\nThe teacher's page: {handle.admin_url}",
          flush=True)
    try:
        while handle._thread.is_alive():
            handle._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        handle.close()


def _room(db: str | os.PathLike[str], upstream: Upstream, **options: Any) -> Gateway:
    """The room's `Gateway` on its ledger, reservations left by a crash settled first."""
    ledger = Ledger(db)
    try:
        settled, released = ledger.recover()
        if settled or released:
            logger.warning("when the gateway last stopped, %d calls had gone out (kept as "
                           "charged) and %d had not left whole (given back)", settled, released)
        return Gateway(ledger, upstream, **options)
    except BaseException:
        ledger.close()
        upstream.close()
        raise


def seat_usage(seat: Seat, now: float | None = None, *, hub: bool = False) -> str:
    """One line about a seat for ``seats list``: label (escaped for the terminal, see
    `printable`), spent, left, requests, last use; ``hub``: a "hub user" column ends it."""
    now = time.time() if now is None else now
    last = "never" if seat.last_used is None else time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime(seat.last_used))
    state = seat.refusal(now)
    flag = "" if state is None else ("\trevoked" if seat.revoked is not None else "\texpired")
    flag += "\thub user" if hub else ""
    who = "" if seat.contact is None else f"\t{printable(seat.contact)}"
    return (f"{printable(seat.label)}\t{_number(seat.spent + seat.reserved)} spent\t"
            f"{_number(max(0.0, seat.remaining))} left\t{seat.requests} requests\t"
            f"last use {last}{flag}{who}")
