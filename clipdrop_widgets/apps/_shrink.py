"""Shrinking a photo to an endpoint's limits, offered when a photo is too large.

A 4000x3000 photo chosen for Replace background (2048 pixels a side at most) used to get
"Run will refuse it" and no way forward. When the only rules a photo breaks are ones that a
smaller copy keeps (pixels a side, megapixels, the file's bytes), the app offers that copy:
the largest size within the limits, aspect ratio kept, resampled with Lanczos. A rule that
shrinking cannot fix (a square-only endpoint given a wide photo) gets no offer.
"""

from __future__ import annotations

import io
import math

from PIL import Image

from ..contract.endpoints import FileField
from ..contract.validation import HARD_PIXEL_LIMIT

__all__ = ["fits", "shrink_size", "shrink_to_fit"]

#: Each further step when the encoded copy is still over the byte limit (0.9: 81 % pixels).
_BYTES_STEP = 0.9


def shrink_size(field: FileField, width: int, height: int) -> tuple[int, int] | None:
    """The largest ``(width, height)``, same aspect ratio, within ``field``'s side and
    megapixel limits (and the hard pixel limit); ``None`` when the photo already fits them or
    shrinking cannot make it acceptable (a square-only field given a non-square photo)."""
    if field.square and width != height:
        return None
    scale = 1.0
    if field.max_side is not None:
        scale = min(scale, field.max_side / max(width, height))
    limit = min(HARD_PIXEL_LIMIT, (field.max_megapixels or math.inf) * 1_000_000)
    if width * height > limit:
        scale = min(scale, math.sqrt(limit / (width * height)))
    if scale >= 1.0:
        return None
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def fits(field: FileField, image: Image.Image, nbytes: int) -> bool:
    """Whether ``image`` (encoded in ``nbytes`` bytes) is within the field's size limits."""
    return (shrink_size(field, image.width, image.height) is None
            and (field.max_bytes is None or nbytes <= field.max_bytes))


def _encoded_size(image: Image.Image, field: FileField) -> int:
    """Bytes of ``image`` as the client encodes a picture (api/inputs.py): PNG at the default
    level, or JPEG at quality 95 where PNG is not taken."""
    buf = io.BytesIO()
    if "png" in field.formats:
        image.save(buf, format="PNG", compress_level=6)
    else:
        image.convert("RGB").save(buf, format="JPEG", quality=95)
    return buf.tell()


def shrink_to_fit(field: FileField, image: Image.Image, *, nbytes: int | None = None
                  ) -> Image.Image:
    """A copy of ``image`` within ``field``'s side, megapixel and byte limits (byte limit:
    smaller steps of 10 % a side until the encoded copy fits). ``nbytes`` is the size of the
    file as chosen (``None``: not known, not checked before the first step)."""
    size = shrink_size(field, image.width, image.height) or image.size
    over_bytes = field.max_bytes is not None and nbytes is not None and nbytes > field.max_bytes
    if size == image.size and not over_bytes:
        return image
    picture = image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image
    while field.max_bytes is not None and _encoded_size(picture, field) > field.max_bytes:
        size = (max(1, int(picture.width * _BYTES_STEP)), max(1, int(picture.height * _BYTES_STEP)))
        picture = image.resize(size, Image.Resampling.LANCZOS)
    return picture
