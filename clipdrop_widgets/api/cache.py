"""A content-addressed cache of results on disk.

The key is a SHA-256 of everything that decides the answer: the server (never the key), the
endpoint path, the ``Accept`` header, every text field and every file's bytes. A hit sends
nothing and costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .storage import write_atomic

__all__ = ["ResultCache", "cache_key", "default_cache_dir"]


def default_cache_dir() -> Path:
    """The user's cache folder for this package (``platformdirs.user_cache_dir``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("clipdrop-widgets")) / "results"


def cache_key(
    *,
    server: str,
    path: str,
    accept: str | None,
    texts: Mapping[str, str],
    files: Mapping[str, bytes],
) -> str:
    """The hex digest naming one request's answer."""
    h = hashlib.sha256()
    parts: list[Any] = [server.rstrip("/"), path, accept or ""]
    parts += sorted(texts.items())
    parts += sorted((name, hashlib.sha256(data).hexdigest()) for name, data in files.items())
    h.update(json.dumps(parts, ensure_ascii=False).encode())
    return h.hexdigest()


class ResultCache:
    """Results stored as ``<key>.bin`` (the image bytes) beside ``<key>.json`` (metadata)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"ResultCache({str(self.directory)!r})"

    def _paths(self, key: str) -> tuple[Path, Path]:
        sub = self.directory / key[:2]
        return sub / f"{key}.bin", sub / f"{key}.json"

    def get(self, key: str) -> tuple[bytes, dict[str, Any]] | None:
        """The stored bytes and metadata, or ``None``; a damaged entry counts as a miss."""
        data_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            data = data_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            return None
        return data, meta

    def put(self, key: str, data: bytes, meta: Mapping[str, Any]) -> None:
        """Store an answer; written atomically (synced) so a crash never leaves half a file."""
        data_path, meta_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        record = dict(meta, sha256=hashlib.sha256(data).hexdigest())
        write_atomic(data_path, data)
        write_atomic(meta_path, json.dumps(record, ensure_ascii=False).encode())

