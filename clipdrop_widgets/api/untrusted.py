"""A session folder is input from whoever could write to it: nothing read there is trusted.

A session can be copied from a colleague, unzipped from a download or shared by several
kernels on one server, so its ``session.jsonl`` and ``images/`` may hold anything. Before a
line becomes a [`Result`][clipdrop_widgets.Result] (shown, put into "Download all", written
by "Save all") it is checked here:

* `record_problem` — the line's fields have the types a session writes, and its operation is
  one of the endpoint table's (an operation name ends up in file names);
* `confined_file` — a path it names is relative, has no ``..``, and neither it nor a folder on
  the way is a link: the file read is inside the session folder, or it is not read at all;
* `file_problem` / `read_regular` — a file it names is a regular file (not a named pipe,
  which would block the reader forever, not a folder) and not a hard link to another user's
  file (our own writes never make one), read without following a link;
* `image_problem` — an image's width x height (read from its header, nothing decoded) is at
  most `MAX_PIXELS`, the most any endpoint answers: a small "decompression bomb" file never
  becomes a gigapixel picture in memory;
* `safe_name` — any text that becomes a file name (on disk or in a zip) is reduced to letters,
  digits, ``-``, ``_`` and ``.``, never a path and never hidden.

Numbers are range-checked too (finite; ``created`` a time ``time.localtime`` can show; credits
and seconds not negative), so a line that passes here cannot crash what shows it.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image

from ..contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS

__all__ = ["confined_file", "file_problem", "image_problem", "is_plain_file", "read_regular",
           "record_problem", "safe_name", "MAX_PIXELS", "MAX_CREATED"]

#: The most pixels (width x height) an image read from a session may have: the largest
#: answer any endpoint of the table gives.
MAX_PIXELS = max(ep.max_answer_pixels for ep in ENDPOINTS.values())
#: The latest ``created`` a line may hold (seconds since 1970: the end of the year 9999).
MAX_CREATED = 253_402_300_799.0
#: Fields holding seconds, credits or a time: finite and not negative (``created`` also at
#: most `MAX_CREATED`).
_NOT_NEGATIVE = ("credits", "remaining_credits", "elapsed", "created")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Longest file name `safe_name` returns (below every common file system's 255 bytes).
_MAX_NAME = 120


def safe_name(text: str, *, fallback: str = "result") -> str:
    """``text`` as one harmless file name: other characters become ``_``, no leading dot or
    dash, at most 120 characters; ``fallback`` when nothing is left."""
    name = _UNSAFE.sub("_", str(text)).lstrip(".-_")[:_MAX_NAME]
    return name if name.strip("._-") else fallback


def confined_file(root: Path, rel: object) -> Path | None:
    """The file ``rel`` names inside the folder ``root``, or ``None`` when it would be read
    from elsewhere.

    ``rel`` must be a relative path (``/`` separated, as a session writes it) without ``..``,
    and no part of it may be a symbolic link; the resolved path must lie inside ``root``.
    """
    parts = _relative_parts(rel)
    if parts is None:
        return None
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink():
            return None
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return None
    except OSError:
        return None
    return path


def _relative_parts(rel: object) -> tuple[str, ...] | None:
    """The parts of the relative ``/``-separated path ``rel``, or ``None`` when it is not
    one (absolute, ``..``, a backslash or a NUL in it)."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if PurePosixPath(rel).is_absolute() or any(p in ("..", ".") for p in parts):
        return None
    return parts


