"""``clipdrop-widgets gateway``: seats (add, import, list, revoke, restore, reissue, topup,
limit) and serve.

``seats add`` and ``seats import`` print one ``LABEL<TAB>SEAT_KEY`` line per seat on stdout (with
``<TAB>NAME`` for a roster), ``seats reissue`` one for the seat: the only time a key is shown;
every notice goes to stderr, so ``> seats.tsv`` keeps exactly the keys.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract.endpoints import ENDPOINTS
from .bodies import DEFAULT_BODY_MEMORY

__all__ = ["add_gateway_parser", "parse_duration"]

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``45m``, ``6h``, ``2d`` as seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"a duration is a positive number with s, m, h or d (6h, 90m), got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _positive(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return int(text)


def _non_negative(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def _megabytes(text: str) -> int:
    """``--body-memory``: a whole number of megabytes (MiB), at least 1, as bytes."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"the room's body memory is a whole number of megabytes >= 1 (128 by default), "
            f"got {text!r}")
    return int(text) * 1024 * 1024


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _guard(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``run``, with a refused seat action (unknown label, bad roster) as one line and exit 1."""
    def guarded(args: argparse.Namespace) -> int:
        from ..contract.errors import ClipdropError

        try:
            return run(args)
        except (ClipdropError, OSError) as err:
            _say(f"clipdrop-widgets gateway seats {args.action}: "
                 f"{err.args[0] if err.args else err}")
            return 1
    return guarded


def _seats_add(args: argparse.Namespace) -> int:
    from .ledger import Ledger

    with Ledger(args.db) as ledger:
        made = ledger.create_seats(args.count, args.credits, label=args.label,
                                   expires_in=args.expires)
    for label, key in made:
        print(f"{label}\t{key}", flush=True)
    _say(f"{len(made)} seats with {args.credits:g} credits each added to {args.db}; the keys "
         "above are shown only now (the database keeps a hash).")
    return 0


def _seats_import(args: argparse.Namespace) -> int:
    from .ledger import Ledger
    from .roster import read_roster

    roster = read_roster(args.roster)
    if not roster:
        _say(f"{args.roster} lists no one; nothing added")
        return 1
    rows = [(r.label, r.contact, args.credits if r.credits is None else r.credits)
            for r in roster]
    with Ledger(args.db) as ledger:
        made = ledger.add_seats(rows, label=args.label, expires_in=args.expires)
    for (label, key), row in zip(made, roster, strict=True):
        print(f"{label}\t{key}\t{row.contact}", flush=True)
    _say(f"{len(made)} seats from {args.roster} added to {args.db}; the keys above are shown "
         "only now (the database keeps a hash).")
    return 0


#: Characters an admin token read from a file must have at least (the page's own are 43).
MIN_ADMIN_TOKEN = 16


def _seats_reissue(args: argparse.Namespace) -> int:
    from .ledger import Ledger

    with Ledger(args.db) as ledger:
        was_revoked = any(s.label == args.label and s.revoked is not None
                          for s in ledger.seats())
        key = ledger.reissue(args.label)
    print(f"{args.label}\t{key}", flush=True)
    _say(f"{args.label} has a new key (same seat and balance); its old key no longer works"
         + (f". {args.label} was revoked: the new key works, so the seat is in use again "
            f"(to keep it out: clipdrop-widgets gateway seats revoke {args.label})"
            if was_revoked else ""))
    return 0


def _seats_restore(args: argparse.Namespace) -> int:
    from .hub import hub_seat_ids
    from .ledger import Ledger
    from .server import seat_usage

    with Ledger(args.db) as ledger:
        seat = ledger.restore(args.label)
        hub = seat.id in hub_seat_ids(ledger)
    print(seat_usage(seat, hub=hub))
    _say(f"{args.label} restored: " + ("the hub user's token works again from the next request"
                                       if hub else "its key works again from the next request"))
    return 0


def _seats_limit(args: argparse.Namespace) -> int:
    from .ledger import Ledger
    from .server import seat_usage

    with Ledger(args.db) as ledger:
        seat = ledger.set_limits(args.label, parallel=args.parallel, rpm=args.rpm,
                                 clear=args.clear)
    print(seat_usage(seat))
    return 0


def _seats_list(args: argparse.Namespace) -> int:
    from .hub import hub_seat_ids
    from .ledger import Ledger
    from .server import seat_usage

    with Ledger(args.db) as ledger:
        seats = ledger.seats()
        hub = hub_seat_ids(ledger)
    for seat in seats:
        print(seat_usage(seat, hub=seat.id in hub))
    if not seats:
        _say(f"no seats in {args.db}; add some with: clipdrop-widgets gateway seats add")
    return 0


def _seats_revoke(args: argparse.Namespace) -> int:
    from .ledger import Ledger

    with Ledger(args.db) as ledger:
        ledger.revoke(args.label)
    _say(f"{args.label} revoked; a running gateway refuses its key from the next request")
    return 0


def _seats_topup(args: argparse.Namespace) -> int:
    from .ledger import Ledger
    from .server import seat_usage

    with Ledger(args.db) as ledger:
        labels = [s.label for s in ledger.seats()] if args.all else args.labels
        if not labels:
            _say("name the seats to top up, or give --all")
            return 2
        for label in labels:
            print(seat_usage(ledger.topup(label, args.credits)))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .server import serve_gateway

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    key = None
    if args.upstream_key_file is not None:
        key = Path(args.upstream_key_file).read_text(encoding="utf-8").strip()
        if not key:
            _say(f"clipdrop-widgets gateway serve: {args.upstream_key_file} is empty")
            return 2
    admin = None
    if args.admin_token_file is not None:
        admin = Path(args.admin_token_file).read_text(encoding="utf-8").strip()
        if len(admin) < MIN_ADMIN_TOKEN:
            _say(f"clipdrop-widgets gateway serve: the admin token in {args.admin_token_file} "
                 f"has {len(admin)} characters; it needs at least {MIN_ADMIN_TOKEN} (anyone "
                 "who reaches the gateway could guess a short one and open the admin page)")
            return 2
    try:
        serve_gateway(args.db, host=args.host, port=args.port, upstream=args.upstream,
                      upstream_key=key, requests_per_minute=args.requests_per_minute,
                      seat_rpm=args.seat_rpm, shared_cache=not args.no_shared_cache,
                      upstream_limit_scope=args.upstream_limit_scope,
                      seat_parallel=args.seat_parallel, admin_token=admin,
                      body_memory=args.body_memory, hub=_hub_policy(args))
    except ValueError as err:
        _say(f"clipdrop-widgets gateway serve: {err}")
        return 2
    except OSError as err:
        _say(f"clipdrop-widgets gateway serve: cannot listen on {args.host}:{args.port}: "
             f"{err.strerror or err}")
        return 1
    return 0


def _hub_policy(args: argparse.Namespace) -> Any:
    """The ``--hub`` options as a `HubPolicy`, or ``None`` without ``--hub``."""
    if not (args.hub or args.hub_group or args.hub_roster):
        return None
    from .hub import DEFAULT_HUB_CREDITS, HubPolicy, read_roster

    credits = DEFAULT_HUB_CREDITS if args.hub_credits is None else args.hub_credits
    roster = None if args.hub_roster is None else read_roster(args.hub_roster, credits=credits)
    return HubPolicy(credits=credits, group=args.hub_group, roster=roster,
                     timeout=args.hub_timeout, service_access=not args.hub_any_token,
                     roster_file=args.hub_roster)


def _add_hub_options(serve: argparse.ArgumentParser) -> None:
    from .hub import DEFAULT_HUB_TIMEOUT

    hub = serve.add_argument_group(
        "JupyterHub", "serve as a JupyterHub service: a hub user's API token is their seat key "
                      "(docs: Running a workshop on JupyterHub)")
    hub.add_argument("--hub", action="store_true",
                     help="accept hub users' tokens, checked with the hub ($JUPYTERHUB_API_URL, "
                          "the service's $JUPYTERHUB_API_TOKEN)")
    hub.add_argument("--hub-credits", type=_non_negative, metavar="N",
                     help="credits of a hub user's seat, made on first use (default 20)")
    hub.add_argument("--hub-timeout", type=_positive_seconds, metavar="S",
                     default=DEFAULT_HUB_TIMEOUT,
                     help="seconds to wait for the hub to check a token before answering 502, "
                          f"nothing charged (default {DEFAULT_HUB_TIMEOUT:g})")
    hub.add_argument("--hub-any-token", action="store_true",
                     help="accept any token the hub says is a user's, even one without "
                          "access:services!service=NAME (default: that scope is required)")
    hub.add_argument("--hub-group", metavar="GROUP",
                     help="only members of this hub group get a seat (implies --hub)")
    hub.add_argument("--hub-roster", metavar="PATH",
                     help="only these users get a seat: one NAME [CREDITS] a line "
                          "(implies --hub)")


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="the seats database (SQLite file)")


def _add_seats(commands: Any) -> None:
    seats = commands.add_parser("seats", help="add, list, revoke or top up seats")
    actions = seats.add_subparsers(title="actions", dest="action", required=True)
    add = actions.add_parser("add", help="create seats; prints LABEL<TAB>KEY per seat")
    _db(add)
    add.add_argument("--count", type=int, required=True, help="how many seats")
    add.add_argument("--credits", type=_non_negative, required=True,
                     help="credits each seat may spend")
    add.add_argument("--label", default="seat", help="label prefix (default: %(default)s)")
    add.add_argument("--expires", type=parse_duration, metavar="DURATION",
                     help="keys stop working after this long (6h, 90m, 2d); default the "
                          "room's expiry (the latest of its seats'), else never")
    add.set_defaults(run=_guard(_seats_add))
    listing = actions.add_parser("list", help="each seat's spend, balance, requests, last use")
    _db(listing)
    listing.set_defaults(run=_guard(_seats_list))
    revoke = actions.add_parser("revoke", help="revoke one seat's key")
    _db(revoke)
    revoke.add_argument("label", help="the seat's label (seat-03)")
    revoke.set_defaults(run=_guard(_seats_revoke))
    topup = actions.add_parser("topup", help="give seats more credits")
    _db(topup)
    topup.add_argument("labels", nargs="*", help="the seats' labels")
    topup.add_argument("--all", action="store_true", help="every seat")
    topup.add_argument("--credits", type=_positive, required=True, help="credits to add")
    topup.set_defaults(run=_guard(_seats_topup))
    _add_seats_more(actions)


def _add_seats_more(actions: Any) -> None:
    imported = actions.add_parser(
        "import", help="one seat per person of a roster CSV (a name or email column)")
    _db(imported)
    imported.add_argument("roster", help="CSV with a header: name or email; optional label, "
                                         "credits")
    imported.add_argument("--credits", type=_non_negative, required=True,
                          help="credits of each seat whose row gives none")
    imported.add_argument("--label", default="seat", help="label prefix for rows without one")
    imported.add_argument("--expires", type=parse_duration, metavar="DURATION",
                          help="keys stop working after this long; default the room's expiry")
    imported.set_defaults(run=_guard(_seats_import))
    restore = actions.add_parser("restore", help="undo revoke: the same key or hub user works "
                                                 "again, same balance")
    _db(restore)
    restore.add_argument("label", help="the seat's label (a hub user's name for theirs)")
    restore.set_defaults(run=_guard(_seats_restore))
    reissue = actions.add_parser("reissue", help="a new key for a seat: same seat and balance "
                                                 "(not for a hub user's seat: see restore)")
    _db(reissue)
    reissue.add_argument("label", help="the seat's label")
    reissue.set_defaults(run=_guard(_seats_reissue))
    limit = actions.add_parser("limit", help="one seat's calls in flight and rate, while "
                                             "the gateway runs")
    _db(limit)
    limit.add_argument("label", help="the seat's label")
    limit.add_argument("--parallel", type=_count, help="calls in flight at once")
    limit.add_argument("--rpm", type=_positive, help="requests per minute")
    limit.add_argument("--clear", action="store_true", help="back to the room's limits")
    limit.set_defaults(run=_guard(_seats_limit))


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="serve the ClipDrop endpoints to seat keys",
        description=f"Serve the {len(ENDPOINTS)} ClipDrop endpoints to participants holding seat "
                    "keys. The "
                    "room's key comes from $CLIPDROP_API_KEY (or --upstream-key-file) and is "
                    "sent only upstream; with neither a key nor --upstream, the upstream is the "
                    "local engine (offline previews) for rehearsing.")
    _db(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8770, help="TCP port (default: %(default)s)")
    serve.add_argument("--upstream", metavar="URL",
                       help="the service (default $CLIPDROP_API_URL, else "
                            "https://clipdrop-api.co with a key, else local://engine)")
    serve.add_argument("--upstream-key-file", metavar="PATH",
                       help="read the room's key from this file instead of $CLIPDROP_API_KEY")
    serve.add_argument("--requests-per-minute", type=_positive, metavar="R",
                       help="the room's upstream rate (default the documented 60; text "
                            "inpainting gets half)")
    serve.add_argument("--seat-rpm", type=_positive, metavar="S",
                       help="most requests per minute per seat (default no cap)")
    serve.add_argument("--upstream-limit-scope", choices=["key", "operation"], default="key",
                       help="what the upstream's rate limit counts: the whole key (default, "
                            "the safe reading of the documented 'per key') or each operation")
    serve.add_argument("--seat-parallel", type=_count, default=2, metavar="N",
                       help="calls one seat may have in flight; its others wait behind them "
                            "and take a slot only when no other seat waits for it (default: "
                            "%(default)s)")
    serve.add_argument("--body-memory", type=_megabytes, metavar="MB",
                       default=DEFAULT_BODY_MEMORY,
                       help="megabytes of uploads parsed at once, room-wide; bigger uploads "
                            "wait on disk for their turn, prompts never wait (default: "
                            f"{DEFAULT_BODY_MEMORY // (1024 * 1024)})")
    serve.add_argument("--admin-token-file", metavar="PATH",
                       help="the admin page's token, read from this file, at least "
                            f"{MIN_ADMIN_TOKEN} characters (default a new one, printed at "
                            "start)")
    serve.add_argument("--no-shared-cache", action="store_true",
                       help="send identical requests upstream each time")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"],
                       help="log detail on stderr (default: %(default)s)")
    _add_hub_options(serve)
    serve.set_defaults(run=_serve)


def add_gateway_parser(commands: Any) -> None:
    """Register ``gateway`` and its subcommands on ``commands`` (an argparse subparsers)."""
    gateway = commands.add_parser(
        "gateway", help="a workshop gateway: one key for the room, a budget per seat",
        description="Give each participant a seat key with a budget; the room's key stays on "
                    "this machine.")
    sub = gateway.add_subparsers(title="commands", dest="gateway_command", required=True)
    _add_seats(sub)
    _add_serve(sub)
