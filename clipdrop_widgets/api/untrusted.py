"""A session folder is input from whoever could write to it: nothing read there is trusted.

A session can be copied from a colleague, unzipped from a download or shared by several
kernels on one server, so its ``session.jsonl`` and ``images/`` may hold anything. Before a
line becomes a [`Result`][clipdrop_widgets.Result] (shown, put into "Download all", written
by "Save all") it is checked here:

* `record_problem` — the line's fields have the types a session writes, and its operation is
  one of the endpoint table's (an operation name ends up in file names);
* `confined_file` — a path it names is relative, has no ``..``, and neither it nor a folder on
  the way is a link: the file read is inside the session folder, or it is not read at all;
* `safe_name` — any text that becomes a file name (on disk or in a zip) is reduced to letters,
  digits, ``-``, ``_`` and ``.``, never a path and never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from ..contract.endpoints import CONTENT_TYPE_FORMATS, ENDPOINTS

__all__ = ["confined_file", "is_plain_file", "record_problem", "safe_name"]

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
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if PurePosixPath(rel).is_absolute() or any(p in ("..", ".") for p in parts):
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


_TEXT = (str, type(None))
_NUMBER = (int, float, type(None))
#: A line's fields and the types a session writes there (absent fields are allowed where
#: a session written by an older version did not have them).
_FIELDS: dict[str, tuple[type, ...]] = {
    "prompt": _TEXT, "options": (dict, type(None)), "inputs": (dict, type(None)),
    "credits": _NUMBER, "remaining_credits": _NUMBER, "elapsed": _NUMBER,
    "created": _NUMBER, "source": (str,), "from_cache": (bool, type(None)),
    "notices": (list, type(None)), "sha256": _TEXT, "time": _TEXT,
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
    if not all(isinstance(n, str) for n in record.get("notices") or ()):
        return "a notice is not text"
    return None


def is_plain_file(root: Path, path: Path) -> bool:
    """True for a regular file (not a link) inside ``root``: what a zip may hold."""
    try:
        return (not path.is_symlink() and path.is_file()
                and path.resolve().is_relative_to(root.resolve()))
    except OSError:
        return False

