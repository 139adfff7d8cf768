"""Downloads to the user's browser: the kernel's disk is not the user's laptop.

In Voila or on Binder a file saved by the kernel stays on the server. `Downloader` is an
invisible anywidget that sends a file's bytes to the page in chunks (custom messages of at most
`CHUNK_BYTES`, far below the 10 MiB a Jupyter server's websocket accepts in one message);
its JavaScript (``download.js``) joins them into a ``Blob`` and clicks a temporary
``<a download>`` link, so the browser saves the file as any download. It works wherever
ipywidgets render: JupyterLab, Notebook 7, Voila, Binder.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable
from typing import IO, Any

import anywidget
import traitlets

from ..api.result import Result
from ..contract.errors import ConfigurationError
from ._esm import esm_source
from ._ui import Layout

__all__ = ["CHUNK_BYTES", "Downloader", "download_name"]

#: Bytes per message (512 KiB).
CHUNK_BYTES = 512 * 1024
_ids = itertools.count(1)


def download_name(result: Result) -> str:
    """The file name a result downloads as: ``<operation>-<date>-<time>.<ext>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
    return f"{result.endpoint}-{stamp}.{result.extension}"


class Downloader(anywidget.AnyWidget):
    """Sends files to the browser as downloads (display it once; it shows nothing).

    Attributes:
        delivered: how many files the page has handed to the browser (set by the page).
        sent: ``(name, size in bytes)`` of every file sent, oldest first.
    """

    _esm = esm_source("download.js")
    delivered = traitlets.Int(0).tag(sync=True)

    def __init__(self) -> None:
        super().__init__(layout=Layout(width="0px", height="0px", overflow="hidden"))
        self.sent: list[tuple[str, int]] = []
        self._shown: list[Callable[[], object]] = []
        self.on_msg(self._handle)

    def on_shown(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when a page connects to this widget (``{kind: "shown"}``, sent
        once per page load)."""
        self._shown.append(callback)

    def _handle(self, _widget: object, content: dict[str, Any], _buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("kind") == "shown":
            for callback in list(self._shown):
                callback()

    def send_file(self, data: bytes | IO[bytes], name: str, *,
                  mime: str = "application/octet-stream") -> None:
        """Send ``data`` for the browser to save as ``name`` (a ``mime`` type for the Blob).

        ``data`` is the bytes, or a binary file open for reading (a big zip on disk): it is
        then read from where it stands to its end, one chunk at a time, never whole."""
        if not name or "/" in name or "\\" in name:
            raise ConfigurationError(f"a download needs a plain file name, got {name!r}")
        if isinstance(data, (bytes, bytearray, memoryview)):
            source: IO[bytes] = io.BytesIO(data)
            size = len(source.getbuffer())
        else:
            source, start = data, data.tell()
            size = data.seek(0, io.SEEK_END) - start
            data.seek(start)
        count = max(1, -(-size // CHUNK_BYTES))
        file_id = next(_ids)
        for index in range(count):
            chunk = source.read(CHUNK_BYTES)
            self.send({"kind": "chunk", "id": file_id, "index": index, "count": count,
                       "name": name, "mime": mime}, buffers=[chunk])
        self.sent.append((name, size))

    def __repr__(self) -> str:
        return f"Downloader({len(self.sent)} files sent)"
