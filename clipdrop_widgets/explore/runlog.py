"""A sweep's run log: one JSON line per finished item, the images beside it, a manifest.

Layout of a run folder::

    run_dir/
        sweep.json        the manifest: operation, items, input hashes (written once, atomically)
        log.jsonl         one JSON object per line, appended and flushed as each item finishes
        0000_a-red-fox.png    the images, each written atomically *before* its log line

Crash safety: an image is written to a hidden temporary file, synced and renamed, and only
then is its log line appended (one ``write`` of a whole line, flushed and synced). A kill at
any moment therefore leaves at worst a torn last line (ignored on read, cut off before the next
append) or an image without its line (adopted on resume, so the credit is not paid twice).

One run at a time: `RunLog.locked` holds ``.sweep.lock`` (a ``filelock`` lock, which
the system lets go of when its process dies, so a killed run's folder is taken over) and
writes who holds it beside it, for the `RunDirBusyError` another run gets.

The log can be edited by hand, so nothing it names is trusted: an image's file name must be a
plain name of a file in the run folder, never a path out of it (`RunLogError`).

Without a folder (``run_dir=None``) the same interface keeps everything in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..api.records import strip_record
from ..api.storage import append_jsonl, numbered_jsonl, repair_jsonl, write_atomic
from ..contract.endpoints import FORMAT_EXTENSIONS
from ..contract.errors import RunDirBusyError, RunDirMismatchError, RunLogError

__all__ = ["RunLog", "RunDirBusyError", "RunDirMismatchError", "RunLogError", "MANIFEST_NAME",
           "LOG_NAME", "MANIFEST_KIND", "IDENTITY_KEYS", "UNCERTAIN", "UNCERTAIN_WORDS"]

MANIFEST_NAME = "sweep.json"
LOG_NAME = "log.jsonl"
LOCK_NAME = ".sweep.lock"
#: Beside the lock: who holds it (pid, host, since when), for the error another run gets.
HOLDER_NAME = ".sweep.holder"
MANIFEST_KIND = "clipdrop-widgets sweep"
MANIFEST_VERSION = 1
#: The manifest keys that say which sweep a folder holds; any difference means another sweep.
IDENTITY_KEYS = ("operation", "source", "inputs", "items")
#: The status of an item whose request may have gone out when its run ended (a kill, a lost
#: answer): the service may have charged it, so it is not sent again unless asked. A run logs
#: ``"sending"`` before each request; a log whose last line for an item says so was killed.
UNCERTAIN = "uncertain"
#: What an uncertain item's record says, for people.
UNCERTAIN_WORDS = ("may have been charged: its run ended after the request may have gone out "
                   "and before an answer was saved; not sent again unless "
                   "run(resend_uncertain=True)")




def _describe_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Say in words how the sweep in a folder differs from the one asked for."""
    if old.get("operation") != new.get("operation"):
        return f"its operation is {old.get('operation')!r}, this sweep's is {new['operation']!r}"
    if old.get("source") != new.get("source"):
        return (f"it was made on the {old.get('source')}, this client uses the "
                f"{new['source']}")
    if old.get("inputs") != new.get("inputs"):
        return "its fixed inputs (images, mask, sketch or options) differ from this sweep's"
    old_items, new_items = old.get("items") or [], new["items"]
    if len(old_items) != len(new_items):
        return f"it has {len(old_items)} items, this sweep has {len(new_items)}"
    for i, (a, b) in enumerate(zip(old_items, new_items, strict=True)):
        if a != b:
            return f"item {i} differs: {a.get('prompt')!r} there, {b.get('prompt')!r} here"
    return "its manifest differs"  # pragma: no cover - identity keys cover every field


