"""The documented input rules, checked against the endpoint table
([`ENDPOINTS`][clipdrop_widgets.ENDPOINTS]).

Pure functions shared by the client (before it spends a credit) and the local engine (which
answers 400 with the same words). Images are inspected from their header first: sizes and
pixel counts are checked before any pixel is decoded, so a decompression bomb is refused
without being unpacked.
"""

from __future__ import annotations

import io
import numbers
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from PIL import Image

from .endpoints import PIL_FORMATS, Endpoint, FileField, IntField, TextField
from .errors import InputError

__all__ = ["ImageFacts", "has_alpha", "inspect_image", "check_text", "check_integer",
           "check_answer_size", "check_file", "check_mask_pixels", "grey_pixel_count",
           "validate_request", "canonical_texts", "HARD_PIXEL_LIMIT"]

def has_alpha(image: Image.Image) -> bool:
    """Whether ``image`` can be see-through anywhere: an alpha band (``RGBA``, ``LA``, ``PA``,
    premultiplied ``RGBa``/``La``) or a transparent palette entry or colour (``transparency``).
    """
    return any(band in ("A", "a") for band in image.getbands()) or "transparency" in image.info


_DECIMAL = re.compile(r"[+-]?[0-9]+")
#: More decimal digits than any integer field's range needs: refused by length, before int().
_MAX_DIGITS = 18

#: No image larger than this is ever decoded, whatever the endpoint (pixels).
HARD_PIXEL_LIMIT = 64_000_000


@dataclass(frozen=True)
class ImageFacts:
    """What an image file's header says: format name, size in pixels, mode, and byte count."""

    format: str
    width: int
    height: int
    mode: str
    nbytes: int

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000


def _fmt_bytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _over_bytes(n: int, limit: int) -> str:
    """"N; the limit is L" in MB, or exact bytes when rounding would make N look within L."""
    if _fmt_bytes(n) == _fmt_bytes(limit):
        return f"{n:,} bytes; the limit is {limit:,} bytes"
    return f"{_fmt_bytes(n)}; the limit is {_fmt_bytes(limit)}"


def _over_pixels(w: int, h: int, limit: float) -> str:
    """"WxH (M megapixels); the limit is L megapixels", exact pixels when rounding hides it."""
    if f"{w * h / 1e6:.1f}" == f"{limit:.1f}":
        return (f"{w}x{h} ({w * h:,} pixels); the limit is {limit:g} megapixels "
                f"({round(limit * 1_000_000):,} pixels)")
    return f"{w}x{h} ({w * h / 1e6:.1f} megapixels); the limit is {limit:g} megapixels"


def inspect_image(data: bytes, field: str = "image") -> ImageFacts:
    """Read an image's header (no pixel is decoded).

    Raises [`InputError`][clipdrop_widgets.InputError] if unreadable.
    """
    try:
        # (No warnings.catch_warnings here: it swaps global state and this runs in worker
        # threads. Pillow's bomb warning starts above 89 MP, which check_file refuses anyway.)
        with Image.open(io.BytesIO(data)) as im:
            fmt = PIL_FORMATS.get(im.format or "", (im.format or "unknown").lower())
            return ImageFacts(fmt, im.width, im.height, im.mode, len(data))
    except Image.DecompressionBombError:
        raise InputError(
            f"{field} declares more than {HARD_PIXEL_LIMIT // 1_000_000} megapixels; "
            "it was refused without being decoded",
            field=field, rule="pixel limit",
        ) from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a bad file
        raise InputError(
            f"{field} is not a readable image ({_fmt_bytes(len(data))}); "
            "send a PNG, JPEG or WebP file",
            field=field, rule="format",
        ) from None


def check_text(endpoint: Endpoint, field: TextField, value: str | None) -> None:
    """Check one text field: presence, emptiness, length in characters, allowed values."""
    name = field.name
    if value is None:
        if field.required:
            raise InputError(f"{name} is required by {endpoint.path}", field=name, rule="required")
        return
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {type(value).__name__}",
                         field=name, rule="type")
    if field.required and not field.allow_empty and not value.strip():
        raise InputError(f"{name} is empty; {endpoint.path} needs a non-empty {name}",
                         field=name, rule="required")
    if field.max_chars is not None and len(value) > field.max_chars:
        raise InputError(
            f"{name} is {len(value)} characters; {endpoint.path} accepts at most "
            f"{field.max_chars}", field=name, rule="max_chars")
    if field.choices is not None and value not in field.choices:
        allowed = " or ".join(repr(c) for c in field.choices)
        raise InputError(f"{name} is {value!r}; it must be {allowed}", field=name, rule="choices")


