"""A session: every result kept on disk the moment it arrives, so nothing a user made is lost.

Layout of a session folder::

    <session>/
        session.json      what the folder is (written once, atomically)
        session.jsonl     one JSON line per result, appended and synced as each one arrives
        images/20261130-194012-cleanup-3fa2c1d0.png    each result's bytes, as received,
                          with its record inside (XMP: `records`; taken out when read back);
                          every result has a file of its own: a second one with the same
                          pixels in the same second gets ``...-3fa2c1d0-2.png``
        inputs/<sha256>.png    each input (photo, mask, sketch) once, named by its content hash
                          (a record of ours left out of the hash), kept as given
        thumbnails/       the history's card pictures (a cache, `widgets.thumbnails`)
        .running/         one small file per run in flight (``<pid>-<id>``, `Session.running`):
                          another page of the session says a result is still to come

A result's image (and its inputs) are written atomically *before* its line is appended, with
the same helpers the sweeps' run logs use (`storage`): a kill at any moment leaves at
worst a torn last line (ignored) or an image without a line (not shown). No API key is ever
written: a line holds the operation, the prompt and options, the inputs by content hash, the
credits, the time and the source, taken from the [`Result`][clipdrop_widgets.Result].

A session folder is read as untrusted input (`untrusted`): a line whose fields have the wrong
types or are out of range, whose operation is not in the endpoint table, or that names a file
outside the folder (``..``, an absolute path, a link), not a regular file (a named pipe, a
folder) or a hard link to another user's file is skipped with a notice naming the line, and
the rest opens; an image of more pixels than any answer is skipped when read. Lines naming
one file share its bytes. Folders are created 0700 and files 0600 (the owner's only).
Several processes may write one folder (kernels of one Studio server): the log is repaired
and appended under a lock file (``.session.lock``), and each process removes only
temporary files whose writer is gone.

New sessions go under the user data folder (``platformdirs.user_data_dir("clipdrop-widgets")``
``/sessions/<date>-<time>``), or under ``$CLIPDROP_WIDGETS_DATA_DIR/sessions`` when that is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from filelock import FileLock

from .._version import __version__
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError, ConfigurationTypeError, RunLogError
from .notices import notify
from .records import options_of, recorded_bytes, strip_record
from .result import Result
from .storage import (
    append_jsonl,
    numbered_jsonl,
    remove_stale_temporaries,
    repair_jsonl,
    write_atomic,
    write_new,
)
from .untrusted import (
    ConfinedFiles,
    confined_file,
    file_problem,
    image_problem,
    is_plain_file,
    read_regular,
    record_problem,
    safe_name,
)

__all__ = ["Session", "SessionInfo", "DATA_DIR_ENV", "data_dir", "sessions_dir",
           "recent_sessions", "new_session_dir", "LOG_NAME", "MANIFEST_NAME"]

#: Environment variable naming the data folder (default: platformdirs' user data folder).
DATA_DIR_ENV = "CLIPDROP_WIDGETS_DATA_DIR"
MANIFEST_NAME = "session.json"
LOG_NAME = "session.jsonl"
KIND = "clipdrop-widgets session"
VERSION = 1
IMAGES = "images"
#: The lock file that serialises log repairs and appends of every process on one folder.
LOCK_NAME = ".session.lock"
#: Seconds a process waits for another's lock on the folder before giving up (an error).
LOCK_WAIT = 60
INPUTS = "inputs"
#: What a session writes in its folder before its manifest (under the lock: see `Session`).
#: Runs in flight, one empty-ish file each (``<pid>-<id>``), while they last (`Session.running`).
RUNNING = ".running"
_OWN_NAMES = frozenset({LOCK_NAME, IMAGES, INPUTS, LOG_NAME, RUNNING})
#: Permissions of a session's folders and files: the owner's only (photos, masks, prompts).
DIR_MODE, FILE_MODE = 0o700, 0o600


def data_dir() -> Path:
    """This package's data folder: ``$CLIPDROP_WIDGETS_DATA_DIR``, else platformdirs'
    ``user_data_dir("clipdrop-widgets")``."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("clipdrop-widgets"))


def sessions_dir() -> Path:
    """Where new sessions are made: ``data_dir() / "sessions"``."""
    return data_dir() / "sessions"


