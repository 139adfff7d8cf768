"""UploadButton: a file upload that reaches the kernel in pieces, checked before it is sent.

Why this exists (issue 9): ipywidgets' ``FileUpload`` sends the whole file in one websocket
message, and tornado (under JupyterLab, Notebook and Voila) drops any message over 10 MiB
without a word; the upload vanished and the button stopped answering until a reload. Here
the browser (``upload.js``, an anywidget module, no build step) reads the file, checks it
against `UploadRules` (byte size, format, and the pixel size read from the file's
header) before a byte is sent, then sends it in `CHUNK_BYTES` pieces with a progress
bar; Python (`IncomingFile`) reassembles it, checks it again with the same rules
(`check_upload`) and hands it to the widget's handlers. A refused file gets one plain
sentence naming the rule and the file's name, and the button keeps working.

Messages, browser to Python: ``{type: "begin", id, name, size}``; ``{type: "chunk", id,
offset}`` with one buffer; ``{type: "end", id}``; ``{type: "refused", name, message}`` (the
browser refused it: Python only records it). Python to browser: ``{type: "ack", id,
received}`` after each chunk; ``{type: "done", id}`` or ``{type: "refused", id, message}``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import anywidget
import traitlets
from PIL import Image

from ..contract.endpoints import MB, PIL_FORMATS, FileField
from ..contract.errors import ConfigurationError
from ..contract.validation import HARD_PIXEL_LIMIT
from ._esm import esm_source
from .threads import UI_LOCK

__all__ = [
    "CHUNK_BYTES",
    "WINDOW_CHUNKS",
    "READABLE_FORMATS",
    "UploadRules",
    "UploadRefused",
    "check_upload",
    "IncomingFile",
    "UploadButton",
    "simulate_upload",
]

#: Bytes per websocket message while uploading (1 MiB: far under every front end's limit).
CHUNK_BYTES = 1 << 20
#: Chunks the browser may send before Python has acknowledged the first of them.
WINDOW_CHUNKS = 4
#: What the upload reads: the formats the client can send or convert (format name -> word).
READABLE_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}


class UploadRefused(ValueError):
    """A file the upload will not take; the message names the rule and the file."""


@dataclass(frozen=True)
class UploadRules:
    """What an upload accepts; ``None`` means no limit of that kind.

    ``formats`` are format names (``png``, ``jpeg``, ``webp``); ``max_bytes`` bounds the file
    (bytes), ``max_megapixels`` the pixel count (10**6 pixels), ``max_side`` the width and
    height (pixels); ``square`` demands width == height. No image over
    `HARD_PIXEL_LIMIT` pixels is ever taken.
    """

    formats: tuple[str, ...] = tuple(READABLE_FORMATS)
    max_bytes: int | None = None
    max_megapixels: float | None = None
    max_side: int | None = None
    square: bool = False

    @classmethod
    def for_field(cls, field: FileField, *, convert: bool = True) -> UploadRules:
        """The rules of an endpoint's file field (from the endpoint table). With ``convert``
        (default) every readable format is taken, since the client converts the others."""
        return cls(formats=tuple(READABLE_FORMATS) if convert else field.formats,
                   max_bytes=field.max_bytes, max_megapixels=field.max_megapixels,
                   max_side=field.max_side, square=field.square)

    def to_json(self) -> dict[str, Any]:
        """The rules as ``upload.js`` reads them (the ``rules`` trait)."""
        out = asdict(self)
        out["formats"] = list(self.formats)
        out["format_words"] = format_words(self.formats)
        out["max_pixels"] = HARD_PIXEL_LIMIT
        return out


def format_words(formats: tuple[str, ...]) -> str:
    """``("png", "jpeg", "webp")`` -> ``"PNG, JPEG or WebP"``."""
    words = [READABLE_FORMATS.get(f, f.upper()) for f in formats]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def size_words(nbytes: float) -> str:
    """A file size in words: ``"42 KB"`` under a megabyte (a small file is not "0.0 MB"),
    else ``"1.5 MB"`` (10**3 and 10**6 bytes, the units of the service's limits).
    ``upload.js``'s ``sizeWords`` says the same."""
    if nbytes < 999_500:
        return f"{max(1, round(nbytes / 1000))} KB"
    return f"{nbytes / MB:.1f} MB"


def check_upload(rules: UploadRules, name: str, *, nbytes: int, fmt: str | None = None,
                 width: int | None = None, height: int | None = None) -> None:
    """Raise `UploadRefused` when a file breaks ``rules``; facts not known yet are
    ``None`` and not checked. ``upload.js`` refuses with the same words (tested in Node)."""
    quoted = f'"{name}"'
    if rules.max_bytes is not None and nbytes > rules.max_bytes:
        raise UploadRefused(f"{quoted} is {size_words(nbytes)}; the file size limit is "
                            f"{rules.max_bytes / MB:g} MB")
    if fmt is not None and fmt not in rules.formats:
        raise UploadRefused(f"{quoted} is not a {format_words(rules.formats)} image")
    if width is None or height is None:
        return
    pixels = width * height
    if rules.max_megapixels is not None and pixels > rules.max_megapixels * 1_000_000:
        raise UploadRefused(f"{quoted} is {width}x{height} ({pixels / 1e6:.1f} megapixels); "
                            f"the limit is {rules.max_megapixels:g} megapixels")
    if rules.max_side is not None and max(width, height) > rules.max_side:
        raise UploadRefused(f"{quoted} is {width}x{height}; the limit is {rules.max_side} "
                            "pixels a side")
    if pixels > HARD_PIXEL_LIMIT:
        raise UploadRefused(f"{quoted} is {width}x{height}; no image over "
                            f"{HARD_PIXEL_LIMIT // 1_000_000} megapixels is taken")
    if rules.square and width != height:
        raise UploadRefused(f"{quoted} is {width}x{height}; only square images are taken")


def check_upload_bytes(rules: UploadRules, name: str, data: bytes) -> None:
    """`check_upload` on a whole file, its format and size read from its header."""
    check_upload(rules, name, nbytes=len(data))
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, width, height = PIL_FORMATS.get(im.format or "", ""), im.width, im.height
    except Image.DecompressionBombError:
        raise UploadRefused(f'"{name}" declares more pixels than any image is allowed; '
                            "it was not decoded") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a file it cannot read
        fmt, width, height = "", None, None
    if not fmt:
        raise UploadRefused(f'"{name}" is not a {format_words(rules.formats)} image')
    check_upload(rules, name, nbytes=len(data), fmt=fmt, width=width, height=height)


class IncomingFile:
    """One file arriving in chunks, in order, into a buffer of its announced size.

    Raises `UploadRefused` for a size over ``rules.max_bytes`` (before any chunk) and
    ``ValueError`` for a chunk out of order or past the announced size.
    """

    def __init__(self, upload_id: str, name: str, size: int, rules: UploadRules) -> None:
        if size < 0:
            raise ConfigurationError(f"upload {name!r} announced a negative size")
        check_upload(rules, name, nbytes=size)
        self.id, self.name, self.size = upload_id, name, size
        self._buffer = bytearray(size)
        self.received = 0

    def add(self, offset: int, data: bytes | memoryview) -> int:
        """Store the chunk at byte ``offset``; returns the bytes received so far."""
        chunk = memoryview(data).cast("B")
        if offset != self.received:
            raise ConfigurationError(f"upload {self.name!r}: chunk at byte {offset}, expected "
                             f"{self.received}")
        if offset + len(chunk) > self.size:
            raise ConfigurationError(
                f"upload {self.name!r}: more than the announced {self.size} bytes")
        self._buffer[offset:offset + len(chunk)] = chunk
        self.received += len(chunk)
        return self.received

    @property
    def complete(self) -> bool:
        return self.received == self.size

    def data(self) -> bytes:
        """The whole file (``ValueError`` if some of it is missing)."""
        if not self.complete:
            raise ConfigurationError(f"upload {self.name!r} ended after {self.received} of "
                             f"{self.size} bytes")
        return bytes(self._buffer)


class UploadButton(anywidget.AnyWidget):
    """A button that uploads one file in chunks, with progress, checked before sending.

    Args:
        rules: what is accepted (`UploadRules`; default: any readable image).
        description: the button's label (default ``"Upload"``).

    ``on_file(callback)`` registers ``callback(name, data)``, called with each file that
    passed the rules; an exception it raises refuses the file with its message. Traits
    (synced): ``description``, ``rules`` (the rules as JSON), ``chunk_bytes``,
    ``window_chunks``, ``message`` (the last refusal in plain words, ``""`` after a success),
    ``loaded`` (the last file taken, ``""`` before any and after `forget`), ``disabled``.
    """

    _esm = esm_source("upload.js")
    _css = """
.cdw-upload { display: inline-flex; flex-direction: column; gap: 2px; margin: 2px 4px; }
.cdw-upload progress { width: 220px; height: 8px; }
.cdw-upload .cdw-upload-line { font-size: 12px; max-width: 520px; }
.cdw-upload .cdw-upload-refused { color: #b00020; }
.cdw-upload button:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
"""

    description = traitlets.Unicode("Upload").tag(sync=True)
    rules = traitlets.Dict().tag(sync=True)
    chunk_bytes = traitlets.Int(CHUNK_BYTES).tag(sync=True)
    window_chunks = traitlets.Int(WINDOW_CHUNKS).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    loaded = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, *, rules: UploadRules | None = None, description: str = "Upload") -> None:
        self._rules = rules if rules is not None else UploadRules()
        super().__init__(rules=self._rules.to_json(), description=description)
        self._incoming: IncomingFile | None = None
        self._handlers: list[Callable[[str, bytes], object]] = []
        self.on_msg(lambda _w, content, buffers: self._receive(content, buffers))

    @property
    def upload_rules(self) -> UploadRules:
        return self._rules

    def on_file(self, callback: Callable[[str, bytes], object]) -> None:
        """Call ``callback(name, data)`` with every file taken."""
        self._handlers.append(callback)

    def forget(self) -> None:
        """The file taken last is no longer in use (its owner shows another picture): its
        "Loaded "NAME" (size)" line under the button is cleared (``loaded`` becomes ``""``);
        a refusal or an upload under way keeps its line."""
        self.loaded = ""

    def _receive(self, content: dict[str, Any], buffers: list[Any]) -> None:
        # Under UI_LOCK: the file taken replaces a photo a run may be reading (see threads).
        with UI_LOCK:
            self._handle(content, buffers)

    def _handle(self, content: dict[str, Any], buffers: list[Any]) -> None:
        kind, upload_id = content.get("type"), str(content.get("id", ""))
        try:
            if kind == "begin":
                self._incoming = None
                self._incoming = IncomingFile(upload_id, str(content.get("name") or "file"),
                                              int(content.get("size", -1)), self._rules)
            elif kind == "chunk":
                incoming = self._current(upload_id)
                if len(buffers) != 1:
                    raise ConfigurationError(
                        f"an upload chunk needs one buffer, got {len(buffers)}")
                received = incoming.add(int(content.get("offset", -1)), buffers[0])
                self.send({"type": "ack", "id": upload_id, "received": received})
            elif kind == "end":
                incoming = self._current(upload_id)
                self._incoming = None
                self._take(incoming.name, incoming.data())
                self.send({"type": "done", "id": upload_id})
            elif kind == "refused":
                self.message = str(content.get("message", ""))
        except Exception as exc:  # noqa: BLE001 - every refusal is shown to the user
            self._incoming = None
            self.message = str(exc) or type(exc).__name__
            self.send({"type": "refused", "id": upload_id, "message": self.message})

    def _current(self, upload_id: str) -> IncomingFile:
        incoming = self._incoming
        if incoming is None or incoming.id != upload_id:
            raise ConfigurationError("the upload was interrupted; choose the file again")
        return incoming

    def _take(self, name: str, data: bytes) -> None:
        """Check a whole file and hand it to the handlers (what a finished upload does)."""
        check_upload_bytes(self._rules, name, data)
        for handler in list(self._handlers):
            try:
                handler(name, data)
            except UploadRefused:
                raise
            except Exception as exc:
                raise UploadRefused(f'"{name}" could not be loaded: {exc}') from exc
        self.message = ""
        self.loaded = name

    def __repr__(self) -> str:
        return f"UploadButton({self.description!r})"


def simulate_upload(button: UploadButton, name: str, data: bytes, *,
                    chunk_bytes: int = CHUNK_BYTES) -> str:
    """Feed ``button`` the messages ``upload.js`` sends for a file the browser accepted
    (begin, chunks, end), without a browser; returns ``button.message`` (``""``: taken).

    For tests and scripted demos: the kernel side runs exactly as for a real upload.
    """
    upload_id = f"simulated-{name}"
    button._handle({"type": "begin", "id": upload_id, "name": name, "size": len(data)}, [])
    for offset in range(0, len(data), chunk_bytes):
        if button._incoming is None:
            break
        piece = memoryview(data)[offset:offset + chunk_bytes]
        button._handle({"type": "chunk", "id": upload_id, "offset": offset}, [piece])
    if button._incoming is not None:
        button._handle({"type": "end", "id": upload_id}, [])
    return button.message