def check_integer(endpoint: Endpoint, field: IntField, value: object) -> int | None:
    """Check one integer field: presence, kind and ``minimum``..``maximum``.

    Taken: an integer (``int`` or a numpy integer; not a bool) or decimal text as on the wire
    (ASCII digits, an optional sign, spaces around). Empty text is refused, even for an optional
    field (leave the field out instead). Returns the value as an ``int`` (``None`` if not
    given); `canonical_texts` sends that ``int``'s own text.
    """
    name = field.name
    if value is None:
        if field.required:
            raise InputError(f"{name} is required by {endpoint.path}", field=name, rule="required")
        return None
    if isinstance(value, str) and not value.strip():
        raise InputError(f"{name} is empty; give a whole number, or leave {name} out",
                         field=name, rule="type")
    number: int | None = None
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        digits = len(value.strip().lstrip("+-").lstrip("0"))
        if digits > _MAX_DIGITS:  # (int() of thousands of digits is slow, then refused)
            raise InputError(
                f"{name} is a {digits}-digit number; {endpoint.path} accepts "
                f"{field.minimum} to {field.maximum}", field=name, rule="range")
        number = int(value.strip())
    elif integral:
        number = int(value)  # type: ignore[call-overload]
    if number is None:
        raise InputError(f"{name} must be a whole number, got {value!r}", field=name,
                         rule="type")
    if not field.minimum <= number <= field.maximum:
        raise InputError(
            f"{name} is {number}; {endpoint.path} accepts {field.minimum} to {field.maximum}",
            field=name, rule="range")
    return number


def canonical_texts(endpoint: Endpoint, texts: Mapping[str, object]) -> dict[str, str]:
    """The text fields as sent: ``None`` left out, each integer field as its ``int``'s own text
    (``" +10"`` and ``np.int64(10)`` go as ``10``, ``"-0"`` as ``0``). Call after
    `validate_request`."""
    ints = {f.name: f for f in endpoint.int_fields}
    return {k: str(check_integer(endpoint, ints[k], v)) if k in ints else str(v)
            for k, v in texts.items() if v is not None}


def check_answer_size(endpoint: Endpoint, texts: Mapping[str, object],
                      facts: ImageFacts | None) -> None:
    """An answer whose size the call sets (uncrop's extended frame) must keep at least one
    pixel each way and stay within the endpoint's ``max_answer_pixels``."""
    if endpoint.output_size != "extended" or facts is None:
        return
    w, h = endpoint.answer_size(texts, facts.size)  # type: ignore[misc]
    if w < 1 or h < 1:
        fields = " and ".join(["extend_left + extend_right"] * (w < 1) +
                              ["extend_up + extend_down"] * (h < 1))
        raise InputError(
            f"{fields} leave {w}x{h} of the {facts.width}x{facts.height} image; "
            "cropping must keep at least 1 pixel each way", field="extend", rule="crop")
    if w * h > endpoint.max_answer_pixels:
        raise InputError(
            f"the extended image would be "
            f"{_over_pixels(w, h, endpoint.max_answer_pixels / 1e6)} (for answers)",
            field="extend", rule="answer size")


