"""Turning what users hold (PIL images, arrays, paths, bytes, results) into request files.

A file that already satisfies the endpoint's rules is sent byte for byte. Everything else is
encoded losslessly, and what was changed is appended to a list of notices (plain strings; the
client shows them as `ClipdropNotice` warnings and keeps them on the result):
masks become strict 0/255 PNGs, black-on-white sketches are inverted, a photo in a format the
endpoint does not take (GIF, BMP, TIFF) is sent as PNG, with a notice; an animation or a
multi-page file is refused (only one frame could go). A PIL image is sent as a viewer shows
it: its EXIF orientation (a phone's portrait photo) is applied to the pixels. Sizes are never
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

__all__ = ["ImageInput", "Prepared", "is_dark_on_light", "prepare_file", "read_input"]


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
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise InputError(f"{field}: no file at {path!r}", field=field, rule="file")
        with open(path, "rb") as f:
            return f.read()
    data = getattr(value, "data", None)  # a Result
    if isinstance(data, bytes) and hasattr(value, "content_type"):
        return data
    if hasattr(value, "read"):
        chunk = value.read()
        if isinstance(chunk, bytes):
            return chunk
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


def _upright(im: Image.Image, field: str) -> Image.Image:
    """``im`` as a viewer shows it: a phone photo's EXIF orientation applied to the pixels
    (the tag is not kept when the image is encoded, so the service would get it sideways)."""
    _one_frame(im, field)
    if im.getexif().get(_ORIENTATION, 1) in (0, 1):
        return im
    return ImageOps.exif_transpose(im)


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
    else:
        im.save(buf, fmt.upper())
    return buf.getvalue()


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
    inspect_image(data, field)  # a readable image of sane size, before any pixel is decoded
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _prepare_picture(field: FileField, value: bytes | Image.Image,
                     notices: list[str]) -> Prepared:
    if isinstance(value, bytes):
        facts = inspect_image(value, field.name)
        if facts.format in field.formats:
            return _finish(field, value)
        target = "png" if "png" in field.formats else field.formats[0]
        notices.append(f"{field.name} was {facts.format.upper()}; it is sent as {target.upper()} "
                       f"(this endpoint takes {', '.join(f.upper() for f in field.formats)})")
        im = _upright(_open(value, field.name), field.name)
    else:
        im, target = value, ("png" if "png" in field.formats else field.formats[0])
    im = _as_picture(im)
    data = _encode(im, target)
    if field.max_bytes and len(data) > field.max_bytes and "jpeg" in field.formats:
        notices.append(f"{field.name} is over {field.max_bytes // 1_000_000} MB as PNG; "
                       "it is sent as JPEG (quality 95)")
        data = _encode(im, "jpeg")
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
        im = _open(value, field.name)
        if facts.format == "png" and im.mode == "L" and grey_pixel_count(im) == 0:
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
