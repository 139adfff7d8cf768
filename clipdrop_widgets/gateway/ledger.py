"""The seats and their credits, on SQLite (WAL): what a crash can never undo.

A seat key is shown once, when the seat is made; the database keeps only its SHA-256 (the keys
are 192 random bits, so a fast hash is enough). The upstream key is never written here.

Money moves in two steps. `Ledger.reserve` writes a ``reserved`` charge, in one transaction with
the seat's ``reserved`` total, just before a call goes upstream; `Ledger.settle` turns it into a
``settled`` charge of what the upstream reported (``x-credits-consumed``), or `Ledger.release`
gives it back when the upstream refused the call. Just before the last byte of a call's request
goes out, `Ledger.mark_sent` records that the upstream may now have it whole. A seat's balance
counts reservations as spent, so a process killed mid-call gives nothing back it may owe;
`Ledger.recover` (run when a gateway starts) settles such orphans at the amount reserved, and
releases those never marked sent: the upstream cannot have processed a request it never received
in full. A reservation is made only when the seat's balance covers it, and a settled charge
above what the seat had left takes the seat to 0, never below (the charge row keeps what the
upstream took). Every commit is in the WAL file before the call goes on, so a settled charge
survives a SIGKILL of the process.

Credits are the service's units (``float``); times are Unix seconds (``float``).
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..contract.errors import ConfigurationError, NotFoundError
from .roster import CONTACT_LIMIT, check_text

__all__ = ["Ledger", "Seat", "hash_key", "new_seat_key"]

#: Seat keys start with this, so a key pasted in the wrong place is recognisable.
SEAT_KEY_PREFIX = "cdw-seat-"
_BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seats (
    id        INTEGER PRIMARY KEY,
    label     TEXT NOT NULL UNIQUE,
    key_hash  TEXT NOT NULL UNIQUE,
    credits   REAL NOT NULL,             -- granted: at creation plus top-ups
    spent     REAL NOT NULL DEFAULT 0,   -- settled charges
    reserved  REAL NOT NULL DEFAULT 0,   -- charges sent upstream, not yet settled
    requests  INTEGER NOT NULL DEFAULT 0,
    created   REAL NOT NULL,
    expires   REAL,
    revoked   REAL,
    last_used REAL
);
CREATE TABLE IF NOT EXISTS charges (
    id       INTEGER PRIMARY KEY,
    seat_id  INTEGER NOT NULL REFERENCES seats(id),
    path     TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('reserved', 'settled', 'released', 'cached')),
    reserved REAL NOT NULL,
    amount   REAL NOT NULL DEFAULT 0,
    status   INTEGER,
    created  REAL NOT NULL,
    settled  REAL
);
CREATE INDEX IF NOT EXISTS charges_by_seat ON charges (seat_id, created);
"""
#: Columns added after the first release (a database made before gets them on open).
_ADDED_COLUMNS = {"seats": {"parallel": "INTEGER", "rpm": "REAL", "contact": "TEXT"},
                  "charges": {"sent": "REAL"}}


def new_seat_key() -> str:
    """A fresh seat key: the prefix and 32 URL-safe characters (192 random bits)."""
    return SEAT_KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    """The SHA-256 of ``key`` (hex): what the database stores and looks keys up by."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _identity(identity: str) -> str:
    """``identity`` as stored in ``key_hash``: it must hold a colon (a SHA-256 hex digest has
    none), so no seat key can ever open an identity's seat."""
    if ":" not in identity:
        raise ConfigurationError(f"an identity must contain ':' (such as hub-user:NAME), got "
                                 f"{identity!r}")
    return identity


@dataclass(frozen=True)
class Seat:
    """One seat as the ledger holds it (credits in service units, times in Unix seconds)."""

    id: int
    label: str
    credits: float
    spent: float
    reserved: float
    requests: int
    created: float
    expires: float | None
    revoked: float | None
    last_used: float | None
    #: The seat's own cap on calls in flight and requests per minute (``None``: the room's).
    parallel: int | None = None
    rpm: float | None = None
    #: Who sits there (a name or e-mail from the roster), or ``None``.
    contact: str | None = None

    @property
    def remaining(self) -> float:
        """Credits left: granted minus settled minus reserved."""
        return self.credits - self.spent - self.reserved

    def refusal(self, now: float | None = None) -> str | None:
        """Why this seat may not call (revoked, expired), or ``None`` when it may."""
        now = time.time() if now is None else now
        if self.revoked is not None:
            return f"the key of {self.label} was revoked"
        if self.expires is not None and now >= self.expires:
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.expires))
            return f"the key of {self.label} expired at {stamp}"
        return None


