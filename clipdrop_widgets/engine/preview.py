"""The "offline preview" mark every local-engine output carries.

A short white label on a semi-opaque dark box in the bottom-right corner: legible on any
background, about 3% of the image's shorter side tall, so nobody mistakes a local preview for
the service's work. `mark_box` gives the box from the size alone, so tests and callers
can leave it out of pixel comparisons.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["LABEL", "mark", "mark_box"]

#: The words written in the corner.
LABEL = "offline preview"
#: Share of the box's pixels' own colour kept under the dark box (the rest is black).
_SHOW_THROUGH = 0.35
_MIN_FONT, _MAX_FONT = 6, 40


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


@lru_cache(maxsize=256)
def _layout(size: tuple[int, int]) -> tuple[int, tuple[int, int, int, int], tuple[int, int]]:
    """Font size (pixels), box ``(x0, y0, x1, y1)`` and text origin for an image of ``size``."""
    w, h = size
    px = max(_MIN_FONT, min(_MAX_FONT, round(min(w, h) * 0.03)))
    while px > _MIN_FONT and _font(px).getbbox(LABEL)[2] > 0.45 * w:
        px -= 1
    left, top, right, bottom = _font(px).getbbox(LABEL)
    pad, margin = max(2, px // 3), max(1, px // 2)
    x1, y1 = w - margin, h - margin
    x0 = x1 - (right - left) - 2 * pad
    y0 = y1 - (bottom - top) - 2 * pad
    box = (max(0, x0), max(0, y0), max(0, x1), max(0, y1))
    return px, box, (x0 + pad - left, y0 + pad - top)


def mark_box(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` (pixels, ``x1``/``y1`` exclusive) `mark` draws on an
    image of ``size`` (width, height); empty when the image is too small to hold it."""
    return _layout(tuple(size))[1]  # type: ignore[arg-type]


def mark(image: Image.Image) -> Image.Image:
    """A copy of ``image`` as RGB with the offline-preview label in its bottom-right corner."""
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    px, (x0, y0, x1, y1), origin = _layout(out.size)
    if x1 <= x0 or y1 <= y0:
        return out
    region = np.asarray(out.crop((x0, y0, x1, y1)), np.float32) * _SHOW_THROUGH
    out.paste(Image.fromarray((region + 0.5).astype(np.uint8), "RGB"), (x0, y0))
    ImageDraw.Draw(out).text(origin, LABEL, fill=(255, 255, 255), font=_font(px))
    return out
