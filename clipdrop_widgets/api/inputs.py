"""Turning what users hold (PIL images, arrays, paths, bytes, results) into request files.

A file that already satisfies the endpoint's rules is sent byte for byte. Everything else is
encoded losslessly, and what was changed is appended to a list of notices (plain strings; the
client shows them as `ClipdropNotice` warnings and keeps them on the result):
masks become strict 0/255 PNGs, black-on-white sketches are inverted, a photo in a format the
endpoint does not take (GIF, BMP, TIFF) is sent as PNG, with a notice; an animation or a
multi-page file is refused (only one frame could go), in every form: a PIL image, a path or
bytes of an animated GIF, PNG (APNG) or WebP, or a multi-page TIFF.

One orientation rule for every form: a picture is measured, shown and sent as a viewer shows
it. The service reads the pixels as stored and ignores an EXIF orientation tag, so a phone's
portrait photo (stored sideways with an Orientation tag other than 1) has the orientation
applied to its pixels and is sent re-encoded without the tag, with a notice: a JPEG as JPEG
(quality 95), anything else as PNG. Its size rules (uncrop's crop, upscale's target) are
then checked against the size the user sees, the same for a path, bytes or a PIL image.

A picture over the endpoint's byte limit as PNG goes as JPEG (quality 95) when it is opaque,
and as WebP (quality 95, transparency kept) when it has transparency; where the endpoint takes
no WebP, a transparent one is refused rather than sent without its alpha. Sizes are never
changed otherwise: a wrong size is refused.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageOps

from ..contract.endpoints import FORMAT_CONTENT_TYPES, FORMAT_EXTENSIONS, FileField
from ..contract.errors import InputError
from ..contract.validation import ImageFacts, grey_pixel_count, has_alpha, inspect_image

_ORIENTATION = 0x0112  # the EXIF tag saying how a stored picture is turned for viewing

__all__ = ["ImageInput", "Prepared", "is_dark_on_light", "orientation", "prepare_file",
           "read_input", "upright"]


@runtime_checkable
class BinaryFile(Protocol):
    """An open binary file (``open(path, "rb")``, ``io.BytesIO``, an upload's stream)."""

    def read(self, size: int = -1, /) -> bytes: ...


@runtime_checkable
class EncodedImage(Protocol):
    """An encoded picture with its type, such as a [`Result`][clipdrop_widgets.Result]."""

    @property
    def data(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...


ImageInput = (Image.Image | np.ndarray | str | os.PathLike[str] | bytes | bytearray | memoryview
              | BinaryFile | EncodedImage)
"""What a file argument may be: a PIL image, a NumPy array (bool masks too), a path, bytes,
an open binary file, or a previous result (anything with ``data`` and ``content_type``)."""



@dataclass(frozen=True)
class Prepared:
    """One file ready to send: its bytes, the name and type in the form, and its facts."""

    data: bytes
    filename: str
    content_type: str
    facts: ImageFacts
    #: True when this module already made sure the pixels are only 0 and 255 (masks).
    binary_checked: bool = False

    def summary(self) -> str:
        f = self.facts
        return f"{f.format.upper()} {f.width}x{f.height}, {len(self.data)} bytes"


def read_input(value: ImageInput, field: str) -> bytes | Image.Image:
    """The raw bytes of a file-like input, or a PIL image for pixel inputs (turned upright)."""
    if isinstance(value, Image.Image):
        return _upright(value, field)
    if isinstance(value, np.ndarray):
        return _array_to_image(value, field)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _one_frame_file(bytes(value), field)
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise InputError(f"{field}: no file at {path!r}", field=field, rule="file")
        with open(path, "rb") as f:
            return _one_frame_file(f.read(), field)
    data = getattr(value, "data", None)  # a Result
    if isinstance(data, bytes) and hasattr(value, "content_type"):
        return _one_frame_file(data, field)
    if hasattr(value, "read"):
        chunk = value.read()
        if isinstance(chunk, bytes):
            return _one_frame_file(chunk, field)
    raise InputError(
        f"{field} is a {type(value).__name__}; pass a PIL image, a NumPy array, a path or bytes",
        field=field, rule="type")


def _one_frame(im: Image.Image, field: str) -> None:
    """Refuse an animation or a multi-page file: only its first frame would be sent."""
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        raise InputError(f"{field} has {frames} frames (an animation or a multi-page file); "
                         "only one picture can be sent: save the frame you mean as PNG, JPEG "
                         "or WebP", field=field, rule="frames")


def _one_frame_file(data: bytes, field: str) -> bytes:
    """``data``, after refusing an animated GIF, PNG or WebP or a multi-page TIFF (read from
    the headers; an unreadable file is left to the format checks)."""
    try:
        im = Image.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - refused later, naming the format rule
        return data
    with im:
        _one_frame(im, field)
    return data


def orientation(im: Image.Image, *, decode: bool = True) -> int:
    """The EXIF orientation (2..8) that turns ``im``'s stored pixels into what a viewer shows;
    1 when there is none, it is 1 or it is not a valid value. ``decode=False`` never decodes
    pixels: a PNG whose EXIF comes after its pixels (rare) then counts as upright."""
    if not decode and im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        turn = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: no orientation to apply
        return 1
    return turn if isinstance(turn, int) and 2 <= turn <= 8 else 1


def upright(im: Image.Image) -> Image.Image:
    """``im`` as a viewer shows it: its EXIF orientation applied to the pixels (``im`` itself
    when there is none). The widgets show and measure pictures through this."""
    if orientation(im) == 1:
        return im
    return ImageOps.exif_transpose(im)


def _upright(im: Image.Image, field: str) -> Image.Image:
    """``im`` as a viewer shows it: a phone photo's EXIF orientation applied to the pixels
    (the tag is not kept when the image is encoded, so the service would get it sideways)."""
    _one_frame(im, field)
    return upright(im)


def _array_to_image(array: np.ndarray, field: str) -> Image.Image:
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
            raise InputError(f"{field} is a float array with values outside 0..1",
                             field=field, rule="values")
        a = np.round(np.nan_to_num(a) * 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 255):
            raise InputError(f"{field} is an integer array with values outside 0..255",
                             field=field, rule="values")
        a = a.astype(np.uint8)
    if a.ndim == 2:
        return Image.fromarray(a, "L")
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(a), "RGB" if a.shape[2] == 3 else "RGBA")
    raise InputError(f"{field} is an array of shape {a.shape}; expected (H, W), (H, W, 3) "
                     "or (H, W, 4)", field=field, rule="shape")


def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        im.convert("RGB").save(buf, "JPEG", quality=95)
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=95)  # lossy colour, lossless alpha (alpha_quality 100)
    else:
        im.save(buf, fmt.upper())
    return buf.getvalue()


