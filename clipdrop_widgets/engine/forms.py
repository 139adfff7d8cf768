"""Reading a request's form: body limits and a push parser into the contract's fields.

`FormReader` is fed the body chunk by chunk, as it arrives (the tornado server feeds it
from ``data_received``; `parse_form` feeds it from a blocking stream). Multipart bodies
are parsed by the ``multipart`` package's `multipart.PushMultipartParser` (the streaming
parser behind Bottle), url-encoded ones by `urllib.parse.parse_qsl`: no hand-written
parser. Bytes are counted as they arrive, so no body larger than the endpoint's limit is ever
held, whether its length was announced or not. Parsing never decodes an image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import parse_qsl

import multipart

from ..contract.endpoints import MB, UNSTATED_FILE_CAP, Endpoint, FileField

__all__ = [
    "DEFAULT_FILE_CAP",
    "TEXT_FIELD_CAP",
    "PART_OVERHEAD",
    "FormError",
    "BodyTooLargeError",
    "Form",
    "FormReader",
    "body_cap",
    "check_announced",
    "parse_form",
]

#: Byte limit of a file field whose endpoint states none (sketch to image): the contract's.
DEFAULT_FILE_CAP = UNSTATED_FILE_CAP
#: Least byte allowance per text field; 12 bytes per allowed character when that is more
#: (4 bytes of UTF-8, tripled by percent-encoding), so a prompt that is too long still reaches
#: validation and gets its own message.
TEXT_FIELD_CAP = 64 * 1024
#: Allowance per field for multipart boundaries and part headers (bytes).
PART_OVERHEAD = 4 * 1024
#: Parts beyond the endpoint's own fields that are tolerated (and ignored).
EXTRA_PARTS = 8
_READ_SIZE = 64 * 1024
_T = TypeVar("_T")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class FormError(ValueError):
    """The body is not a readable form (malformed multipart, wrong type, cut short): a 400."""


class BodyTooLargeError(FormError):
    """The body is larger than the endpoint accepts (``size`` may be a lower bound)."""

    def __init__(self, path: str, *, size: int, cap: int, announced: bool):
        limit = f"{cap} bytes" + (f" ({cap / MB:.1f} MB)" if cap >= MB else "")
        seen = f"is {size} bytes" if announced else "is over the limit"
        super().__init__(f"request body {seen}; {path} accepts at most {limit}")
        self.size = size
        self.cap = cap


@dataclass
class Form:
    """A parsed form: text fields as strings, file fields as raw bytes, by wire name."""

    texts: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def _file_cap(f: FileField) -> int:
    return f.max_bytes if f.max_bytes is not None else DEFAULT_FILE_CAP


def _text_cap(max_chars: int | None) -> int:
    return max(TEXT_FIELD_CAP, 12 * (max_chars or 0))


def _part_cap(endpoint: Endpoint) -> int:
    """The largest single part the endpoint can need (bytes)."""
    caps = [_file_cap(f) for f in endpoint.file_fields]
    caps += [_text_cap(f.max_chars) for f in endpoint.text_fields]
    return max(caps, default=TEXT_FIELD_CAP)


def body_cap(endpoint: Endpoint) -> int:
    """The largest body ``endpoint`` accepts (bytes).

    The sum of its files' ``max_bytes`` (`DEFAULT_FILE_CAP` where none is stated), a text
    allowance per text field, and `PART_OVERHEAD` per field and once more for the
    closing boundary.
    """
    files = sum(_file_cap(f) for f in endpoint.file_fields)
    texts = sum(_text_cap(f.max_chars) for f in endpoint.text_fields)
    return files + texts + PART_OVERHEAD * (len(endpoint.fields) + 1)


def check_announced(endpoint: Endpoint, length: int | None) -> None:
    """Refuse a body announced (Content-Length, bytes) larger than `body_cap`."""
    cap = body_cap(endpoint)
    if length is not None and length > cap:
        raise BodyTooLargeError(endpoint.path, size=length, cap=cap, announced=True)


def _assign(endpoint: Endpoint, form: Form, name: str, data: bytes, charset: str) -> None:
    """Store one field by its declared kind: the first of duplicates wins, unknowns are dropped."""
    if name in form.texts or name in form.files:
        return
    try:
        declared = endpoint.field(name)
    except KeyError:
        return
    if isinstance(declared, FileField):
        form.files[name] = data
        return
    try:
        form.texts[name] = data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise FormError(f"{name} is not valid {charset} text") from None


class FormReader:
    """A form read as its body arrives: `feed` each chunk, then `close`.

    Args:
        endpoint: the endpoint whose fields and limits apply.
        content_type: the request's ``Content-Type`` header (``None`` if absent).
        length: the announced Content-Length in bytes, ``None`` when unknown (chunked).

    Raises `BodyTooLargeError` from the constructor for a body announced over
    `body_cap` and from `feed` as soon as more bytes than that arrive;
    `FormError` for anything else that is not a readable form. Only the parts of
    declared fields are kept (each up to the largest part the endpoint needs).
    """

    def __init__(self, endpoint: Endpoint, content_type: str | None, length: int | None):
        check_announced(endpoint, length)
        self.endpoint = endpoint
        self.received = 0  # body bytes fed so far
        self._length = length
        self._cap = body_cap(endpoint)
        self._form = Form()
        self._parser: multipart.PushMultipartParser | None = None
        self._urlencoded: list[bytes] | None = None
        self._part: tuple[str, str, list[bytes]] | None = None  # name, charset, chunks
        kind, options = multipart.parse_options_header(content_type or "")
        if length == 0:
            return  # an empty body is an empty form, whatever its type
        if kind == "multipart/form-data":
            boundary = options.get("boundary", "")
            if not boundary:
                raise FormError("multipart/form-data without a boundary")
            self._parser = self._guard(lambda: multipart.PushMultipartParser(
                boundary, -1 if length is None else length,
                max_segment_count=len(endpoint.fields) + EXTRA_PARTS,
                max_segment_size=_part_cap(endpoint)))
        elif kind == "application/x-www-form-urlencoded":
            self._urlencoded = []
        else:
            got = f"not {kind}" if kind else "and the request has no Content-Type"
            raise FormError(f"the body must be multipart/form-data, {got}")

    def _guard(self, step: Callable[[], _T]) -> _T:
        """Run a parser step, its errors as `FormError` in the engine's words."""
        try:
            return step()
        except multipart.ParserLimitReached as err:
            raise FormError(f"the form is over {self.endpoint.path}'s limits: {err}") from None
        except multipart.MultipartError as err:
            raise FormError(f"malformed multipart/form-data body: {err}") from None

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of the body (a non-empty ``bytes``)."""
        self.received += len(chunk)
        if self.received > self._cap:
            raise BodyTooLargeError(self.endpoint.path, size=self.received, cap=self._cap,
                                    announced=False)
        if self._length is not None and self.received > self._length:
            raise FormError(f"the request body is longer than the {self._length} bytes "
                            "announced")
        if self._urlencoded is not None:
            self._urlencoded.append(chunk)
        elif self._parser is not None:
            self._guard(lambda: self._events(chunk))

    def _events(self, chunk: bytes) -> None:
        assert self._parser is not None
        for event in self._parser.parse(chunk):
            if isinstance(event, multipart.MultipartSegment):
                self._part = (event.name or "", event.charset or "utf-8", [])
            elif event is None:
                if self._part is not None:
                    name, charset, chunks = self._part
                    self._part = None
                    _assign(self.endpoint, self._form, name, b"".join(chunks), charset)
            elif self._part is not None:
                self._part[2].append(bytes(event))

    def close(self) -> Form:
        """The form, once the whole body was fed. Raises `FormError` if it is cut short."""
        if self._length is not None and self.received < self._length:
            raise FormError(f"the request body ended after {self.received} bytes; "
                            f"{self._length} were announced")
        if self._parser is not None:
            self._guard(self._parser.close)  # raises if the closing boundary never came
        elif self._urlencoded is not None:
            self._read_urlencoded(b"".join(self._urlencoded))
            self._urlencoded = None
        form, self._form = self._form, Form()
        return form

    def _read_urlencoded(self, data: bytes) -> None:
        try:
            # latin-1 keeps every byte as one character, so values come back byte for byte.
            pairs = parse_qsl(data.decode("ascii"), keep_blank_values=True, encoding="latin-1",
                              max_num_fields=len(self.endpoint.fields) + EXTRA_PARTS)
        except ValueError as err:  # non-ASCII body, or too many fields
            raise FormError(
                f"malformed application/x-www-form-urlencoded body: {err}") from None
        for name, value in pairs:
            _assign(self.endpoint, self._form, name, value.encode("latin-1"), "utf-8")


def parse_form(endpoint: Endpoint, content_type: str | None, stream: Readable,
               length: int | None) -> Form:
    """Parse a request body for ``endpoint`` from a blocking ``stream``.

    ``content_type`` is the request's header (``None`` if absent); ``length`` its
    Content-Length in bytes, ``None`` when unknown (chunked). A body announced larger than
    `body_cap` is refused before a byte is read; an unannounced one as soon as it passes
    the cap. An empty body is an empty form (validation then names the missing fields).
    Raises `FormError` (or `BodyTooLargeError`).
    """
    reader = FormReader(endpoint, content_type, length)
    if length == 0:
        return reader.close()
    left = length
    while left is None or left > 0:
        try:
            chunk = stream.read(_READ_SIZE if left is None else min(_READ_SIZE, left))
        except OSError as err:
            raise FormError(f"the request body could not be read ({err})") from None
        if not chunk:
            break
        reader.feed(chunk)
        if left is not None:
            left -= len(chunk)
    return reader.close()
