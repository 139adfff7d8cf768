"""One gateway per seats database: a second ``serve`` on the same file refuses to start,
whatever path reaches the file (the same path, a symbolic link, a hard link).

Two gateways on one ledger would each pace the room's key at the room's rate (twice the
upstream's limit) and settle each other's reservations; through a hard link they would even
keep two write-ahead logs of one database. `ServeLock` holds two exclusive locks for as long
as the gateway serves:

* by path: a ``filelock`` lock beside the database (``DB.serve.lock``), with who holds it
  (pid, address) in ``DB.serve.json``, so a refused second start on the same path can name
  the running one;
* by the file itself (its device and inode, not its name): on Linux an ``flock`` on the
  database file, which every name of the file shares (SQLite's own locks are ``fcntl`` locks,
  which Linux keeps apart from ``flock``); elsewhere (where the two kinds of lock may meet) a
  lock file named from the file's device and inode in the database's own folder
  (``.DEV-INODE.serve.lock``), which a symbolic link and a hard link in the same folder reach.

The operating system drops both when the process dies, however it dies (SIGKILL included): a
restart after a crash is never refused.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from filelock import FileLock, Timeout

from ..contract.errors import ConfigurationError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["ServeLock", "GatewayRunningError", "ONE_PER_FILE"]

#: The rule a second gateway on the same file under another name is told.
ONE_PER_FILE = ("one gateway per database file, whatever path reaches it (a hard link or a "
                "symbolic link is the same file)")
#: Whether the file's own ``flock`` is the lock by identity (see the module's docstring).
_FLOCK = fcntl is not None and sys.platform.startswith("linux")


class GatewayRunningError(ConfigurationError):
    """Another gateway already serves this database."""


class ServeLock:
    """The right to serve the database at ``db`` (`acquire`, then `announce` the address)."""

    def __init__(self, db: str | os.PathLike[str]):
        path = Path(db).resolve()
        self._lock = FileLock(str(path) + ".serve.lock", timeout=0)
        self._info = Path(str(path) + ".serve.json")
        self._db = path
        self._fd: int | None = None  # the database file, flocked (Linux)
        self._identity: FileLock | None = None  # the lock file named by identity (elsewhere)

    def acquire(self) -> None:
        """Take the lock or raise `GatewayRunningError` naming the gateway that holds it."""
        try:
            self._lock.acquire()
        except Timeout:
            raise GatewayRunningError(
                f"another gateway already serves {self._db.name} ({self._holder()}): "
                f"{ONE_PER_FILE}; stop it first, or give this one its own --db") from None
        try:
            self._take_the_file()
        except BaseException:
            self._lock.release()
            raise
        self._info.write_text(json.dumps({"pid": os.getpid(), "address": None}),
                              encoding="utf-8")

    def _take_the_file(self) -> None:
        """Lock the database file by its identity, or raise `GatewayRunningError`."""
        # An empty file is what SQLite makes of a new database anyway.
        fd = os.open(self._db, os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if _FLOCK:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise self._elsewhere() from None
                self._fd, fd = fd, -1
                return
            st = os.fstat(fd)
            identity = FileLock(str(self._db.parent / f".{st.st_dev}-{st.st_ino}.serve.lock"),
                                timeout=0)
            try:
                identity.acquire()
            except Timeout:
                raise self._elsewhere() from None
            self._identity = identity
        finally:
            if fd >= 0:
                os.close(fd)

    def _elsewhere(self) -> GatewayRunningError:
        return GatewayRunningError(
            f"another gateway already serves {self._db.name}'s file under another name: "
            f"{ONE_PER_FILE}; stop it first, or give this one its own --db")

    def announce(self, address: str) -> None:
        """Record where this gateway listens, for a refused second start to name."""
        self._info.write_text(json.dumps({"pid": os.getpid(), "address": address}),
                              encoding="utf-8")

    def release(self) -> None:
        """Give the database up (idempotent)."""
        if self._lock.is_locked:
            self._info.unlink(missing_ok=True)
            if self._fd is not None:
                os.close(self._fd)  # drops the flock
                self._fd = None
            if self._identity is not None:
                self._identity.release()
                self._identity = None
            self._lock.release()

    def _holder(self) -> str:
        try:
            info = json.loads(self._info.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "pid unknown"
        address = info.get("address") or "an address not yet known"
        return f"pid {info.get('pid')}, listening on {address}"
