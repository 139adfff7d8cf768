"""What one successful call returns: the image bytes and what the service said about them."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..contract.endpoints import (
    CONTENT_TYPE_FORMATS,
    FORMAT_CONTENT_TYPES,
    FORMAT_EXTENSIONS,
    PIL_FORMATS,
    Endpoint,
)
from ..contract.errors import InvalidResponseError

if TYPE_CHECKING:  # pragma: no cover
    import requests

__all__ = ["Result", "parse_credits", "result_from_answer"]


def parse_credits(value: str | None) -> float | None:
    """A credits header as a number: ``None`` when absent or unreadable; fractions kept."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return int(number) if number.is_integer() else number


@dataclass(eq=False)
class Result:
    """One result image.

    Attributes:
        data: the image file exactly as received (bytes).
        content_type: its MIME type from the response (``image/png``, ``image/jpeg``, ...).
        endpoint: the operation's name (``"cleanup"``).
        inputs: the text inputs and a description of the files sent (never the API key).
        credits_consumed: from ``x-credits-consumed``; ``None`` when the server did not say.
        remaining_credits: from ``x-remaining-credits``; ``None`` when absent.
        elapsed: seconds from sending the request to the full answer (0 for a cache hit).
        from_cache: ``True`` when nothing was sent because the cache had the answer.
        source: ``"local engine"`` for offline previews, else ``"service"``.
        created: wall-clock time (seconds since the epoch) the result arrived.
        notices: what the client changed for you before sending (an inverted sketch...),
            then what is not as documented in the answer (see ``doubts``).
        doubts: the notices about the answer itself: an image of another size or type than
            documented, a mislabelled type, credit headers that cannot be right. The result
            is kept (it was paid for); the apps show it with a warning, not a plain "Done".
        files: the bytes of each file sent, by form field (``{"image_file": b"..."}``), so a
            session can keep the inputs and the result can be made again; empty when unknown.
    """

    data: bytes
    content_type: str
    endpoint: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    credits_consumed: float | None = None
    remaining_credits: float | None = None
    elapsed: float = 0.0
    from_cache: bool = False
    source: str = "service"
    created: float = field(default_factory=time.time)
    notices: tuple[str, ...] = ()
    doubts: tuple[str, ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    _image: Image.Image | None = field(default=None, repr=False)
    _size: tuple[int, int] | None = field(default=None, repr=False)
    # not an argument: `dataclasses.replace` never carries a hash over to other bytes
    _sha256: str | None = field(default=None, repr=False, init=False)

    @property
    def sha256(self) -> str:
        """The SHA-256 of `data` in hex (hashed once, on first use)."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.data).hexdigest()
        return self._sha256

    @property
    def image(self) -> Image.Image:
        """The decoded image (decoded once, on first use)."""
        if self._image is None:
            try:
                im = Image.open(io.BytesIO(self.data))
                im.load()
            except Exception as exc:  # noqa: BLE001 - any decoding failure means the same
                raise InvalidResponseError(
                    f"{self.endpoint}: the response claims {self.content_type} but its "
                    f"{len(self.data)} bytes are not a readable image ({type(exc).__name__})"
                ) from None
            self._image = im
        return self._image

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, from the header: no pixel is decoded for it."""
        if self._size is None:
            if self._image is not None:
                self._size = self._image.size
            else:
                try:
                    with Image.open(io.BytesIO(self.data)) as im:
                        self._size = im.size
                except Exception:  # noqa: BLE001
                    return self.image.size  # raises the clear error
        return self._size

    @property
    def width(self) -> int:
        """The image's width in pixels."""
        return self.size[0]

    @property
    def height(self) -> int:
        """The image's height in pixels."""
        return self.size[1]

    @property
    def format(self) -> str:
        """``png``, ``jpeg`` or ``webp``, from the content type."""
        return CONTENT_TYPE_FORMATS.get(self.content_type, self.content_type)

    @property
    def extension(self) -> str:
        """The file extension for this image: ``png``, ``jpg`` or ``webp``."""
        return FORMAT_EXTENSIONS.get(self.format, self.format)

    @property
    def is_preview(self) -> bool:
        """True for the local engine's offline previews."""
        return self.source == "local engine"

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the image as received (no re-encoding) with its record inside (XMP: see
        [`read_record`][clipdrop_widgets.read_record]); returns the path.

        A path without an extension gets the one matching the content type. The file is
        built first, written to a temporary file beside it, synced, then renamed over it: a
        kill or an error at any moment leaves the file as it was or the new one, whole (a
        killed save's hidden ``.<name>.*.tmp`` is removed by the next save to that path).
        """
        from .records import recorded_bytes  # records builds on this module
        from .storage import remove_stale_temporaries, temporaries_of, write_atomic

        path = os.fspath(path)
        if not os.path.splitext(path)[1]:
            path += "." + self.extension
        write_atomic(path, recorded_bytes(self))
        remove_stale_temporaries(os.path.dirname(path) or ".", temporaries_of(path))
        return path

    def summary(self) -> str:
        """One line for people: operation, size, format, credits (stable across runs)."""
        credits = "" if self.credits_consumed is None else \
            f", {self.credits_consumed:g} credit{'' if self.credits_consumed == 1 else 's'}"
        left = "" if self.remaining_credits is None else f", {self.remaining_credits:g} left"
        cached = ", from cache" if self.from_cache else ""
        preview = ", offline preview" if self.is_preview else ""
        return (f"{self.endpoint}: {self.width}x{self.height} {self.content_type}"
                f"{credits}{left}{cached}{preview}")

    def __repr__(self) -> str:
        return f"<Result {self.summary()}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        if self.content_type in ("image/png", "image/jpeg"):
            bundle[self.content_type] = self.data
        else:  # notebooks cannot show WebP everywhere: show a PNG copy
            buf = io.BytesIO()
            self.image.save(buf, "PNG")
            bundle["image/png"] = buf.getvalue()
        return bundle


def result_from_answer(ep: Endpoint, response: requests.Response, inputs: dict[str, Any],
                       elapsed: float, *, local: bool) -> Result:
    """The `Result` of a complete 2xx answer, after a cheap check of the image.

    The check reads the header (format, size: at most the endpoint's
    `max_answer_pixels`, so no pixel is decoded
    for a bomb) and PNG checksums; pixels decode on first use. Raises
    `InvalidResponseError` when the body is not a readable image of a type this toolkit
    handles; a good image under another type's label is kept under its true type, the
    mislabel in ``doubts``.
    """
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    data = response.content
    if not content_type.startswith("image/"):
        raise InvalidResponseError(
            f"{ep.name}: the server answered 200 with {content_type or 'no content type'} "
            f"({len(data)} bytes), not an image", response=response)
    size: tuple[int, int] | None = None
    try:
        with Image.open(io.BytesIO(data)) as im:
            actual = PIL_FORMATS.get(im.format or "", (im.format or "").lower())
            size = im.size
            if size[0] * size[1] > ep.max_answer_pixels:
                raise _TooManyPixels(size)
            im.verify()
    except (_TooManyPixels, Image.DecompressionBombError):
        what = f"a {size[0]}x{size[1]} image" if size else "an image"
        raise InvalidResponseError(
            f"{ep.name}: the server sent {what}, more than the {ep.max_answer_pixels} pixels "
            f"an answer of {ep.name} may have; it was not decoded", response=response) from None
    except Exception as exc:  # noqa: BLE001 - every decoding failure means the same
        raise InvalidResponseError(
            f"{ep.name}: the server answered 200 with {content_type}, but its {len(data)} "
            f"bytes are not a readable image ({type(exc).__name__})",
            response=response) from None
    claimed = CONTENT_TYPE_FORMATS.get(content_type)
    doubts: tuple[str, ...] = ()
    if claimed is not None and actual != claimed:
        if actual not in FORMAT_CONTENT_TYPES:  # no type this toolkit handles
            raise InvalidResponseError(
                f"{ep.name}: the server said {content_type} but sent a {actual.upper()} "
                "image", response=response)
        # a good image, paid for: kept under its true type, and the mislabel said
        doubts = (f"{ep.name}: the server said {content_type} but sent a {actual.upper()} "
                  f"image; it is kept as the {actual.upper()} it is",)
        content_type = FORMAT_CONTENT_TYPES[actual]
    consumed = parse_credits(response.headers.get("x-credits-consumed"))
    remaining = parse_credits(response.headers.get("x-remaining-credits"))
    source = ("local engine" if local
              or response.headers.get("x-clipdrop-engine") == "local-preview" else "service")
    return Result(data, content_type, ep.name, inputs, credits_consumed=consumed,
                  remaining_credits=remaining, elapsed=elapsed, source=source, doubts=doubts,
                  _size=size)


class _TooManyPixels(Exception):
    pass
