"""Cleanup and text inpainting: fill a masked region from its surroundings.

Both use OpenCV's inpainting (``cv2.inpaint``) on the mask's bounding box only (the result is
identical, since both methods look a few pixels around the hole, and a small mask on a large
photo costs little), then paste the filled pixels inside the mask: every pixel the mask keeps
is returned exactly as it came. ``benchmarks/bench_engine.py`` measured Telea, Navier-Stokes
and scikit-image's biharmonic method on real photos; `METHODS` gives the choice per mode.

Images are RGB `PIL.Image.Image`; masks are images of the same size whose pixels above
127 (the contract sends only 0 and 255) mark what to fill.

Memory: a 16 MP photo with a noisy mask (holes everywhere, so the box is the whole photo)
is filled in place in one copy of its pixels, the fills kept as bytes (two averaged in 16
bits for "quality"), never as floats: about three times the photo's RGB size at the peak,
where it took twelve (``benchmarks/bench_engine_memory.py --worst``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from ..contract.errors import ConfigurationError
from .generate import texture
from .palette import scene_for

__all__ = ["METHODS", "cleanup", "inpaint_pixels", "text_inpainting"]

Mode = Literal["fast", "quality"]

#: ``mode`` -> (OpenCV method, neighbourhood radius in pixels). On 1024x1024 photos with 10%
#: masks (``benchmarks/results/engine.md``) Navier-Stokes at radius 3 had the lowest error of
#: the fast candidates (Telea the same speed, 3% more error; scikit-image's biharmonic 10 to 40
#: times slower and far worse on one large hole). Averaging Telea and Navier-Stokes at radius 5
#: had the lowest error of all, and softens both methods' streaks in large holes, for about four
#: times the time: that is "quality".
METHODS: dict[str, tuple[str, int]] = {"fast": ("ns", 3), "quality": ("telea+ns", 5)}


def _hole(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if mask.size != size:
        raise ConfigurationError(f"the mask is {mask.size[0]}x{mask.size[1]} but the image is "
                         f"{size[0]}x{size[1]}; they must match")
    return np.asarray(mask if mask.mode == "L" else mask.convert("L")) > 127


def _pixels(image: Image.Image) -> np.ndarray:
    """``image`` as a writable RGB array: one copy (no intermediate RGB image if it is)."""
    return np.array(image if image.mode == "RGB" else image.convert("RGB"))


def _bbox(hole: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The hole's bounding box grown by ``margin`` pixels, or ``None`` when it is empty."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if rows.size == 0:
        return None
    h, w = hole.shape
    return (slice(max(0, rows[0] - margin), min(h, rows[-1] + margin + 1)),
            slice(max(0, cols[0] - margin), min(w, cols[-1] + margin + 1)))


def inpaint_pixels(rgb: np.ndarray, hole: np.ndarray, *, mode: Mode = "fast",
                   in_place: bool = False) -> np.ndarray:
    """``rgb`` (uint8, H x W x 3) with the ``hole`` (bool, H x W) filled from its
    surroundings by the method `METHODS` gives for ``mode``; pixels outside the hole
    are unchanged. A new array, or ``rgb`` itself filled when ``in_place``."""
    import cv2

    if mode not in METHODS:
        raise ConfigurationError(f"mode must be one of {', '.join(METHODS)}, not {mode!r}")
    method, radius = METHODS[mode]
    out = rgb if in_place else rgb.copy()
    box = _bbox(hole, radius + 4)
    if box is None:
        return out
    if hole.all():  # nothing to fill from
        out[:] = 128
        return out
    src = np.ascontiguousarray(out[box])
    inside = np.ascontiguousarray(hole[box])
    m = inside.view(np.uint8)  # 0 and 1: OpenCV fills wherever the mask is not 0
    flags = {"telea": [cv2.INPAINT_TELEA], "ns": [cv2.INPAINT_NS],
             "telea+ns": [cv2.INPAINT_TELEA, cv2.INPAINT_NS]}[method]
    filled = cv2.inpaint(src, m, radius, flags[0])
    if len(flags) == 2:  # the rounded mean of both, in 16 bits
        total = filled.astype(np.uint16)
        del filled
        total += cv2.inpaint(src, m, radius, flags[1])
        total += 1
        total >>= 1
        filled = total.astype(np.uint8)
        del total
    del src
    np.copyto(out[box], filled, where=inside[..., None])
    return out


def _blur(plane: np.ndarray, sigma: float) -> np.ndarray:
    """``plane`` (float32) Gaussian-blurred by ``sigma`` pixels, on a copy shrunk so the
    kernel stays a few pixels wide (a wide blur needs no fine detail)."""
    import cv2

    h, w = plane.shape
    shrink = max(1.0, sigma / 4)
    small = cv2.resize(plane, (max(1, round(w / shrink)), max(1, round(h / shrink))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / shrink)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def cleanup(image: Image.Image, mask: Image.Image, *, mode: Mode | None = None) -> Image.Image:
    """``image`` with what ``mask`` covers removed and filled from the surroundings.

    ``mode`` is ``"fast"`` (the default, also for ``None``) or ``"quality"``; see
    `METHODS`. RGB, the image's size; unmasked pixels are unchanged.
    """
    rgb = _pixels(image)
    hole = _hole(mask, image.size)
    return Image.fromarray(inpaint_pixels(rgb, hole, mode=mode or "fast", in_place=True), "RGB")


def text_inpainting(image: Image.Image, mask: Image.Image, prompt: str) -> Image.Image:
    """``image`` with what ``mask`` covers replaced by a texture in ``prompt``'s colours.

    The hole is first inpainted, so its edge continues the photo; the prompt's texture (see
    `texture`), lit by the inpainted fill's local
    brightness, is blended over it with a weight rising from 0 at the mask's edge to 1 a
    feather width inside (3% of the image's shorter side, 3 to 24 pixels). RGB, the image's
    size; unmasked pixels are unchanged.
    """
    import cv2

    rgb = _pixels(image)
    hole = _hole(mask, image.size)
    base = inpaint_pixels(rgb, hole, in_place=True)
    box = _bbox(hole, 0)
    if box is None:
        return Image.fromarray(base, "RGB")
    inside = hole[box]
    h, w = inside.shape
    # weight: 0 on the mask's edge, 1 a feather width inside
    dist = cv2.distanceTransform(np.pad(inside, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    feather = float(np.clip(0.03 * min(image.size), 3, 24))
    feather = min(feather, max(1.0, 0.6 * float(dist.max())))
    t = np.clip(dist / feather, 0, 1)
    weight = (t * t * (3 - 2 * t))[..., None]
    # the texture, lit like the inpainted fill around it
    fill = base[box].astype(np.float32) / 255
    luma = fill @ np.float32([0.299, 0.587, 0.114])
    local = _blur(luma, max(2.0, min(h, w) / 8))
    light = np.clip(local / max(float(local[inside].mean()), 1e-3), 0.6, 1.4) ** 0.5
    pattern = texture(scene_for(prompt), (w, h)) * light[..., None]
    blended = np.clip(fill + weight * (pattern - fill), 0, 1)
    region = base[box]
    region[inside] = (blended[inside] * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(base, "RGB")
