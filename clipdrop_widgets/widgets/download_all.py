"""Download all: the whole session as one zip, built on disk and sent to the browser in pieces.

Built in memory, a session of 5,000 distinct 2 MB pictures needed about 10 GB in the kernel.
The zip is now written to a temporary file one file at a time (a few kilobytes in memory
whatever the session's size), sent from there in `Downloader` chunks, and the file removed.

Two things bound what one download can carry. Every chunk is a message on the kernel's output
socket (ipykernel 7's iopub is a zmq XPUB socket with zmq's default high-water mark, 1,000
messages: past it, messages are dropped, not delayed), and the page gathers every chunk in its
memory before the browser saves the file (a Blob made of them). So Download all is refused
above `DOWNLOAD_ALL_LIMIT`, 500 MB (about 954 chunks of 512 KiB), before anything is written
or sent, with a message saying the size and pointing to "Save all", which writes every result
to a folder on the kernel's machine. Nothing is lost: the session folder keeps every result
either way.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from typing import IO

from ..api.records import recorded_bytes
from ..api.result import Result
from ..api.session import Session
from ..contract.errors import ConfigurationError
from .download import download_name

__all__ = ["DOWNLOAD_ALL_LIMIT", "session_zip", "results_zip", "size_words"]

#: The most bytes Download all sends (500 MB: 954 chunks, under the kernel's 1,000-message
#: queue); above it "Save all" is the way.
DOWNLOAD_ALL_LIMIT = 500 * 1000 * 1000


def size_words(n: int) -> str:
    """``n`` bytes in words, decimal units: ``"1.2 GB"``, ``"536.9 MB"``."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def _refuse(total: int, limit: int, where: str) -> ConfigurationError:
    return ConfigurationError(
        f"Download all would send {size_words(total)}, more than the {size_words(limit)} a "
        "download from the kernel to your browser is built for (the page holds the whole "
        f"file in memory before saving it). Nothing was sent and nothing is lost: {where} "
        "keeps every result. Use \"Save all\" to write them to the folder in \"Save to\".")


def session_zip(session: Session, *, limit: int | None = None) -> IO[bytes]:
    """The session as a zip in a temporary file (removed when closed), positioned at its
    start; refused (`ConfigurationError`, nothing written) when its files come to more than
    ``limit`` bytes (default `DOWNLOAD_ALL_LIMIT`)."""
    limit = DOWNLOAD_ALL_LIMIT if limit is None else limit
    members = session.zip_members()
    total = 0
    for path, _name in members:
        try:
            total += path.stat().st_size
        except OSError:
            continue  # gone since listed: left out of the zip too (see below)
    if total > limit:
        raise _refuse(total, limit, f"the session folder {session.directory}")
    members = [(path, name) for path, name in members if path.exists()]
    return _on_disk(lambda f: session.write_zip(f, members))


def results_zip(results: Sequence[Result], *, limit: int | None = None) -> IO[bytes]:
    """A zip of ``results`` (images with their records and a JSON-lines log, oldest first)
    in a temporary file, for a strip without a session; refused above ``limit`` bytes."""
    from .history import card_labels  # the history imports this module

    limit = DOWNLOAD_ALL_LIMIT if limit is None else limit
    total = sum(len(r.data) for r in results)
    if total > limit:
        raise _refuse(total, limit, "the strip")

    def write(target: IO[bytes]) -> None:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zf:
            lines = []
            for i, result in enumerate(reversed(results), 1):  # oldest first, like a log
                name = f"{i:04d}-{download_name(result)}"
                zf.writestr(f"images/{name}", recorded_bytes(result))
                lines.append(json.dumps({"operation": result.endpoint, "file": f"images/{name}",
                                         **card_labels(result)}, ensure_ascii=False))
            zf.writestr("results.jsonl", "\n".join(lines) + "\n")

    return _on_disk(write)


def _on_disk(write: Callable[[IO[bytes]], object]) -> IO[bytes]:
    """A temporary file (``$TMPDIR``; unnamed, gone when closed or when the kernel dies)
    written by ``write(file)``, back at its start; closed again if the writing fails."""
    # returned open: the caller sends it, then closes it (`with`)
    target = tempfile.TemporaryFile(prefix="clipdrop-download-", suffix=".zip")  # noqa: SIM115
    try:
        write(target)
        target.seek(0, io.SEEK_SET)
    except OSError as exc:
        target.close()
        raise OSError(f"Download all could not build its zip in {tempfile.gettempdir()}: "
                      f"{(exc.strerror or str(exc)).lower()}. Nothing was sent and nothing is "
                      "lost; \"Save all\" writes the results to a folder.") from None
    except BaseException:
        target.close()
        raise
    return target