class RunLog:
    """The records and images of one sweep, in ``run_dir`` or (``None``) in memory.

    Thread-safe: workers call `append` and `save_image` concurrently.
    """

    def __init__(self, run_dir: str | os.PathLike[str] | None) -> None:
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._lock = threading.Lock()
        self._lines: list[dict[str, Any]] = []  # in memory only
        self._images: dict[str, bytes] = {}  # in memory only

    def __repr__(self) -> str:
        where = "memory" if self.run_dir is None else str(self.run_dir)
        return f"RunLog({where})"

    # -- one run at a time -----------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the run folder for one run; `RunDirBusyError` if another run holds it.

        Another run means another process, or another sweep in this one. A lock whose
        process died is free again (the system releases it), so the next run takes it over.
        """
        if self.run_dir is None:
            yield
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.run_dir / LOCK_NAME)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = self.holder()
            raise RunDirBusyError(
                f"{self.run_dir} is in use by another sweep ({holder or 'holder unknown'}); "
                "two sweeps in one folder would both pay for every item. Wait for it to "
                "finish or stop it, or use another run_dir.",
                run_dir=str(self.run_dir), holder=holder) from None
        try:
            since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
            write_atomic(self.run_dir / HOLDER_NAME, json.dumps(holder).encode("utf-8"))
            yield
        finally:
            (self.run_dir / HOLDER_NAME).unlink(missing_ok=True)
            lock.release()

    def holder(self) -> str | None:
        """Who holds the folder, as written beside its lock (``None`` if nothing says)."""
        if self.run_dir is None:
            return None
        try:
            who = json.loads((self.run_dir / HOLDER_NAME).read_text("utf-8"))
            return f"pid {int(who['pid'])} on host {who['host']} since {who['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- the manifest ----------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The folder's manifest, or ``None`` when there is none (or no folder)."""
        if self.run_dir is None:
            return None
        path = self.run_dir / MANIFEST_NAME
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return None
        try:
            manifest = json.loads(text)
        except ValueError:
            raise RunDirMismatchError(f"{path} is not a sweep manifest (not JSON)") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
            raise RunDirMismatchError(f"{path} is not a clipdrop-widgets sweep manifest")
        if manifest.get("version") != MANIFEST_VERSION:
            raise RunDirMismatchError(
                f"{path} has manifest version {manifest.get('version')!r}; this version of "
                f"clipdrop-widgets reads version {MANIFEST_VERSION}")
        return manifest

    def check(self, manifest: Mapping[str, Any]) -> None:
        """Refuse a folder that holds another sweep, or files but no manifest."""
        if self.run_dir is None:
            return
        old = self.read_manifest()
        if old is None:
            if (self.run_dir / LOG_NAME).exists():
                raise RunDirMismatchError(
                    f"{self.run_dir} has a run log but no {MANIFEST_NAME}; it cannot be "
                    "matched to this sweep. Use a new run_dir.")
            return
        if any(old.get(k) != manifest.get(k) for k in IDENTITY_KEYS):
            raise RunDirMismatchError(
                f"{self.run_dir} holds a different sweep: {_describe_difference(old, manifest)}. "
                "Use a new run_dir for this sweep, or Sweep.open(run_dir) to look at that one.")

    def start(self, manifest: Mapping[str, Any]) -> None:
        """Before a run: check the folder, write the manifest if new, repair a torn tail."""
        if self.run_dir is None:
            return
        self.check(manifest)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not (self.run_dir / MANIFEST_NAME).exists():
            data = json.dumps(dict(manifest), indent=1, ensure_ascii=False).encode("utf-8")
            write_atomic(self.run_dir / MANIFEST_NAME, data)
        self._repair()

    def _repair(self) -> None:
        """Cut a torn last line (a kill mid-write) and remove unfinished temporary images."""
        assert self.run_dir is not None
        for tmp in self.run_dir.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        repair_jsonl(self.run_dir / LOG_NAME)

    # -- records ---------------------------------------------------------------------------
    def read(self) -> list[dict[str, Any]]:
        """Every record written, oldest first; a torn last line is ignored.

        Raises `ValueError` naming the line when any other line is not a JSON object.
        """
        if self.run_dir is None:
            with self._lock:
                return [dict(r) for r in self._lines]
        path = self.run_dir / LOG_NAME
        records = []
        for number, record in numbered_jsonl(path):  # RunLogError for a line changed by hand
            if record.get("file") is not None:
                self._path(record["file"], where=f"{path} line {number}", look=False)
            records.append(record)
        return records

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one record: one line, written whole, flushed and synced before returning."""
        with self._lock:
            if self.run_dir is None:
                self._lines.append(dict(record))
                return
            append_jsonl(self.run_dir / LOG_NAME, record)

    # -- images ----------------------------------------------------------------------------
    def save_image(self, name: str, data: bytes) -> None:
        """Store an image atomically under ``name`` (call before appending its record)."""
        if self.run_dir is None:
            with self._lock:
                self._images[name] = bytes(data)
            return
        write_atomic(self.run_dir / name, data)

    def _path(self, name: Any, *, where: str | None = None, look: bool = True) -> Path:
        """``run_dir / name``, refused unless ``name`` is a file's plain name in the folder
        (and, with ``look``, not a link out of it)."""
        assert self.run_dir is not None
        plain = (isinstance(name, str) and name not in ("", ".", "..") and "\x00" not in name
                 and Path(name).name == name and "\\" not in name)
        path = self.run_dir / name if plain else None
        if path is None or (look and path.is_symlink()
                            and path.resolve().parent != self.run_dir.resolve()):
            raise RunLogError(
                f"{where or self.run_dir / LOG_NAME} names {name!r} as an image file; only a "
                "file directly in the run folder may be named, so it was refused and not read "
                "(the run log was changed by hand)")
        return path

    def has_image(self, name: str) -> bool:
        if self.run_dir is None:
            with self._lock:
                return name in self._images
        return self._path(name).is_file()

    def load_image(self, name: str) -> bytes:
        """The bytes stored under ``name``; `FileNotFoundError` if they are gone."""
        if self.run_dir is None:
            with self._lock:
                try:
                    return self._images[name]
                except KeyError:
                    raise FileNotFoundError(f"no image {name!r} in this sweep") from None
        return self._path(name).read_bytes()

    def orphan_facts(self, stem: str) -> dict[str, Any] | None:
        """``file``, ``sha256`` (without our record) and ``content_type`` of an `orphan`."""
        name = self.orphan(stem)
        if name is None:
            return None
        data = strip_record(self.load_image(name))
        ext = name.rsplit(".", 1)[-1]
        fmt = {v: k for k, v in FORMAT_EXTENSIONS.items()}.get(ext, ext)
        return {"file": name, "sha256": hashlib.sha256(data).hexdigest(),
                "content_type": f"image/{fmt}"}

    def orphan(self, stem: str) -> str | None:
        """The name of a stored image called ``stem.<ext>`` (one saved whose line was lost)."""
        if self.run_dir is None:
            return None
        found = sorted(p.name for p in self.run_dir.glob(f"{stem}.*") if p.is_file())
        return found[0] if found else None
