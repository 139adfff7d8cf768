"""Thumbnails of a session's results, kept in the session folder so a reopen decodes none.

Reopening a long session shows a page of cards; decoding a page of 1024x1024 pictures to
shrink them took most of the reopen (about 50 ms each, seconds for a page under load). The
first time a result's card is made its thumbnail is encoded for the browser
(`encode_for_browser`) and written to ``<session>/thumbnails/<sha256>-<size>.<png|jpeg>``;
later cards read those few kilobytes back as they are. A page of cards whose thumbnails are
not kept yet shows a plain placeholder at once and gets its pictures from `ThumbnailMaker`,
one at a time on a thread of its own: the page is there before any picture is decoded.

The folder is a cache: a missing, unreadable or unwritable file only means the picture is
shrunk again. It is not part of a session's zip. Like the rest of a session folder it is
untrusted: a link (the folder or a file), a named pipe or a picture of too many pixels there
is not read, and nothing is written through a linked folder.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from ..api.result import Result
from ..api.storage import write_atomic
from ..api.untrusted import confined_file, image_problem, read_regular
from ._imaging import encode_for_browser

__all__ = ["THUMBNAILS", "thumbnail_bytes", "cached_thumbnail", "shrink",
           "placeholder", "ThumbnailMaker", "made_after"]

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


Thumbnail = tuple[bytes, str, tuple[int, int]]


def _stem(result: Result, size: int) -> str:
    return f"{result.sha256}-{size}"


def cached_thumbnail(result: Result, size: int, session_dir: Path | None) -> Thumbnail | None:
    """``result``'s thumbnail as kept in ``session_dir``, or ``None`` (none kept, or not
    readable): nothing is decoded."""
    return None if session_dir is None else _cached(_stem(result, size), session_dir)


def _cached(stem: str, session_dir: Path) -> Thumbnail | None:
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
    return None


def thumbnail_bytes(result: Result, size: int, session_dir: Path | None) -> Thumbnail:
    """``(encoded bytes, "png" or "jpeg", (width, height))`` of ``result``'s thumbnail, from
    the cache in ``session_dir`` when there (``None``: no cache), else shrunk and kept."""
    stem = _stem(result, size)
    found = _cached(stem, session_dir) if session_dir is not None else None
    if found is not None:
        return found
    thumb = shrink(result, size)
    data, fmt = encode_for_browser(thumb, quality=_QUALITY)
    if session_dir is not None and not (session_dir / THUMBNAILS).is_symlink():
        try:
            (session_dir / THUMBNAILS).mkdir(exist_ok=True, mode=0o700)
            write_atomic(session_dir / THUMBNAILS / f"{stem}.{fmt}", data, mode=0o600)
        except OSError:
            pass  # a read-only folder: shrink again next time
    return data, fmt, thumb.size


_LOCAL = threading.local()


@contextlib.contextmanager
def made_after() -> Iterator[None]:
    """Thumbnails asked for on this thread inside the block are made once it ends: a Studio
    builds its page first (the cards, the apps), then its pictures are decoded, and no
    thread competes with the building for the two cores."""
    if getattr(_LOCAL, "waiting", None) is not None:  # inside another such block
        yield
        return
    _LOCAL.waiting = []
    try:
        yield
    finally:
        makers, _LOCAL.waiting = _LOCAL.waiting, None
        for maker in makers:
            maker._start()


@functools.lru_cache(maxsize=8)
def placeholder(size: int) -> bytes:
    """A plain light grey square of ``size`` pixels (PNG, a few hundred bytes): a card's
    picture until its thumbnail is made."""
    buf = io.BytesIO()
    Image.new("RGB", (size, size), "#e8e8e8").save(buf, "PNG", optimize=True)
    return buf.getvalue()


class ThumbnailMaker:
    """Makes thumbnails one at a time on a thread of its own, in the order asked.

    ``ask(result, session_dir, done, failed)`` queues one: on the maker's thread
    `thumbnail_bytes` makes it (and keeps it in the session folder), then ``done(thumbnail)``
    is called, or ``failed(exc)`` when the picture could not be read. `cancel` drops what is
    still queued (a page turned: its cards are gone); `wait` blocks until nothing is queued
    or being made. The thread ends when the queue is empty and starts again when asked.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._jobs: deque[tuple[Result, Path | None, Callable[[Thumbnail], object],
                                Callable[[Exception], object]]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    def ask(self, result: Result, session_dir: Path | None,
            done: Callable[[Thumbnail], object], failed: Callable[[Exception], object]) -> None:
        """Queue ``result``'s thumbnail; ``done`` or ``failed`` is called on the maker's thread."""
        with self._cond:
            self._jobs.append((result, session_dir, done, failed))
        waiting = getattr(_LOCAL, "waiting", None)
        if waiting is None:
            self._start()
        elif self not in waiting:
            waiting.append(self)  # `made_after`: started when its block ends

    def _start(self) -> None:
        with self._cond:
            if self._thread is None and self._jobs:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="clipdrop-thumbnails")
                self._thread.start()

    def cancel(self) -> None:
        """Forget the thumbnails still queued (the one being made is finished)."""
        with self._cond:
            self._jobs.clear()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every thumbnail asked for is made (or cancelled); ``False`` when
        ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    @property
    def pending(self) -> int:
        """How many thumbnails are queued or being made."""
        with self._cond:
            return len(self._jobs) + self._busy

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    self._thread = None
                    self._cond.notify_all()
                    return
                result, session_dir, done, failed = self._jobs.popleft()
                self._busy = True
            try:
                try:
                    made = thumbnail_bytes(result, self._size, session_dir)
                except Exception as exc:  # noqa: BLE001 - a picture that cannot be decoded: said
                    failed(exc)
                else:
                    done(made)
            except Exception:  # noqa: BLE001 - a closed card's: nowhere to show it
                pass
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