_TURNS = {2: "mirrored", 3: "upside down", 4: "upside down and mirrored",
          5: "sideways and mirrored", 6: "sideways", 7: "sideways and mirrored", 8: "sideways"}


def _as_picture(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA", "L"):
        return im
    return im.convert("RGBA" if has_alpha(im) else "RGB")


def _finish(field: FileField, data: bytes, *, binary: bool = False) -> Prepared:
    facts = inspect_image(data, field.name)
    ext = FORMAT_EXTENSIONS.get(facts.format, facts.format)
    mime = FORMAT_CONTENT_TYPES.get(facts.format, "application/octet-stream")
    return Prepared(data, f"{field.keyword}.{ext}", mime, facts,
                    binary_checked=binary)


def _open(data: bytes, field: str) -> Image.Image:
    """``data`` decoded, as a viewer shows it (its EXIF orientation applied)."""
    inspect_image(data, field)  # a readable image of sane size, before any pixel is decoded
    im = Image.open(io.BytesIO(data))
    im.load()
    return _upright(im, field)


def _file_orientation(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as im:
        return orientation(im, decode=False)


def _turn_notice(field: FileField, turn: int, target: str) -> str:
    return (f"{field.name} has an EXIF orientation tag ({turn}: stored {_TURNS[turn]}); "
            "the service ignores the tag, so its pixels were turned as viewers show it and "
            f"it is sent as {target.upper()} without the tag")


def _smaller(field: FileField, im: Image.Image, notices: list[str]) -> bytes | None:
    """``im`` in a smaller format when its PNG is over ``field.max_bytes``: JPEG when opaque,
    WebP keeping its transparency; ``None`` when the endpoint takes neither."""
    most = field.max_bytes or 0
    limit = f"{most / 1_000_000:g} MB" if most >= 1_000_000 else f"{most:,} bytes"
    if has_alpha(im):
        if "webp" not in field.formats:
            raise InputError(
                f"{field.name} has transparency and is over {limit} as PNG, the most this "
                f"endpoint takes; it takes no format that keeps transparency smaller: make the "
                "picture smaller, or flatten it if its transparency does not matter",
                field=field.name, rule="max_bytes")
        try:
            data = _encode(im, "webp")
        except (OSError, ValueError):  # WebP holds at most 16383 pixels a side
            raise InputError(
                f"{field.name} has transparency and is over {limit} as PNG, the most this "
                f"endpoint takes, and {im.width}x{im.height} is too large for WebP: make the "
                "picture smaller", field=field.name, rule="max_bytes") from None
        notices.append(f"{field.name} is over {limit} as PNG; it is sent as WebP (quality "
                       "95, transparency kept)")
        return data
    if "jpeg" in field.formats:
        notices.append(f"{field.name} is over {limit} as PNG; it is sent as JPEG (quality 95)")
        return _encode(im, "jpeg")
    return None


def _prepare_picture(field: FileField, value: bytes | Image.Image,
                     notices: list[str]) -> Prepared:
    lossless = "png" if "png" in field.formats else field.formats[0]
    if isinstance(value, bytes):
        facts = inspect_image(value, field.name)
        turn = _file_orientation(value)
        if facts.format in field.formats and turn == 1:
            return _finish(field, value)
        if turn != 1:
            keep_jpeg = facts.format == "jpeg" and "jpeg" in field.formats
            target = "jpeg" if keep_jpeg else lossless
            notices.append(_turn_notice(field, turn, target))
        else:
            target = lossless
            notices.append(f"{field.name} was {facts.format.upper()}; it is sent as "
                           f"{target.upper()} (this endpoint takes "
                           f"{', '.join(f.upper() for f in field.formats)})")
        im = _open(value, field.name)
    else:
        im, target = value, lossless
    im = _as_picture(im)
    data = _encode(im, target)
    if field.max_bytes and len(data) > field.max_bytes and target != "jpeg":
        data = _smaller(field, im, notices) or data  # (else refused by size, naming it)
    return _finish(field, data)


def _mask_levels(im: Image.Image) -> np.ndarray:
    """A mask's values as 0..255 greys: alpha when it carries the shape, else luminance."""
    if has_alpha(im):
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min() != alpha.max():
            return alpha
        return np.asarray(rgba.convert("L"))
    if im.mode == "1":
        return np.asarray(im.convert("L"))
    if im.mode in ("I", "I;16", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = a.max() or 1.0
        return np.round(a / top * 255).astype(np.uint8)
    return np.asarray(im.convert("L"))


def _prepare_mask(field: FileField, value: bytes | Image.Image,
                  notices: list[str]) -> Prepared:
    if isinstance(value, bytes):
        facts = inspect_image(value, field.name)
        turn = _file_orientation(value)
        im = _open(value, field.name)
        if turn == 1 and facts.format == "png" and im.mode == "L" and grey_pixel_count(im) == 0:
            return _finish(field, value, binary=True)
    else:
        facts, im = None, value
    levels = _mask_levels(im)
    if levels.size and levels.max() == 1:  # a 0/1 mask
        binary = levels > 0
    else:
        greys = int(np.count_nonzero((levels > 0) & (levels < 255)))
        if greys:
            notices.append(f"{field.name} had {greys} grey pixels; thresholded at 128 "
                           "(a mask may hold only 0 and 255)")
        binary = levels >= 128
    if facts is not None and facts.format != "png":
        notices.append(f"{field.name} was {facts.format.upper()}; masks are sent as PNG "
                       "(lossy formats add grey pixels)")
    out = Image.fromarray(binary.astype(np.uint8) * 255, "L")
    return _finish(field, _encode(out, "png"), binary=True)


def is_dark_on_light(im: Image.Image) -> bool:
    """True for a sketch drawn dark on light (its median grey is above 127): to be inverted.

    The one test used by the client and by [`SketchPad`][clipdrop_widgets.SketchPad].
    """
    grey = np.asarray(_as_picture(im).convert("L"), dtype=np.float32)
    return bool(grey.size) and float(np.median(grey)) > 127


def _prepare_sketch(field: FileField, value: bytes | Image.Image,
                    notices: list[str]) -> Prepared:
    im = _open(value, field.name) if isinstance(value, bytes) else value
    if is_dark_on_light(im):
        notices.append(f"{field.name} was drawn dark on light; it was inverted to white "
                       "lines on black (what sketch to image expects)")
        rgb = _as_picture(im).convert("RGB")
        return _finish(field, _encode(ImageOps.invert(rgb), "png"))
    if isinstance(value, bytes):
        return _prepare_picture(field, value, notices)
    return _prepare_picture(field, im, notices)


def prepare_file(field: FileField, value: ImageInput, notices: list[str]) -> Prepared:
    """Make ``value`` into the file ``field`` wants (see the module docstring for the rules).

    What was changed on the way is appended to ``notices``.
    """
    raw = read_input(value, field.name)
    if field.role == "mask":
        return _prepare_mask(field, raw, notices)
    if field.role == "sketch":
        return _prepare_sketch(field, raw, notices)
    return _prepare_picture(field, raw, notices)
