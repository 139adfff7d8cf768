"""The gateway on tornado: the five ClipDrop paths for seat keys, and ``/gateway/v1/seat``.

Bodies are streamed (``stream_request_body``) and capped at the endpoint's limit; the seat's
key is checked (401, 403) before a byte of the body is read. Every answer is JSON on error,
carries the seat's balance in ``x-remaining-credits`` and never a header of the upstream's
request. One log line per request names the seat's label, never a key.
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
from .core import Gateway, Refusal, Reply, _number
from .hub import HubPolicy, HubSeats, caller_left, hub_routes
from .ledger import Ledger, Seat
from .terminal import printable
from .upstream import HTTPUpstream, LocalUpstream, Upstream

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
        self._chunks: list[bytes] = []
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
            self._chunks.append(chunk)

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
        try:
            reply = await self.gateway.call(
                self.seat, self.endpoint, accept=headers.get("Accept"),
                content_type=headers.get("Content-Type"), body=b"".join(self._chunks))
        except Refusal as refusal:
            self.refuse(refusal.status, refusal.message, refusal.headers)
            return
        self._answer(reply)

    def _answer(self, reply: Reply) -> None:
        assert self.seat is not None
        answer = reply.answer
        self.served, self.charged = reply.served, reply.charged
        self.set_status(answer.status if 200 <= answer.status < 600 else 502)
        for name, value in answer.headers.items():
            if name != "x-credits-consumed":
                self.set_header(name, value)
        if answer.status == 200:
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
    served = getattr(handler, "served", "")
    extra = (f" charged={_number(charged)} ({served})" if charged is not None else
             f" {served}" if served else "")
    logger.info("%s %s %s %d %.0f ms%s", label, handler.request.method,
                printable(handler.request.path, limit=200), handler.get_status(),
                1000 * handler.request.request_time(), extra)


def make_app(gateway: Gateway, hub: HubSeats | None = None) -> Application:
    """The tornado application serving ``gateway``; with ``hub``, to JupyterHub users too."""
    routes: list[Any] = [(SEAT_PATH, _SeatHandler, {"gateway": gateway})]
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


def make_upstream(upstream: str | None = None, upstream_key: str | None = None) -> Upstream:
    """Where the room's calls go.

    ``upstream`` (default ``$CLIPDROP_API_URL``) is a server URL or ``local://engine``;
    ``upstream_key`` (default ``$CLIPDROP_API_KEY``) the room's key. With neither, the
    in-process local engine. A URL without a key is an error.
    """
    key = upstream_key if upstream_key is not None else os.environ.get(API_KEY_ENV)
    key = (key or "").strip() or None
    url = upstream if upstream is not None else os.environ.get(BASE_URL_ENV) or None
    if (url is None and key is None) or (url or "").startswith("local://"):
        return LocalUpstream()
    if key is None:
        raise ConfigurationError(f"the upstream {url} needs the room's key: set ${API_KEY_ENV} or "
                         "give a key file")
    return HTTPUpstream(url or DEFAULT_BASE_URL, key)


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

    @property
    def source(self) -> str:
        """``"local engine"`` or ``"service"``: where the room's results come from."""
        return self.gateway.upstream.source

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "closed"
        return f"<GatewayHandle {self.url} upstream={self.source!r} {state}>"

    def close(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> GatewayHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _start(gateway: Gateway, host: str, port: int,
           hub: HubSeats | None) -> tuple[HTTPServer, int]:
    sockets = bind_sockets(port, host)
    server = HTTPServer(make_app(gateway, hub), idle_connection_timeout=IDLE_TIMEOUT,
                        body_timeout=IDLE_TIMEOUT)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def _run(gateway: Gateway, host: str, port: int, started: dict[str, Any],
         ready: threading.Event, hub: HubSeats | None = None) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def start() -> tuple[HTTPServer, int]:
        return _start(gateway, host, port, hub)

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
        gateway.close()
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
        hub: serve as a JupyterHub service (`HubPolicy`): hub users' API tokens are their
            seat keys, their seats made by this policy (default: seat keys only).
        background: serve from a daemon thread and return a `GatewayHandle`; otherwise
            serve until Ctrl-C (or SIGTERM) and return ``None``.
    """
    ledger = Ledger(db)
    recovered = ledger.recover()
    if recovered:
        logger.warning("%d calls were in flight when the gateway last stopped: kept as charged",
                       recovered)
    seats = HubSeats(ledger, hub) if hub is not None else None
    gateway = Gateway(ledger, make_upstream(upstream, upstream_key),
                      requests_per_minute=requests_per_minute, seat_rpm=seat_rpm,
                      shared_cache=shared_cache)
    started: dict[str, Any] = {}
    ready = threading.Event()
    thread = threading.Thread(target=_run, args=(gateway, host, port, started, ready, seats),
                              name="clipdrop-gateway", daemon=True)
    thread.start()
    ready.wait()
    if "error" in started:
        gateway.close()
        raise started["error"]
    handle = GatewayHandle(_url(host, started["port"]), started["port"], gateway,
                           started["loop"], thread)
    if background:
        return handle
    where = ("the local engine (offline previews)" if handle.source == "local engine"
             else f"the service at {getattr(gateway.upstream, 'url', '?')}")
    print(f"Workshop gateway listening on {handle.url} for {len(ledger.seats())} seats; "
          f"upstream: {where}. Ctrl-C stops it.", flush=True)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        handle.close()
    return None


def seat_usage(seat: Seat, now: float | None = None, *, hub: bool = False) -> str:
    """One line about a seat for ``seats list``: label (escaped for the terminal, see
    `printable`), spent, left, requests, last use; ``hub``: a "hub user" column ends it."""
    now = time.time() if now is None else now
    last = "never" if seat.last_used is None else time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime(seat.last_used))
    state = seat.refusal(now)
    flag = "" if state is None else ("\trevoked" if seat.revoked is not None else "\texpired")
    flag += "\thub user" if hub else ""
    return (f"{printable(seat.label)}\t{_number(seat.spent + seat.reserved)} spent\t"
            f"{_number(seat.remaining)} left\t{seat.requests} requests\tlast use {last}{flag}")