def new_session_dir() -> Path:
    """A new session folder under `sessions_dir`, named by the date and time; created
    empty here, so two sessions started in the same second never share one."""
    base = sessions_dir()
    base.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    path, n = base / stamp, 1
    while True:
        try:
            path.mkdir(mode=DIR_MODE)
            return path
        except FileExistsError:
            n += 1
            path = base / f"{stamp}-{n}"


@dataclass(frozen=True)
class SessionInfo:
    """A session folder found by `recent_sessions`: its path, results, last change."""

    path: Path
    results: int
    modified: float

    @property
    def label(self) -> str:
        """``2026-11-30_19-40-12 · 3 results`` (for a menu)."""
        n = self.results
        return f"{self.path.name} · {n} result{'' if n == 1 else 's'}"


def recent_sessions(*, limit: int = 10, folder: str | os.PathLike[str] | None = None
                    ) -> list[SessionInfo]:
    """The sessions with at least one result under ``folder`` (default `sessions_dir`),
    most recently changed first, at most ``limit``."""
    base = Path(folder) if folder is not None else sessions_dir()
    found = []
    try:
        children = list(base.iterdir())
    except OSError:
        return []
    for child in children:
        log = child / LOG_NAME
        try:
            stat = log.lstat()
            if file_problem(log) is not None:
                continue  # a link or a named pipe: not read (it could block the menu)
            count = log.read_bytes().count(b"\n")
        except OSError:
            continue
        if count:
            found.append(SessionInfo(child, count, stat.st_mtime))
    found.sort(key=lambda info: info.modified, reverse=True)
    return found[:limit]


def _image_extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"


class _InputFiles(Mapping[str, bytes]):
    """A reopened result's input files by form field, each read from the session folder
    when it is used (sending it again, keeping it in another session)."""

    def __init__(self, paths: Mapping[str, Path], owner: int | None) -> None:
        self._paths = dict(paths)
        self._owner = owner

    def __getitem__(self, name: str) -> bytes:
        return read_regular(self._paths[name], owner=self._owner)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _prompt_field(endpoint: str) -> str | None:
    ep = ENDPOINTS.get(endpoint)
    field = ep.prompt_field if ep is not None else None
    return field.name if field is not None else None


