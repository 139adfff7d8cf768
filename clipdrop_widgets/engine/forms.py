"""Reading a request's form: body limits, a capped reader, and the form parsers.

Multipart bodies are parsed by the ``multipart`` package (the streaming parser behind Bottle),
url-encoded ones by `urllib.parse.parse_qsl`: no hand-written parser. Both work on a
stream read through `CappedReader`, so no body larger than the endpoint's limit is ever
held, whether its length was announced or not. Parsing never decodes an image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl

import multipart

from ..contract.endpoints import MB, Endpoint, FileField

__all__ = [
    "DEFAULT_FILE_CAP",
    "TEXT_FIELD_CAP",
    "PART_OVERHEAD",
    "FormError",
    "BodyTooLargeError",
    "Form",
    "CappedReader",
    "body_cap",
    "parse_form",
]

#: Byte limit of a file field whose endpoint states none (sketch to image): 30 MB.
DEFAULT_FILE_CAP = 30 * MB
#: Least byte allowance per text field; 12 bytes per allowed character when that is more
#: (4 bytes of UTF-8, tripled by percent-encoding), so a prompt that is too long still reaches
#: validation and gets its own message.
TEXT_FIELD_CAP = 64 * 1024
#: Allowance per field for multipart boundaries and part headers (bytes).
PART_OVERHEAD = 4 * 1024
#: Parts beyond the endpoint's own fields that are tolerated (and ignored).
EXTRA_PARTS = 8
_READ_SIZE = 64 * 1024


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


class CappedReader:
    """Reads at most ``length`` bytes (or to the end when ``None``), refusing past ``cap``.

    Raises `BodyTooLargeError` as soon as more than ``cap`` bytes arrive, and
    `FormError` when the stream fails or ends before ``length`` bytes.
    """

    def __init__(self, stream: Readable, *, length: int | None, cap: int, path: str):
        self._stream = stream
        self._remaining = length
        self._cap = cap
        self._path = path
        self.consumed = 0

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return self._read_all()
        if self._remaining is not None:
            size = min(size, self._remaining)
        if size == 0:
            return b""
        try:
            data = self._stream.read(size)
        except OSError as err:
            raise FormError(f"the request body could not be read ({err})") from None
        if self._remaining is not None:
            if not data:
                raise FormError(
                    f"the request body ended after {self.consumed} bytes; "
                    f"{self.consumed + self._remaining} were announced")
            self._remaining -= len(data)
        self.consumed += len(data)
        if self.consumed > self._cap:
            raise BodyTooLargeError(self._path, size=self.consumed, cap=self._cap,
                                    announced=False)
        return data

    def _read_all(self) -> bytes:
        chunks = []
        while chunk := self.read(_READ_SIZE):
            chunks.append(chunk)
        return b"".join(chunks)


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


def _parse_multipart(endpoint: Endpoint, reader: CappedReader, boundary: str,
                     length: int | None, cap: int) -> Form:
    if not boundary:
        raise FormError("multipart/form-data without a boundary")
    form = Form()
    parser = multipart.MultipartParser(
        reader,
        boundary,
        -1 if length is None else length,
        part_limit=len(endpoint.fields) + EXTRA_PARTS,
        partsize_limit=_part_cap(endpoint),
        spool_limit=cap,
        memory_limit=cap,
    )
    try:
        for part in parser:
            try:
                _assign(endpoint, form, part.name, part.raw, part.charset)
            finally:
                part.close()
    except multipart.ParserLimitReached as err:
        raise FormError(f"the form is over {endpoint.path}'s limits: {err}") from None
    except multipart.MultipartError as err:
        raise FormError(f"malformed multipart/form-data body: {err}") from None
    return form


def _parse_urlencoded(endpoint: Endpoint, reader: CappedReader) -> Form:
    data = reader.read()
    try:
        # latin-1 keeps every byte as one character, so values come back byte for byte.
        pairs = parse_qsl(data.decode("ascii"), keep_blank_values=True, encoding="latin-1",
                          max_num_fields=len(endpoint.fields) + EXTRA_PARTS)
    except ValueError as err:  # non-ASCII body, or too many fields
        raise FormError(f"malformed application/x-www-form-urlencoded body: {err}") from None
    form = Form()
    for name, value in pairs:
        _assign(endpoint, form, name, value.encode("latin-1"), "utf-8")
    return form


def parse_form(endpoint: Endpoint, content_type: str | None, stream: Readable,
               length: int | None) -> Form:
    """Parse a request body for ``endpoint``.

    ``content_type`` is the request's header (``None`` if absent); ``length`` its
    Content-Length in bytes, ``None`` when unknown (chunked). A body announced larger than
    `body_cap` is refused before a byte is read; an unannounced one as soon as it passes
    the cap. An empty body is an empty form (validation then names the missing fields).
    Raises `FormError` (or `BodyTooLargeError`).
    """
    cap = body_cap(endpoint)
    if length is not None and length > cap:
        raise BodyTooLargeError(endpoint.path, size=length, cap=cap, announced=True)
    if length == 0:
        return Form()
    kind, options = multipart.parse_options_header(content_type or "")
    reader = CappedReader(stream, length=length, cap=cap, path=endpoint.path)
    if kind == "multipart/form-data":
        return _parse_multipart(endpoint, reader, options.get("boundary", ""), length, cap)
    if kind == "application/x-www-form-urlencoded":
        return _parse_urlencoded(endpoint, reader)
    got = f"not {kind}" if kind else "and the request has no Content-Type"
    raise FormError(f"the body must be multipart/form-data, {got}")
