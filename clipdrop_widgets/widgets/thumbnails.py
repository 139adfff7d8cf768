"""Thumbnails of a session's results, kept in the session folder so a reopen decodes none.

Reopening a long session shows a page of cards; decoding a page of 1024x1024 pictures to
shrink them took most of the reopen (about 50 ms each). The first time a result's card is
made its thumbnail is encoded for the browser (`encode_for_browser`) and written to
``<session>/thumbnails/<sha256>-<size>.<png|jpeg>``; later cards read those few kilobytes
back as they are. The folder is a cache: a missing, unreadable or unwritable file only
means the picture is shrunk again. It is not part of a session's zip. Like the rest of a
session folder it is untrusted: a link (the folder or a file), a named pipe or a picture of
too many pixels there is not read, and nothing is written through a linked folder.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from ..api.result import Result
from ..api.storage import write_atomic
from ..api.untrusted import confined_file, image_problem, read_regular
from ._imaging import encode_for_browser

__all__ = ["THUMBNAILS", "thumbnail_bytes", "shrink"]

#: The cache's folder name inside a session folder.
THUMBNAILS = "thumbnails"
_QUALITY = 85


def shrink(result: Result, size: int) -> Image.Image:
    """``result``'s picture fitting ``size`` pixels a side, decoded at a reduced scale where
    the format allows (JPEG) and never kept: a page of cards holds no full pictures."""
    if result._image is not None:
        thumb = result._image.copy()
    else:
        with Image.open(io.BytesIO(result.data)) as im:
            im.draft("RGB", (size, size))
            thumb = im.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    return thumb


def thumbnail_bytes(result: Result, size: int, session_dir: Path | None
                    ) -> tuple[bytes, str, tuple[int, int]]:
    """``(encoded bytes, "png" or "jpeg", (width, height))`` of ``result``'s thumbnail, from
    the cache in ``session_dir`` when there (``None``: no cache)."""
    stem = f"{hashlib.sha256(result.data).hexdigest()}-{size}"
    if session_dir is not None:
        for fmt in ("jpeg", "png"):
            # the session folder is untrusted: no link, no named pipe, no oversized picture
            path = confined_file(session_dir, f"{THUMBNAILS}/{stem}.{fmt}")
            try:
                data = read_regular(path) if path is not None else b""
                if not data or image_problem(data) is not None:
                    continue
                with Image.open(io.BytesIO(data)) as im:
                    return data, fmt, im.size
            except (OSError, ValueError):
                continue
    thumb = shrink(result, size)
    data, fmt = encode_for_browser(thumb, quality=_QUALITY)
    if session_dir is not None and not (session_dir / THUMBNAILS).is_symlink():
        try:
            (session_dir / THUMBNAILS).mkdir(exist_ok=True, mode=0o700)
            write_atomic(session_dir / THUMBNAILS / f"{stem}.{fmt}", data, mode=0o600)
        except OSError:
            pass  # a read-only folder: shrink again next time
    return data, fmt, thumb.size