def check_file(field: FileField, facts: ImageFacts) -> None:
    """Check a file's format, byte size, side, pixel count and squareness from its header."""
    name = field.name
    if facts.format not in field.formats:
        allowed = ", ".join(f.upper() for f in field.formats)
        raise InputError(f"{name} is {facts.format.upper()}; it must be {allowed}",
                         field=name, rule="format")
    if field.max_bytes is not None and facts.nbytes > field.max_bytes:
        raise InputError(
            f"{name} is {_over_bytes(facts.nbytes, field.max_bytes)}", field=name,
            rule="max_bytes")
    pixels = facts.width * facts.height
    # The field's own limit first: it is the one its rules list, so the refusal quotes it.
    if field.max_megapixels is not None and pixels > field.max_megapixels * 1_000_000:
        raise InputError(
            f"{name} is {_over_pixels(facts.width, facts.height, field.max_megapixels)}",
            field=name, rule="max_megapixels")
    if pixels > HARD_PIXEL_LIMIT:
        raise InputError(
            f"{name} is {facts.width}x{facts.height}; no image over "
            f"{HARD_PIXEL_LIMIT // 1_000_000} megapixels is accepted",
            field=name, rule="pixel limit")
    if field.max_side is not None and max(facts.width, facts.height) > field.max_side:
        raise InputError(
            f"{name} is {facts.width}x{facts.height}; width and height must be at most "
            f"{field.max_side} pixels", field=name, rule="max_side")
    if field.square and facts.width != facts.height:
        raise InputError(
            f"{name} is {facts.width}x{facts.height}; only square images are supported",
            field=name, rule="square")


def check_same_size(field: FileField, facts: ImageFacts, other: ImageFacts) -> None:
    """A mask must have exactly the image's resolution (never resized for you)."""
    if facts.size != other.size:
        raise InputError(
            f"{field.name} is {facts.width}x{facts.height} but {field.same_size_as} is "
            f"{other.width}x{other.height}; a mask must have the image's resolution",
            field=field.name, rule="same_size")


_GREY_LUT = [0] + [1] * 254 + [0]


def grey_pixel_count(im: Image.Image) -> int:
    """How many pixels of ``im`` (as ``L``) are neither 0 nor 255; fast when there are none."""
    grey = im.convert("L") if im.mode != "L" else im
    if grey.point(_GREY_LUT).getbbox() is None:
        return 0
    return sum(grey.histogram()[1:255])


def check_mask_pixels(field: FileField, data: bytes) -> None:
    """A mask may hold only the values 0 and 255 (decodes the file: check sizes first)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            others = grey_pixel_count(im)
    except Exception:  # noqa: BLE001 - a damaged file, whatever Pillow calls it
        raise InputError(f"{field.name} could not be decoded: the PNG is damaged or truncated",
                         field=field.name, rule="format") from None
    if others:
        raise InputError(
            f"{field.name} has {others} grey pixels; a mask must be black and white, "
            "values 0 (keep) and 255 (change) only",
            field=field.name, rule="binary")


def validate_request(
    endpoint: Endpoint,
    texts: Mapping[str, str | int | None],
    files: Mapping[str, bytes | None],
    *,
    binary_checked: Collection[str] = (),
    unchecked: Collection[str] = (),
) -> dict[str, ImageFacts]:
    """Check a whole request against ``endpoint``'s rules; returns the files' facts.

    Raises [`InputError`][clipdrop_widgets.InputError] at the first rule broken, naming the field,
    the rule and the value seen. Pixels are decoded only for the mask's 0/255 check, after every
    size check; ``binary_checked`` names masks whose pixels the caller has already checked;
    ``unchecked`` names text fields the caller checks itself.
    """
    for tf in endpoint.text_fields:
        if tf.name not in unchecked:
            check_text(endpoint, tf, texts.get(tf.name))
    for nf in endpoint.int_fields:
        check_integer(endpoint, nf, texts.get(nf.name))
    facts: dict[str, ImageFacts] = {}
    for ff in endpoint.file_fields:
        data = files.get(ff.name)
        if data is None or len(data) == 0:
            if ff.required:
                raise InputError(f"{ff.name} is required by {endpoint.path}",
                                 field=ff.name, rule="required")
            continue
        facts[ff.name] = inspect_image(data, ff.name)
        check_file(ff, facts[ff.name])
    for ff in endpoint.file_fields:
        if ff.same_size_as and ff.name in facts and ff.same_size_as in facts:
            check_same_size(ff, facts[ff.name], facts[ff.same_size_as])
    image = endpoint.image_field
    check_answer_size(endpoint, texts, facts.get(image.name) if image is not None else None)
    for ff in endpoint.file_fields:
        if ff.binary and ff.name in facts and ff.name not in binary_checked:
            check_mask_pixels(ff, files[ff.name])  # type: ignore[arg-type]
    return facts
