"""Crash-safe files: one atomic write and one append-only JSON log, shared by caches, sweeps
and sessions.

* `write_atomic` writes to a hidden temporary file beside the target
  (``.<name>.<pid>-<random>.tmp``: its writer's process id is in the name), syncs it,
  renames it over the target and syncs the folder: after a crash the target is either absent,
  the old file or the new one, never half of either.
* `write_new` does the same under a name no other file has: ``name.ext``, else
  ``name-2.ext``, ``name-3.ext``... (a file already there is never replaced).
* `append_jsonl` adds one JSON object as one line in one ``write`` to a file opened for
  appending, then flushes and syncs it: a kill leaves at worst a torn *last* line.
* `read_jsonl` reads such a log back, ignoring a torn last line; `repair_jsonl`
  cuts that line off before the next append, so it never glues onto a new record.

* `remove_stale_temporaries` removes the temporary files a killed writer left, and only
  those: a file whose writer still runs (another kernel on the same folder) is its own.

Nothing here holds a lock across processes: whole-line appends to a file opened with
``O_APPEND`` do not interleave on a local file system, and an atomic write's temporary name is
unique. Writers that also repair a log (sessions) serialise with a `filelock` of their own.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..contract.errors import RunLogError

__all__ = ["append_jsonl", "fsync_dir", "numbered_jsonl", "read_jsonl", "repair_jsonl",
           "remove_stale_temporaries", "temporaries_of", "write_atomic", "write_new",
           "TMP_GLOB"]

#: The names `write_atomic` gives its temporary files (a crash may leave one behind).
TMP_GLOB = ".*.tmp"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in folder ``path`` durable (a no-op where folders cannot be
    opened, as on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o666) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either as before or complete.

    The folder must exist. The temporary file is removed if writing fails. A new file gets
    permissions ``mode`` less the umask (default ``0o666``: as `open` makes them).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def write_new(folder: str | os.PathLike[str], stem: str, suffix: str, data: bytes, *,
              mode: int = 0o666) -> str:
    """Write ``data`` complete into ``folder`` under a name no file there has yet, and return
    it: ``stem + suffix``, else ``stem-2 + suffix``, ``stem-3 + suffix``... A file already
    there is never replaced, whatever wrote it (another process on the same folder too):
    the synced temporary file is hard-linked to the name, which fails if the name exists
    (without hard links: the name is reserved with ``O_EXCL`` first, `_claim`).
    """
    folder = Path(folder)
    tmp = folder / f".{stem}{suffix}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        n = 1
        while True:
            name = f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
            try:
                _claim(tmp, folder / name)
                break
            except FileExistsError:
                n += 1
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    fsync_dir(folder)
    return name


def _claim(tmp: Path, target: Path) -> None:
    """Give the complete file ``tmp`` the name ``target``, `FileExistsError` if taken: a
    hard link (atomic, exclusive); where the file system has none (FAT, some network
    shares), the name is reserved empty with ``O_EXCL`` and ``tmp`` renamed over it."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(tmp, target)


def append_jsonl(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Append ``record`` to the log at ``path`` as one line, synced before returning.

    The file is created if missing (and its folder synced, so the new name survives a crash).
    """
    line = json.dumps(dict(record), ensure_ascii=False, separators=(",", ":")) + "\n"
    path = Path(path)
    new = not path.exists()
    with open(path, "ab") as f:
        f.write(line.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    if new:
        fsync_dir(path.parent)


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of the log at ``path``, oldest first (``[]`` when there is no file).

    A torn last line (a kill mid-append) is ignored. Any other line that is not a JSON object
    (even one nested too deep to parse) raises `RunLogError` (a `ValueError`) naming the file
    and the line.
    """
    return [record for _, record in numbered_jsonl(path)]


def numbered_jsonl(path: str | os.PathLike[str], *,
                   skipped: list[int] | None = None) -> list[tuple[int, dict[str, Any]]]:
    """`read_jsonl`'s records with their line numbers (1 = the first line).

    With a ``skipped`` list, a line that is not a JSON object is left out and its number
    appended there instead of raising `RunLogError`.
    """
    data = _read_log(path)
    if data is None:
        return []
    records = []
    for number, line in enumerate(data.split(b"\n")[:-1], 1):  # the last piece: b"" or torn
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's stack
            record = None
        if not isinstance(record, dict):
            if skipped is not None:
                skipped.append(number)
                continue
            raise RunLogError(f"{path} line {number} is not a JSON record; the log was changed "
                              "by hand")
        records.append((number, record))
    return records


def _read_log(path: str | os.PathLike[str]) -> bytes | None:
    """The bytes of the log at ``path`` (``None``: no file). Opened without blocking and
    without following a link: a named pipe or a link put there by hand raises `RunLogError`
    instead of hanging the reader or reading another file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RunLogError(f"{path} cannot be read as a log ({err.strerror}: a link?)") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RunLogError(f"{path} is not a regular file; the log was changed by hand")
        return f.read()


def repair_jsonl(path: str | os.PathLike[str]) -> None:
    """Cut a torn last line off the log at ``path`` (nothing to do when it ends whole)."""
    try:
        with open(path, "rb+") as f:
            end = f.seek(0, os.SEEK_END)
            if end == 0 or (f.seek(end - 1) and f.read(1) == b"\n"):
                return  # whole (the common case: only the last byte is read)
            f.seek(0)
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
                f.flush()
                os.fsync(f.fileno())
    except FileNotFoundError:
        pass


#: Seconds after which a temporary file without a writer's process id in its name (written
#: by an older version) counts as left behind.
_LEGACY_TMP_SECONDS = 3600.0


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process: alive
    return True


def temporaries_of(path: str | os.PathLike[str]) -> str:
    """The glob of the temporary files `write_atomic` makes for ``path`` (in its folder)."""
    return f".{glob.escape(Path(path).name)}.*.tmp"


def remove_stale_temporaries(folder: str | os.PathLike[str], pattern: str = TMP_GLOB) -> int:
    """Remove the temporary files of `write_atomic` in ``folder`` whose writer no longer runs
    (a process of this machine killed mid-write); returns how many. A temporary file of a
    running process (another kernel writing to the same folder) is never touched. ``pattern``
    narrows it to one target's (`temporaries_of`: a user's folder holds other programs')."""
    removed = 0
    for tmp in Path(folder).glob(pattern):
        owner = tmp.name[:-len(".tmp")].rpartition(".")[2].partition("-")
        try:
            if owner[1] and owner[0].isdigit():
                if _writer_alive(int(owner[0])):
                    continue
            elif time.time() - tmp.stat().st_mtime < _LEGACY_TMP_SECONDS:
                continue
            tmp.unlink()
            removed += 1
        except OSError:
            continue
    return removed
