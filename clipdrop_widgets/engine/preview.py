"""The "offline preview" mark every local-engine output carries.

A short white label on a semi-opaque dark box in the bottom-right corner: legible on any
background, so nobody mistakes a local preview for the service's work. Its letters are 3% of
the image's shorter side or 1.6% of its longer side tall, whichever is more (at least 6 pixels),
so the label stays readable when a photo of any size, 512 to 10000 pixels and over, is shown
scaled to fit a screen; it never takes more than 60% of the width or 25% of the height. A
picture drawn with third-party icons (``image.info["credit"]``) carries their credit after the
label. `mark_box` gives the box from the size and credit alone, so tests and callers can
leave it out of pixel comparisons.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["LABEL", "font_size", "label", "mark", "mark_box"]

#: The words written in the corner.
LABEL = "offline preview"
#: Share of the box's pixels' own colour kept under the dark box (the rest is black).
_SHOW_THROUGH = 0.35
_MIN_FONT = 6


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=px)


def font_size(size: tuple[int, int], text: str = LABEL) -> int:
    """The label's letter size (pixels) on an image of ``size`` (width, height)."""
    w, h = size
    px = max(_MIN_FONT, round(max(min(w, h) * 0.03, max(w, h) * 0.016)))
    px = min(px, max(_MIN_FONT, round(h * 0.25 / 1.6)))
    while px > _MIN_FONT and _font(px).getbbox(text)[2] > 0.6 * w:
        px = max(_MIN_FONT, int(px * 0.9))
    return px


@lru_cache(maxsize=256)
def _layout(size: tuple[int, int], text: str = LABEL
            ) -> tuple[int, tuple[int, int, int, int], tuple[int, int]]:
    """Font size (pixels), box ``(x0, y0, x1, y1)`` and text origin for ``text`` on an image
    of ``size``."""
    w, h = size
    px = font_size(size, text)
    left, top, right, bottom = _font(px).getbbox(text)
    pad, margin = max(2, px // 3), max(1, px // 2)
    x1, y1 = w - margin, h - margin
    x0 = x1 - (right - left) - 2 * pad
    y0 = y1 - (bottom - top) - 2 * pad
    box = (max(0, x0), max(0, y0), max(0, x1), max(0, y1))
    return px, box, (x0 + pad - left, y0 + pad - top)


def label(credit: str | None = None) -> str:
    """The words `mark` writes: `LABEL`, then ``credit`` when there is one."""
    return f"{LABEL} \u00b7 {credit}" if credit else LABEL


def mark_box(size: tuple[int, int], *, credit: str | None = None) -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` (pixels, ``x1``/``y1`` exclusive) `mark` draws on an
    image of ``size`` (width, height) whose ``info["credit"]`` is ``credit``; empty when the
    image is too small to hold it."""
    return _layout(tuple(size), label(credit))[1]  # type: ignore[arg-type]


def mark(image: Image.Image) -> Image.Image:
    """A copy of ``image`` as RGB with the offline-preview label in its bottom-right corner,
    followed by ``image.info["credit"]`` when the picture has one (icons it was drawn with).

    An ``RGBA`` image (a cut-out) stays ``RGBA``: its label box is made opaque, so the label
    shows over any backdrop."""
    text = label(image.info.get("credit"))
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    px, (x0, y0, x1, y1), origin = _layout(out.size, text)
    if x1 <= x0 or y1 <= y0:
        return _with_alpha(out, image, None)
    region = np.asarray(out.crop((x0, y0, x1, y1)), np.float32) * _SHOW_THROUGH
    out.paste(Image.fromarray((region + 0.5).astype(np.uint8), "RGB"), (x0, y0))
    ImageDraw.Draw(out).text(origin, text, fill=(255, 255, 255), font=_font(px))
    return _with_alpha(out, image, (x0, y0, x1, y1))


def _with_alpha(out: Image.Image, image: Image.Image,
                box: tuple[int, int, int, int] | None) -> Image.Image:
    """``out`` with ``image``'s alpha when ``image`` is ``RGBA``, ``box`` made opaque."""
    if image.mode != "RGBA":
        return out
    alpha = image.getchannel("A").copy()
    if box is not None:
        alpha.paste(255, box)
    out.putalpha(alpha)
    return out
