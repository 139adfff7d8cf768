"""The teacher's view in a browser: ``/gateway/admin``, live, behind one small pluggable check.

The page polls ``/gateway/admin/stats.json`` every second and shows, per seat: who sits there,
credits left and spent, calls in flight and waiting, waits for an upstream slot (p50, p95),
refusals by kind and last use (in flight: sent upstream; waiting: behind the seat's own
calls or for a turn); for the room: upstream calls in the last minute against the
rate, 429s, upstream errors, whether the upstream is up, each pacing lane; and the request
log, with ``/gateway/admin/log.csv`` as its export. Nothing here carries a key: the ledger has
hashes only, and the room's key never leaves `upstream`.

Who may look is one function, `AdminCheck`: by default `token_check` compares the admin token
(printed when the gateway starts, or read from a file) with the ``token`` query parameter or an
``Authorization: Bearer`` header. A JupyterHub (or any other) login can replace it with its own
check of the request, and a login can be added beside it: on a JupyterHub (`hub.admin_login`)
hub admins come in through the hub's own login, the admin token still working.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import math
import secrets
import time
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from tornado.httputil import HTTPServerRequest
from tornado.web import RequestHandler

from .hub import hub_seat_ids

if TYPE_CHECKING:  # pragma: no cover
    from .core import Gateway

__all__ = ["AdminCheck", "token_check", "new_admin_token", "admin_routes", "room_snapshot",
           "ADMIN_PATH"]

ADMIN_PATH = "/gateway/admin"
#: Requests of the log the page shows (the CSV has all the gateway keeps).
PAGE_LOG = 100

#: Whether a request may see the admin page and its data.
AdminCheck = Callable[[HTTPServerRequest], bool]


def new_admin_token() -> str:
    """A fresh admin token (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def token_check(token: str) -> AdminCheck:
    """The default check: ``?token=TOKEN`` or ``Authorization: Bearer TOKEN``."""
    expected = token.encode()

    def check(request: HTTPServerRequest) -> bool:
        given = request.query_arguments.get("token", [b""])[-1]
        bearer = request.headers.get("Authorization", "")
        if bearer.lower().startswith("bearer "):
            given = bearer[7:].strip().encode()
        return bool(given) and hmac.compare_digest(given, expected)

    return check


def room_snapshot(gateway: Gateway) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (credits in service units, times in
    Unix seconds, waits in seconds); ``hub_user``: the seat is a JupyterHub user's, labelled
    with their hub name."""
    hub_users = hub_seat_ids(gateway.ledger)
    seats = []
    for seat in gateway.ledger.seats():
        view = gateway.stats.seat_view(seat.label)
        sending = gateway.stats.sending[seat.id]  # sent upstream; the rest wait for a turn
        seats.append({
            "label": seat.label, "contact": seat.contact, "hub_user": seat.id in hub_users,
            "credits_left": max(0.0, seat.remaining - gateway.held(seat.id)),
            "credits_spent": seat.spent + seat.reserved, "requests": seat.requests,
            "in_flight": sending,
            "waiting": gateway.gates.in_flight(seat.id) - sending + gateway.gates.waiting(seat.id),
            "wait_p50": view["wait_p50"], "wait_p95": view["wait_p95"],
            "refusals": view["refusals"],
            "last_use": seat.last_used, "state": seat.refusal() or "active",
            "parallel": seat.parallel or gateway.seat_parallel,
            "rpm": seat.rpm or gateway.seat_rpm})
    lanes = [{"name": lane.name, "rate": lane.rate, "configured": lane.configured,
              "waiting": lane.waiting, "too_many": lane.too_many}
             for lane in gateway.lanes.values()]
    room = gateway.stats.room_view()
    room.update(scope=gateway.scope, source=gateway.upstream.source, lanes=lanes,
                rate_limit=max(lane.configured for lane in gateway.lanes.values()),
                now=time.time())
    return {"room": room, "seats": seats, "log": gateway.stats.log_rows()[-PAGE_LOG:]}


class _Admin(RequestHandler):
    #: The page itself (a browser's navigation), not the data it fetches: a login may
    #: redirect it.
    page = False

    def initialize(self, gateway: Gateway, check: AdminCheck) -> None:
        self.gateway = gateway
        self.check = check

    def set_default_headers(self) -> None:
        self.set_header("Server", "clipdrop-widgets-gateway")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")

    async def prepare(self) -> None:
        if self.check(self.request) or await self.login():
            return
        if not self._finished:
            self.deny(401, "the admin page needs the admin token the gateway printed when it "
                           "started (?token=...)")

    async def login(self) -> bool:
        """Another way in than ``check`` (a JupyterHub's login, `hub.admin_login`): true lets
        the request in; false keeps it out, answered here (a redirect to a login page, a 403)
        or by the default 401."""
        return False

    def deny(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))


class _Page(_Admin):
    page = True

    def get(self) -> None:
        page = resources.files(__package__).joinpath("admin.html").read_text(encoding="utf-8")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; script-src 'unsafe-inline'; "
                        "style-src 'unsafe-inline'; connect-src 'self'")
        self.finish(page)


class _Stats(_Admin):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(strict_json(room_snapshot(self.gateway)), allow_nan=False))


class _Log(_Admin):
    def get(self) -> None:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["time", "seat", "path", "status", "served", "credits", "waited_s",
                         "service_claimed"])
        for row in self.gateway.stats.log_rows():
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["at"]))
            writer.writerow([stamp, _cell(row["label"]), row["path"], row["status"],
                             row["served"], "" if row["charged"] is None else row["charged"],
                             "" if row["waited"] is None else f"{row['waited']:.3f}",
                             "" if row["claimed"] is None else row["claimed"]])
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="gateway-log.csv"')
        self.finish(out.getvalue())


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite number (a seat made with ``inf`` credits by an older
    gateway or by hand) as ``None``: ``Infinity`` is not JSON, and the page's ``JSON.parse``
    would fail on it for every seat."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def admin_routes(gateway: Gateway, check: AdminCheck, login: type | None = None) -> list[Any]:
    """The admin page's tornado routes for ``gateway``, behind ``check``; ``login``: a mixin
    whose ``login()`` is another way in (`hub.admin_login`: a hub admin through the hub's
    login)."""
    args = {"gateway": gateway, "check": check}
    handlers = [_Page, _Stats, _Log]
    if login is not None:
        handlers = [type(cls.__name__, (login, cls), {}) for cls in handlers]
    page, stats, log = handlers
    return [(ADMIN_PATH, page, args), (ADMIN_PATH + "/stats.json", stats, args),
            (ADMIN_PATH + "/log.csv", log, args)]
