"""One gateway per seats database: a second ``serve`` on the same file refuses to start.

Two gateways on one ledger would each pace the room's key at the room's rate (twice the
upstream's limit) and settle each other's reservations. `ServeLock` holds an exclusive
``filelock`` lock beside the database (``DB.serve.lock``) for as long as the gateway serves,
and writes who holds it (pid, address) to ``DB.serve.json`` so a refused second start can name
the running one. The operating system drops the lock when the process dies, however it dies
(SIGKILL included): a restart after a crash is never refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock, Timeout

from ..contract.errors import ConfigurationError

__all__ = ["ServeLock", "GatewayRunningError"]


class GatewayRunningError(ConfigurationError):
    """Another gateway already serves this database."""


class ServeLock:
    """The right to serve the database at ``db`` (`acquire`, then `announce` the address)."""

    def __init__(self, db: str | os.PathLike[str]):
        path = Path(db).resolve()
        self._lock = FileLock(str(path) + ".serve.lock", timeout=0)
        self._info = Path(str(path) + ".serve.json")
        self._db = path

    def acquire(self) -> None:
        """Take the lock or raise `GatewayRunningError` naming the gateway that holds it."""
        try:
            self._lock.acquire()
        except Timeout:
            raise GatewayRunningError(
                f"another gateway already serves {self._db.name} ({self._holder()}); stop it "
                "first, or give this one its own --db") from None
        self._info.write_text(json.dumps({"pid": os.getpid(), "address": None}),
                              encoding="utf-8")

    def announce(self, address: str) -> None:
        """Record where this gateway listens, for a refused second start to name."""
        self._info.write_text(json.dumps({"pid": os.getpid(), "address": address}),
                              encoding="utf-8")

    def release(self) -> None:
        """Give the database up (idempotent)."""
        if self._lock.is_locked:
            self._info.unlink(missing_ok=True)
            self._lock.release()

    def _holder(self) -> str:
        try:
            info = json.loads(self._info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "pid unknown"
        address = info.get("address") or "an address not yet known"
        return f"pid {info.get('pid')}, listening on {address}"