def refuse_hard_links(path: str) -> None:
    """Refuse a database file with more than one name (hard links).

    SQLite keeps a database's write-ahead log beside the name it was opened by
    (``NAME-wal``): under a second name a command or a restarted gateway sees neither the
    other name's log nor its locks, so top-ups vanish and charges made before a crash can be
    spent again (att23 #1). A symbolic link is fine: SQLite follows it to the one name.
    """
    try:
        names = os.stat(path).st_nlink
    except OSError:
        return  # not there yet: it will be made with one name
    if names > 1:
        raise ConfigurationError(
            f"{os.path.basename(path)} has {names} names (hard links): one ledger file must "
            "have one name, as SQLite keeps its journal beside the name it is opened by and "
            "two names would keep two journals and lose charges. Keep the name the gateway "
            "served (its journal, NAME-wal, if any, is beside it) and remove the other name "
            "(or make a copy instead of a link); after a crash, do not rename or remove the "
            "served name before a gateway or `seats list` has opened it once under that name")


class Ledger:
    """The seats database at ``path`` (created if missing). Thread-safe; many processes may
    open the same file (the CLI revokes or tops up while a gateway runs).
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        refuse_hard_links(self.path)
        self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL: a commit is in the WAL file (the OS's cache) before it returns, so a
            # killed process loses nothing; only a power cut could undo the last commits.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
            for table, columns in _ADDED_COLUMNS.items():
                have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in have:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- seats ---------------------------------------------------------------------------
    def create_seats(self, count: int, credits: float, *, label: str = "seat",
                     expires_in: float | None = None,
                     contacts: list[str | None] | None = None) -> list[tuple[str, str]]:
        """Make ``count`` seats with ``credits`` each; returns ``(label, key)`` pairs.

        Labels are ``LABEL-01``, ``LABEL-02``... continuing after the highest number in use.
        ``expires_in`` is seconds from now (``None``: the room's expiry, the latest of its
        seats' that is still ahead, else never). ``contacts``: who sits at each new seat (a
        name or e-mail, or ``None``), one per seat. The keys are not kept.
        """
        if count < 1:
            raise ConfigurationError(f"count must be 1 or more, got {count}")
        check_text(label)
        rows = [(None, c, credits) for c in (contacts or [None] * count)]
        if len(rows) != count:
            raise ConfigurationError(f"{len(rows)} contacts for {count} seats")
        return self.add_seats(rows, label=label, expires_in=expires_in)

    def add_seats(self, rows: list[tuple[str | None, str | None, float]], *,
                  label: str = "seat", expires_in: float | None = None
                  ) -> list[tuple[str, str]]:
        """Make one seat per ``(label, contact, credits)`` row (a ``None`` label numbered from
        ``label``); returns ``(label, key)`` pairs. See `create_seats` for ``expires_in``."""
        now = time.time()
        made = []
        with self._write() as db:
            expires = now + expires_in if expires_in is not None else self._room_expiry(db, now)
            taken = {row[0] for row in db.execute("SELECT label FROM seats")}
            number = 1
            for named, contact, credits in rows:
                if not (math.isfinite(credits) and credits >= 0):
                    raise ConfigurationError(f"credits must be a finite number >= 0, got "
                                             f"{credits}")
                if named is None:
                    while f"{label}-{number:02d}" in taken:
                        number += 1
                    named = f"{label}-{number:02d}"
                elif check_text(named) in taken:
                    raise ConfigurationError(f"a seat called {named!r} already exists")
                if contact is not None:
                    contact = check_text(contact, what="name", limit=CONTACT_LIMIT, spaces=True)
                taken.add(named)
                key = new_seat_key()
                db.execute("INSERT INTO seats (label, key_hash, credits, created, expires, "
                           "contact) VALUES (?, ?, ?, ?, ?, ?)",
                           (named, hash_key(key), credits, now, expires, contact))
                made.append((named, key))
        return made

    @staticmethod
    def _room_expiry(db: sqlite3.Connection, now: float) -> float | None:
        """When the room's seats stop working (the latest expiry still ahead), or ``None``."""
        row = db.execute("SELECT MAX(expires) FROM seats WHERE revoked IS NULL").fetchone()
        return row[0] if row and row[0] is not None and row[0] > now else None

    def reissue(self, label: str) -> str:
        """A new key for the seat called ``label``: same seat, balance and history; the old key
        (and a revocation) no longer applies. Returns the new key (shown once)."""
        key = new_seat_key()
        with self._write() as db:
            row = db.execute("SELECT key_hash FROM seats WHERE label = ?", (label,)).fetchone()
            if row is not None and ":" in row[0]:  # an identity's seat (a hub user's)
                kind = row[0].partition(":")[0]
                who = "a JupyterHub user's seat" if kind == "hub-user" else f"a {kind} seat"
                raise ConfigurationError(
                    f"{label} is {who}: it has no key "
                    "(they sign in with their own account), so none is issued; to let a "
                    f"revoked one back in, run: clipdrop-widgets gateway seats restore {label}")
            if db.execute("UPDATE seats SET key_hash = ?, revoked = NULL WHERE label = ?",
                          (hash_key(key), label)).rowcount == 0:
                self._missing(db, label)
        return key

    def restore(self, label: str) -> Seat:
        """Undo `revoke` of the seat called ``label``: the same key (or, for a hub user's seat,
        the same hub user) works again, with the same balance. Returns the seat."""
        with self._write() as db:
            if db.execute("UPDATE seats SET revoked = NULL WHERE label = ? AND revoked IS NOT "
                          "NULL", (label,)).rowcount == 0:
                if db.execute("SELECT 1 FROM seats WHERE label = ?", (label,)).fetchone():
                    raise ConfigurationError(f"{label} is not revoked")
                self._missing(db, label)
        return next(s for s in self.seats() if s.label == label)

    def set_limits(self, label: str, *, parallel: int | None = None, rpm: float | None = None,
                   clear: bool = False) -> Seat:
        """Set the seat's own cap on calls in flight and requests per minute (``None`` keeps
        one; ``clear`` returns both to the room's). A running gateway applies them from the
        seat's next call. Returns the seat as it now stands."""
        if parallel is not None and parallel < 1:
            raise ConfigurationError(f"parallel must be 1 or more, got {parallel}")
        if rpm is not None and not 0 < rpm < float("inf"):
            raise ConfigurationError(f"rpm must be a number > 0, got {rpm}")
        with self._write() as db:
            if clear:
                changed = db.execute("UPDATE seats SET parallel = NULL, rpm = NULL "
                                     "WHERE label = ?", (label,)).rowcount
            else:
                changed = db.execute("UPDATE seats SET parallel = COALESCE(?, parallel), "
                                     "rpm = COALESCE(?, rpm) WHERE label = ?",
                                     (parallel, rpm, label)).rowcount
            if changed == 0:
                self._missing(db, label)
        return next(s for s in self.seats() if s.label == label)

    _SEAT_COLUMNS = ("id, label, credits, spent, reserved, requests, created, expires, revoked, "
                     "last_used, parallel, rpm, contact")

    def seat_for_key(self, key: str) -> Seat | None:
        """The seat whose key is ``key``, or ``None`` (the key itself is never stored)."""
        rows = self._read(f"SELECT {self._SEAT_COLUMNS} FROM seats WHERE key_hash = ?",
                          (hash_key(key),))
        return Seat(*rows[0]) if rows else None

    # -- seats of identities checked elsewhere (a JupyterHub user) -----------------------
    def seat_for_identity(self, identity: str) -> Seat | None:
        """The seat made for ``identity`` by `add_identity_seat`, or ``None``."""
        rows = self._read(f"SELECT {self._SEAT_COLUMNS} FROM seats WHERE key_hash = ?",
                          (_identity(identity),))
        return Seat(*rows[0]) if rows else None

    def identity_seats(self, prefix: str) -> list[Seat]:
        """The seats of identities starting with ``prefix`` (``hub-user:``), in label order."""
        prefix = _identity(prefix)
        rows = self._read(f"SELECT {self._SEAT_COLUMNS} FROM seats WHERE substr(key_hash, 1, ?) "
                          "= ? ORDER BY label", (len(prefix), prefix))
        return [Seat(*row) for row in rows]

    def add_identity_seat(self, identity: str, label: str, credits: float) -> Seat | None:
        """A seat for ``identity`` (someone another system vouches for, such as
        ``hub-user:alice``), labelled ``label``, with ``credits`` and the room's expiry like
        any seat added late (see `create_seats`). No key opens it: the identity is stored where
        a key's SHA-256 goes, and its colon keeps it from ever equalling one.

        Returns the identity's seat (also when a concurrent first call made it just before),
        or ``None`` when another seat already has ``label``.
        """
        if not (math.isfinite(credits) and credits >= 0):
            raise ConfigurationError(f"credits must be a finite number >= 0, got {credits}")
        now = time.time()
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO seats (label, key_hash, credits, created, expires) "
                       "VALUES (?, ?, ?, ?, ?)", (label, _identity(identity), credits, now,
                                                  self._room_expiry(db, now)))
        return self.seat_for_identity(identity)

    def seat(self, seat_id: int) -> Seat:
        """The seat numbered ``seat_id``; ``KeyError`` if there is none."""
        rows = self._read(f"SELECT {self._SEAT_COLUMNS} FROM seats WHERE id = ?", (seat_id,))
        if not rows:
            raise NotFoundError(f"no seat with id {seat_id}")
        return Seat(*rows[0])

    def seats(self) -> list[Seat]:
        """Every seat, in label order."""
        rows = self._read(f"SELECT {self._SEAT_COLUMNS} FROM seats ORDER BY label")
        return [Seat(*row) for row in rows]

    def revoke(self, label: str) -> None:
        """Revoke the seat called ``label`` (a running gateway refuses it from its next call)."""
        with self._write() as db:
            if db.execute("UPDATE seats SET revoked = ? WHERE label = ? AND revoked IS NULL",
                          (time.time(), label)).rowcount == 0:
                self._missing(db, label)

    def topup(self, label: str, credits: float) -> Seat:
        """Give the seat called ``label`` ``credits`` more; returns it as it now stands."""
        if credits <= 0:
            raise ConfigurationError(f"credits must be more than 0, got {credits}")
        with self._write() as db:
            if db.execute("UPDATE seats SET credits = credits + ? WHERE label = ?",
                          (credits, label)).rowcount == 0:
                self._missing(db, label)
        return next(s for s in self.seats() if s.label == label)

    @staticmethod
    def _missing(db: sqlite3.Connection, label: str) -> None:
        if db.execute("SELECT 1 FROM seats WHERE label = ?", (label,)).fetchone():
            raise ConfigurationError(f"{label} is already revoked")
        known = [row[0] for row in db.execute("SELECT label FROM seats ORDER BY label LIMIT 5")]
        raise NotFoundError(f"no seat called {label!r}" +
                       (f"; seats are {', '.join(known)}..." if known else "; no seats yet"))

    # -- money ---------------------------------------------------------------------------
    def reserve(self, seat_id: int, path: str, credits: float) -> int | None:
        """Hold ``credits`` of the seat for one upstream call; returns the charge's id, or
        ``None`` (nothing held) when the seat's balance does not cover them."""
        now = time.time()
        with self._write() as db:
            if db.execute("SELECT 1 FROM seats WHERE id = ? AND credits - spent - reserved >= ?",
                          (seat_id, credits - 1e-9)).fetchone() is None:
                return None
            cursor = db.execute("INSERT INTO charges (seat_id, path, state, reserved, created) "
                                "VALUES (?, ?, 'reserved', ?, ?)", (seat_id, path, credits, now))
            db.execute("UPDATE seats SET reserved = reserved + ?, requests = requests + 1, "
                       "last_used = ? WHERE id = ?", (credits, now, seat_id))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def settle(self, charge_id: int, credits: float, status: int = 200) -> float:
        """Charge ``credits`` (what the upstream consumed) for a reserved call; the credits
        the seat was charged (less than ``credits`` when its balance ran out)."""
        return self._close_charge(charge_id, "settled", credits, status)

    def release(self, charge_id: int, status: int) -> None:
        """Give a reserved call's credits back: the upstream refused it and charged nothing."""
        self._close_charge(charge_id, "released", 0.0, status)

    def _close_charge(self, charge_id: int, state: str, credits: float, status: int) -> float:
        with self._write() as db:
            row = db.execute("SELECT charges.seat_id, charges.reserved, MAX(0, seats.credits - "
                             "seats.spent - seats.reserved) FROM charges JOIN seats ON "
                             "seats.id = charges.seat_id WHERE charges.id = ? AND "
                             "charges.state = 'reserved'", (charge_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"charge {charge_id} is not reserved")
            seat_id, reserved, free = row
            db.execute("UPDATE charges SET state = ?, amount = ?, status = ?, settled = ? "
                       "WHERE id = ?", (state, credits, status, time.time(), charge_id))
            # The seat pays at most what it has: its reservation plus its free balance.
            db.execute("UPDATE seats SET spent = spent + MIN(?, MAX(0, credits - spent - "
                       "reserved) + ?), reserved = reserved - ? WHERE id = ?",
                       (credits, reserved, reserved, seat_id))
            self._recount_reserved(db, seat_id)
        return min(credits, free + reserved)

    @staticmethod
    def _recount_reserved(db: sqlite3.Connection, seat_id: int) -> None:
        """Set the seat's ``reserved`` to the sum of its open charges: subtracting floats
        (4.18611 - 4.18611...) left residues such as -1.8e-15, shown to participants."""
        db.execute("UPDATE seats SET reserved = (SELECT COALESCE(SUM(reserved), 0) FROM charges "
                   "WHERE seat_id = ? AND state = 'reserved') WHERE id = ?", (seat_id, seat_id))

    def record_hit(self, seat_id: int, path: str) -> None:
        """Count a request answered from the shared cache (it costs nothing)."""
        now = time.time()
        with self._write() as db:
            db.execute("INSERT INTO charges (seat_id, path, state, reserved, status, created, "
                       "settled) VALUES (?, ?, 'cached', 0, 200, ?, ?)",
                       (seat_id, path, now, now))
            db.execute("UPDATE seats SET requests = requests + 1, last_used = ? WHERE id = ?",
                       (now, seat_id))

    def mark_sent(self, charge_id: int) -> None:
        """The call's request is about to go out whole: from now on a crash keeps it charged."""
        with self._write() as db:
            db.execute("UPDATE charges SET sent = ? WHERE id = ?", (time.time(), charge_id))

    def recover(self) -> tuple[int, int]:
        """Close the reservations a crashed gateway left open; returns (settled, released).

        A call marked sent may have reached the upstream and been paid there: settled at the
        amount reserved, never given back. A call never marked sent did not leave whole (the
        gateway died before its last byte): the upstream cannot have processed it, so it is
        released.
        """
        with self._write() as db:
            orphans = db.execute("SELECT id, seat_id, reserved, sent FROM charges "
                                 "WHERE state = 'reserved'").fetchall()
            now = time.time()
            settled = 0
            for charge_id, seat_id, reserved, sent in orphans:
                paid = reserved if sent is not None else 0.0
                db.execute("UPDATE charges SET state = ?, amount = ?, settled = ? WHERE id = ?",
                           ("settled" if sent is not None else "released", paid, now,
                            charge_id))
                db.execute("UPDATE seats SET reserved = reserved - ?, spent = spent + ? "
                           "WHERE id = ?", (reserved, paid, seat_id))
                self._recount_reserved(db, seat_id)
                settled += sent is not None
        return settled, len(orphans) - settled

    # -- reading ---------------------------------------------------------------------------
    def total_charged(self) -> float:
        """Credits settled or reserved across all seats (what the room's account paid)."""
        rows = self._read("SELECT COALESCE(SUM(CASE state WHEN 'reserved' THEN reserved "
                          "ELSE amount END), 0) FROM charges WHERE state IN ('settled', "
                          "'reserved')")
        return float(rows[0][0])

    def spend_history(self) -> list[tuple[float, str, float]]:
        """Every paid call as ``(time, seat label, credits)``, oldest first."""
        return [(float(t), label, float(amount)) for t, label, amount in self._read(
            "SELECT COALESCE(c.settled, c.created), s.label, "
            "CASE c.state WHEN 'reserved' THEN c.reserved ELSE c.amount END "
            "FROM charges c JOIN seats s ON s.id = c.seat_id "
            "WHERE c.state IN ('settled', 'reserved') ORDER BY 1")]