class ConfinedFiles:
    """`confined_file` for the many names one read of a session's log gives: each folder on
    the way (``images``, ``inputs``) is checked once for a link, not once per line.

    With no ``..`` and no link among its parts a path cannot lead out of ``root``, so the
    file's own ``lstat`` is the one check left per name. Made for one read: a folder
    replaced by a link afterwards is seen by the next one.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[tuple[str, ...], bool] = {}

    def __call__(self, rel: object) -> Path | None:
        """The file ``rel`` names inside ``root``, or ``None`` (as `confined_file`)."""
        parts = _relative_parts(rel)
        if parts is None:
            return None
        for end in range(1, len(parts)):
            fine = self._folders.get(parts[:end])
            if fine is None:
                fine = self._folders[parts[:end]] = not os.path.islink(
                    os.path.join(self.root, *parts[:end]))
            if not fine:
                return None
        path = os.path.join(self.root, *parts)
        return None if os.path.islink(path) else Path(path)


_TEXT = (str, type(None))
_NUMBER = (int, float, type(None))
#: A line's fields and the types a session writes there (absent fields are allowed where
#: a session written by an older version did not have them).
_FIELDS: dict[str, tuple[type, ...]] = {
    "prompt": _TEXT, "options": (dict, type(None)), "inputs": (dict, type(None)),
    "credits": _NUMBER, "remaining_credits": _NUMBER, "elapsed": _NUMBER,
    "created": _NUMBER, "source": (str,), "from_cache": (bool, type(None)),
    "notices": (list, type(None)), "doubts": (list, type(None)), "sha256": _TEXT,
    "time": _TEXT,
}


def record_problem(record: Mapping[str, Any]) -> str | None:
    """Why a session line cannot be opened (a few plain words), or ``None`` when it can."""
    for required in ("operation", "file", "content_type"):
        if not isinstance(record.get(required), str):
            return f"its {required!r} is missing or not text"
    if record["operation"] not in ENDPOINTS:
        return f"its operation {record['operation'][:40]!r} is not one of the endpoint table's"
    if record["content_type"] not in CONTENT_TYPE_FORMATS:
        return f"its content_type {record['content_type'][:40]!r} is not an image type"
    for name, types in _FIELDS.items():
        value = record.get(name)
        if isinstance(value, bool) and bool not in types:
            return f"its {name!r} has the wrong type (bool)"
        if not isinstance(value, types):
            return f"its {name!r} has the wrong type ({type(value).__name__})"
    for value in (record.get("options") or {}).values():
        if not isinstance(value, (str, int, float)):
            return "an option has the wrong type"
    for described in (record.get("inputs") or {}).values():
        if not isinstance(described, dict) or not isinstance(described.get("file"), str):
            return "an input has no file"
    if not all(isinstance(n, str) for n in (*(record.get("notices") or ()),
                                            *(record.get("doubts") or ()))):
        return "a notice is not text"
    for name in _NOT_NEGATIVE:
        value = record.get(name)
        if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_CREATED):
            return f"its {name!r} is out of range ({str(value)[:20]})"
    return None


def _other_name(st: os.stat_result, owner: int | None) -> bool:
    """A hard link to a file of someone else than the folder's owner: a file they could not
    have copied there. (A backup made with hard links, ``cp -al`` or rsnapshot, keeps the
    owner: its sessions still open.)"""
    return st.st_nlink > 1 and owner is not None and st.st_uid != owner


def file_problem(path: Path, *, owner: int | None = None) -> str | None:
    """Why the session's file ``path`` cannot be read (a few plain words), or ``None``: it
    must be a regular file (``lstat``: a link is not followed), and not a hard link to a file
    of another user than ``owner`` (the session folder's user id; ``None``: not checked).
    Our own writes never make a hard link."""
    try:
        st = os.lstat(path)
    except OSError:
        return "its file is missing"
    if not stat.S_ISREG(st.st_mode):
        return "its file is not a regular file"
    if _other_name(st, owner):
        return "its file is a hard link to another user's file"
    return None


def read_regular(path: Path, *, owner: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, opened without following a link and without
    blocking (a named pipe put there after `file_problem` is refused, never waited on);
    `FileNotFoundError` for anything `file_problem` refuses."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise FileNotFoundError(f"{path.name!r} cannot be opened ({err.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or _other_name(st, owner):
            raise FileNotFoundError(f"{path.name!r} is not a regular file of the session")
        return f.read()


def image_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be shown as a session's image, or ``None``: its header must be
    readable and give at most `MAX_PIXELS` pixels (nothing is decoded here)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        width = height = None
    except (OSError, ValueError):
        return "its file is not a readable image"
    if width is None or width * height > MAX_PIXELS:
        size = "" if width is None else f" ({width}x{height})"
        return (f"its image has more pixels{size} than the {MAX_PIXELS / 1e6:.1f} megapixels "
                "of any answer")
    return None


def is_plain_file(root: Path, path: Path) -> bool:
    """True for a regular file (not a link) inside ``root``: what a zip may hold."""
    try:
        return (not path.is_symlink() and path.is_file()
                and path.resolve().is_relative_to(root.resolve()))
    except OSError:
        return False