class Session:
    """The results of one session in a folder, written as they arrive.

    Args:
        directory: the session folder. ``None`` (the default) makes a new one under
            `sessions_dir` named by the date and time; an existing session folder is
            reopened (its results are read back, new ones are appended); a folder that does
            not exist yet is created with the first result. A folder that holds other files
            but no session is refused (`ValueError`), so results never land among
            unrelated files.

    Attributes:
        directory: the session folder.

    Thread-safe: apps sharing a session add results from their worker threads.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory is not None \
            else new_session_dir()
        self._lock = threading.Lock()
        self._ready = False
        #: Lines skipped when the log was last read: line number -> why (see `problems`).
        self._skipped: dict[int, str] = {}
        self._told: set[tuple[int, str]] = set()
        #: Images refused when read (`untrusted.image_problem`): file -> the notice given.
        self._unshowable: dict[str, str] = {}
        self._refuse_foreign_folder()

    def _refuse_foreign_folder(self) -> None:
        """Refuse a folder that holds files but no session (`ConfigurationError`).

        Another process may be making this session right now: its first entries (the lock,
        ``images/``, ``inputs/``) appear before the manifest. A folder holding only those is
        a session being made: its maker writes the manifest under the lock, so the lock is
        taken before deciding. Anything else there, or a lock that is not a regular file,
        is not a session's."""
        folder = self.directory
        if not folder.exists() or (folder / MANIFEST_NAME).exists():
            return
        if not folder.is_dir():
            raise ConfigurationError(f"{folder} is a file, not a session folder")
        names = {p.name for p in folder.iterdir()}
        if not names:
            return
        lock = folder / LOCK_NAME
        if names <= _OWN_NAMES and LOCK_NAME in names and lock.is_file() \
                and not lock.is_symlink():
            with FileLock(lock, mode=FILE_MODE, timeout=LOCK_WAIT):  # its maker is done after
                names = {p.name for p in folder.iterdir()}
            if (folder / MANIFEST_NAME).exists() or names <= _OWN_NAMES:
                return
        raise ConfigurationError(
            f"{folder} holds other files and is not a clipdrop-widgets session "
            "folder; give a new or empty folder (or an existing session's)")

    def __repr__(self) -> str:
        return f"Session({str(self.directory)!r}, {len(self)} results)"

    # -- runs in flight -------------------------------------------------------------------------
    @contextlib.contextmanager
    def running(self, endpoint: str) -> Iterator[None]:
        """Mark a run of ``endpoint`` in flight in this folder while the block lasts
        (``.running/<pid>-<id>``), so another page of the session can say a result is still
        to come (a page left during a Run: its kernel finishes it). Best effort: a folder
        that cannot be written, or a session not made yet (no result so far), still runs,
        unmarked."""
        marker: Path | None = None
        try:
            if not (self.directory / MANIFEST_NAME).is_file():
                raise FileNotFoundError  # no session here yet: its first result makes it
            folder = self.directory / RUNNING
            folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
            marker = folder / f"{os.getpid()}-{secrets.token_hex(6)}"
            marker.write_text(json.dumps({"endpoint": endpoint, "started": time.time()}),
                              encoding="utf-8")
        except OSError:
            marker = None
        try:
            yield
        finally:
            if marker is not None:
                with contextlib.suppress(OSError):
                    marker.unlink()

    def running_elsewhere(self) -> int:
        """How many runs other processes (other pages' kernels) have in flight in this
        folder; a marker whose process is gone (a killed kernel) is removed."""
        count = 0
        try:
            markers = list((self.directory / RUNNING).iterdir())
        except OSError:
            return 0
        for marker in markers:
            head = marker.name.split("-", 1)[0]
            if not head.isdigit() or int(head) == os.getpid() or not marker.is_file():
                continue
            if _alive(int(head)):
                count += 1
            else:
                with contextlib.suppress(OSError):
                    marker.unlink()
        return count

    def __len__(self) -> int:
        return len(self.records())

    @property
    def log_path(self) -> Path:
        """The session's log: one JSON line per result (``session.jsonl``)."""
        return self.directory / LOG_NAME

    # -- reading ------------------------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """Every result's line that can be opened, oldest first.

        A torn last line is ignored. A line that is not JSON, has a field of the wrong type,
        names an operation outside the endpoint table or a file outside the folder is skipped
        with a [`ClipdropNotice`][clipdrop_widgets.ClipdropNotice] naming the line (once per
        line); `problems` lists them.
        """
        bad: list[int] = []
        found, skipped = [], {}
        try:
            lines = numbered_jsonl(self.log_path, skipped=bad)
        except RunLogError:  # the log is a link or a named pipe: nothing of it is read
            lines, skipped[0] = [], "the log is not a regular file (a link or a pipe?)"
        confined, owner = ConfinedFiles(self.directory), self._owner()  # once for all lines
        for number, record in lines:
            problem = record_problem(record) or self._path_problem(record, confined, owner)
            if problem is None:
                found.append(record)
            else:
                skipped[number] = problem
        skipped.update((number, "it is not a JSON record") for number in bad)
        self._skipped = dict(sorted(skipped.items()))
        for number, problem in self._skipped.items():
            if (number, problem) not in self._told:
                self._told.add((number, problem))
                notify(self._problem_text(number, problem))
        return found

    def _problem_text(self, number: int, problem: str) -> str:
        if number == 0:  # the log as a whole
            return f"{self.log_path} not read: {problem}"
        return f"{self.log_path} line {number} skipped: {problem}; the rest of the session opens"

    @property
    def problems(self) -> list[str]:
        """The lines skipped when the log was last read, one sentence each (``[]``: none),
        then the images found unshowable when read (too many pixels), one each."""
        return [self._problem_text(n, p) for n, p in self._skipped.items()] + list(
            self._unshowable.values())

    def _owner(self) -> int | None:
        """The user id of the session folder (a file of another user's, hard-linked in, is
        refused: `untrusted.file_problem`)."""
        try:
            return os.stat(self.directory).st_uid
        except OSError:
            return None

    def _path_problem(self, record: Mapping[str, Any], confined: ConfinedFiles,
                      owner: int | None) -> str | None:
        path = confined(record["file"])
        if path is None:
            return "its file is not inside the session folder"
        problem = file_problem(path, owner=owner)
        if problem is not None:
            return problem
        for described in (record.get("inputs") or {}).values():
            path = confined(described["file"])
            if path is None:
                return "an input's file is not inside the session folder"
            problem = file_problem(path, owner=owner)
            if problem is not None and problem != "its file is missing":
                return "an input's file" + problem.removeprefix("its file")
        return None

    def results(self) -> list[Result]:
        """Every result, oldest first, read back with its image (inputs are read when used).

        Lines naming one file share its bytes, read once: many lines cannot multiply one
        image in memory. A line whose image cannot be shown (removed since, or too many
        pixels: `untrusted.image_problem`) is skipped with a notice.
        """
        found, read = [], {}
        for record in self.records():
            try:
                found.append(self._result(record, read))
            except OSError:
                continue
        return found

    def result_for(self, record: Mapping[str, Any]) -> Result:
        """The result of one of `records`' lines, read back with its image and inputs
        (`OSError` when its image file is gone)."""
        return self._result(record)

    def _result(self, record: Mapping[str, Any],
                read: dict[str, bytes] | None = None) -> Result:
        read = {} if read is None else read  # bytes already read, by file (`results`)
        data = read.get(record["file"])
        sha = None
        if data is None:
            data = read[record["file"]] = self._image(record["file"])
            sha = hashlib.sha256(data).hexdigest()
            if record.get("sha256") not in (None, sha) and (-1, record["file"]) not in self._told:
                self._told.add((-1, record["file"]))
                notify(f"{self.directory / record['file']} does not match the sha256 its line "
                       "gives: it was changed after it was saved (shown as it is now)")
        inputs: dict[str, Any] = dict(record.get("options") or {})
        prompt_name = _prompt_field(record["operation"])
        if record.get("prompt") is not None and prompt_name:
            inputs[prompt_name] = record["prompt"]
        paths = {}
        for name, described in (record.get("inputs") or {}).items():
            inputs[name] = described.get("describe", "")
            path = confined_file(self.directory, described.get("file"))
            if path is not None and file_problem(path) is None:
                paths[name] = path
        files = _InputFiles(paths, self._owner())  # read when used: a page holds no photos
        result = Result(data, record["content_type"], record["operation"], inputs,
                        credits_consumed=record.get("credits"),
                        remaining_credits=record.get("remaining_credits"),
                        elapsed=float(record.get("elapsed") or 0.0),
                        from_cache=bool(record.get("from_cache")),
                        source=record.get("source", "service"),
                        created=float(record.get("created") or 0.0),
                        notices=tuple(record.get("notices") or ()),
                        doubts=tuple(record.get("doubts") or ()), files=files)
        result._sha256 = sha  # hashed once: the thumbnail's name needs it too
        return result

    def _image(self, rel: str) -> bytes:
        """The image of the session's file ``rel`` as received (our record taken out);
        `OSError` when it is not a regular file inside the folder or has too many pixels
        (then with a notice, once)."""
        path = confined_file(self.directory, rel)
        if path is None:
            raise FileNotFoundError(f"{rel!r} is not a file inside the session folder")
        data = strip_record(read_regular(path, owner=self._owner()))
        problem = image_problem(data)
        if problem is not None:
            if rel not in self._unshowable:
                self._unshowable[rel] = (f"{self.directory / rel} skipped: {problem}; the rest "
                                         "of the session opens")
                notify(self._unshowable[rel])
            raise FileNotFoundError(f"{rel!r} cannot be shown: {problem}")
        return data

    # -- writing ------------------------------------------------------------------------------
    def _prepare(self) -> None:
        """Before the first write: the folders, the manifest, a torn last line cut off."""
        if self._ready:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        # the lock first: a process opening the folder meanwhile waits for the manifest
        with FileLock(self.directory / LOCK_NAME, mode=FILE_MODE, timeout=LOCK_WAIT):
            (self.directory / IMAGES).mkdir(exist_ok=True, mode=DIR_MODE)
            (self.directory / INPUTS).mkdir(exist_ok=True, mode=DIR_MODE)
            manifest = self.directory / MANIFEST_NAME
            if not manifest.exists():
                write_atomic(manifest, json.dumps({
                    "kind": KIND, "version": VERSION, "package_version": __version__,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }, indent=1).encode(), mode=FILE_MODE)
            os.close(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND  # 0600
                             | getattr(os, "O_NONBLOCK", 0), FILE_MODE))  # a pipe: no hang
        for sub in (self.directory, self.directory / IMAGES, self.directory / INPUTS):
            remove_stale_temporaries(sub)  # never another running process's save in flight
        self._ready = True

    def add(self, result: Result) -> dict[str, Any]:
        """Write ``result`` (its inputs, its image, then its line); returns the line's record."""
        if not isinstance(result, Result):
            raise ConfigurationTypeError(f"Session.add takes a Result, got {type(result).__name__}")
        with self._lock:
            self._prepare()
            inputs = {}
            for name, data in result.files.items():  # kept as given, named as received
                sha = hashlib.sha256(strip_record(data)).hexdigest()
                rel = f"{INPUTS}/{sha}.{_image_extension(data)}"
                if not (self.directory / rel).exists():
                    write_atomic(self.directory / rel, data, mode=FILE_MODE)
                inputs[name] = {"sha256": sha, "file": rel,
                                "describe": str(result.inputs.get(name, ""))}
            sha = hashlib.sha256(result.data).hexdigest()
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
            stem = safe_name(f"{stamp}-{result.endpoint}-{sha[:8]}")
            name = write_new(self.directory / IMAGES, stem, f".{result.extension}",
                             recorded_bytes(result), mode=FILE_MODE)  # its record inside,
            rel = f"{IMAGES}/{name}"  # in a file of its own (same pixels: ``-2``, ``-3``...)
            record = self._record(result, inputs, rel, sha)
            with FileLock(self.directory / LOCK_NAME, mode=FILE_MODE):  # other processes here
                repair_jsonl(self.log_path)  # a torn line of a killed writer, never a live one's
                append_jsonl(self.log_path, record)
        return record

    @staticmethod
    def _record(result: Result, inputs: dict[str, Any], rel: str, sha: str) -> dict[str, Any]:
        prompt_name = _prompt_field(result.endpoint)
        options = options_of(result)
        if result.inputs.get("input_from"):  # the log has always kept it with the options
            options["input_from"] = str(result.inputs["input_from"])
        return {
            "operation": result.endpoint,
            "prompt": result.inputs.get(prompt_name) if prompt_name else None,
            "options": options,
            "inputs": inputs,
            "credits": result.credits_consumed,
            "remaining_credits": result.remaining_credits,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(result.created)),
            "created": result.created,
            "elapsed": round(result.elapsed, 3),
            "source": result.source,
            "from_cache": result.from_cache,
            "content_type": result.content_type,
            "file": rel,
            "sha256": sha,
            "notices": list(result.notices),
            "doubts": list(result.doubts),
        }

    # -- taking it away -----------------------------------------------------------------------
    def to_parquet(self, path: str | os.PathLike[str]) -> str:
        """Write one row per image (id, operation, prompt, options, size, credits, created,
        hashes, parent, engine, file: see `api.tables`) to a Parquet file; returns the path.
        Needs pyarrow (``pip install 'clipdrop-widgets[examples]'``)."""
        from .tables import session_rows, write_parquet

        return write_parquet(session_rows(self), path)

    def image_name(self, result: Result) -> str:
        """A file name for ``result`` for a download: ``<operation>-<date>-<time>.<ext>``."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
        return safe_name(f"{result.endpoint}-{stamp}.{result.extension}")

    def zip_members(self) -> list[tuple[Path, str]]:
        """What a zip of the session holds: ``(file, name in the zip)`` of the manifest, the
        log, the images and the inputs. Only regular files inside the folder (a link is left
        out, wherever it points), under names reduced to safe characters."""
        root = safe_name(self.directory.name, fallback="session")
        members = [(self.directory / name, f"{root}/{name}") for name in (MANIFEST_NAME, LOG_NAME)
                   if is_plain_file(self.directory, self.directory / name)]
        for sub in (IMAGES, INPUTS):
            folder = self.directory / sub
            if folder.is_dir() and not folder.is_symlink():
                members += [(path, f"{root}/{sub}/{safe_name(path.name)}")
                            for path in sorted(folder.iterdir())
                            if is_plain_file(self.directory, path)
                            and not path.name.startswith(".")]
        return members

    def write_zip(self, target: IO[bytes], members: list[tuple[Path, str]] | None = None) -> None:
        """Write the session as a zip to the binary file ``target``, one file at a time (a
        few kilobytes in memory whatever the session's size); ``members`` as `zip_members`
        gave them (default: read now)."""
        with self._lock, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
            for path, name in self.zip_members() if members is None else members:
                zf.write(path, name, compress_type=zipfile.ZIP_DEFLATED
                         if path.parent == self.directory else zipfile.ZIP_STORED)

    def zip_bytes(self) -> bytes:
        """The whole session as a zip in memory (`write_zip`; the history's Download all
        writes it to a temporary file instead)."""
        buf = io.BytesIO()
        self.write_zip(buf)
        return buf.getvalue()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (this machine; a kernel of the same user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
