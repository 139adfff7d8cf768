"""Uncrop, upscale and reimagine: previews that change a photo's frame, size or take.

- Uncrop continues the picture past its edges: the border is mirrored outward (so lines and
  textures carry on), and with distance from the photo it fades into a blurred field of the
  edge's own colours with a little seeded grain, so far regions are calm rather than
  repeated. Negative extends crop. The same seed gives the same picture.
- Upscale sharpens the input with an unsharp mask and resamples it (bicubic up, area down),
  keeping alpha when the input has it.
- Reimagine is a colour-and-layout variation: the picture mirrored or not, its content
  displaced by a smooth random field and re-framed, its hues turned and its tones curved;
  every call draws a new one.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..contract.validation import has_alpha

__all__ = ["uncrop", "upscale", "reimagine"]

Extends = tuple[int, int, int, int]  # left, right, up, down


def _fbm(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise in -1..1 (float32, ``shape``), about ``cells`` blobs across."""
    import cv2

    h, w = shape
    out = np.zeros(shape, np.float32)
    amp, total = 1.0, 0.0
    for octave in range(3):
        n = cells * 2**octave
        grid = rng.standard_normal((max(2, round(n * h / max(h, w))) + 1,
                                    max(2, round(n * w / max(h, w))) + 1)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp /= 2
    return np.clip(out / total, -1, 1)


def _crop(rgb: np.ndarray, extends: Extends) -> tuple[np.ndarray, Extends]:
    """``rgb`` cropped by the negative extends; the positive ones left to add."""
    left, right, up, down = extends
    h, w = rgb.shape[:2]
    rgb = rgb[max(0, -up): h - max(0, -down), max(0, -left): w - max(0, -right)]
    return rgb, (max(0, left), max(0, right), max(0, up), max(0, down))


def uncrop(image: Image.Image, extends: Extends, *, seed: int | None = None) -> Image.Image:
    """``image`` grown by ``extends`` (left, right, up, down pixels; negative crops): RGB,
    ``(w + left + right, h + up + down)``. ``seed`` (default: a random one) fixes the grain."""
    import cv2

    rgb, (left, right, up, down) = _crop(np.asarray(image.convert("RGB")), extends)
    h, w = rgb.shape[:2]
    if not (left or right or up or down):
        return Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    mirrored = cv2.copyMakeBorder(rgb, up, down, left, right, cv2.BORDER_REFLECT_101
                                  if min(h, w) > 1 else cv2.BORDER_REPLICATE)
    H, W = mirrored.shape[:2]
    # The calm far field: the grown picture reduced to a few dozen pixels, blurred, restored.
    factor = max(1, max(H, W) // 48)
    tiny = cv2.resize(cv2.copyMakeBorder(rgb, up, down, left, right, cv2.BORDER_REPLICATE),
                      (max(1, W // factor), max(1, H // factor)), interpolation=cv2.INTER_AREA)
    field = cv2.resize(cv2.GaussianBlur(tiny.astype(np.float32), (0, 0), 2.0), (W, H),
                       interpolation=cv2.INTER_CUBIC)
    ys = np.arange(H, dtype=np.float32)[:, None]
    xs = np.arange(W, dtype=np.float32)[None, :]
    dist = np.hypot(np.maximum(np.maximum(left - xs, xs - (left + w - 1)), 0),
                    np.maximum(np.maximum(up - ys, ys - (up + h - 1)), 0))
    reach = max(8.0, 0.25 * min(h, w))
    t = (1 - np.exp(-dist / reach))[..., None]
    rng = np.random.default_rng(seed if seed is not None else int.from_bytes(os.urandom(4), "big"))
    grain = _fbm(rng, (H, W), 24)[..., None] * 10 * t
    out = mirrored.astype(np.float32) * (1 - t) + field * t + grain
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")


def upscale(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` resampled to ``size`` (width, height) and sharpened; RGBA when the input has
    transparency, else RGB."""
    import cv2

    mode = "RGBA" if has_alpha(image) else "RGB"
    pixels = np.asarray(image.convert(mode))
    w, h = image.size
    scale = max(size[0] / w, size[1] / h)
    up = scale > 1
    if up:  # sharpened at the input's size (cheaper, and no halo grows with the scale)
        colour = pixels[..., :3].astype(np.float32)
        soft = cv2.GaussianBlur(colour, (0, 0), 1.0)
        sharp = np.clip(colour + 0.7 * (colour - soft) + 0.5, 0, 255).astype(np.uint8)
        pixels = np.dstack([sharp, pixels[..., 3:]]) if mode == "RGBA" else sharp
    out = cv2.resize(np.ascontiguousarray(pixels), size,
                     interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)
    return Image.fromarray(np.ascontiguousarray(out), mode)


def _hue_turn(rgb: np.ndarray, degrees: float, saturation: float) -> np.ndarray:
    import cv2

    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + degrees * 256 / 360) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)


def reimagine(image: Image.Image, *, seed: int | None = None) -> Image.Image:
    """A variation of ``image``: RGB, the image's size, new at each call (``seed`` fixes it)."""
    import cv2

    rng = np.random.default_rng(seed if seed is not None else int.from_bytes(os.urandom(4), "big"))
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    if rng.random() < 0.5:
        rgb = rgb[:, ::-1]
    # Layout: a smooth displacement of up to 6% of the size, and a zoom of 1.0-1.15 around a
    # point near the middle.
    amp = 0.06 * min(h, w)
    dx = _fbm(rng, (h, w), 3) * amp
    dy = _fbm(rng, (h, w), 3) * amp
    zoom = 1 + 0.15 * rng.random()
    cx, cy = w * (0.5 + 0.1 * rng.uniform(-1, 1)), h * (0.5 + 0.1 * rng.uniform(-1, 1))
    xs = (np.arange(w, dtype=np.float32)[None, :] - w / 2) / zoom + cx + dx
    ys = (np.arange(h, dtype=np.float32)[:, None] - h / 2) / zoom + cy + dy
    moved = cv2.remap(np.ascontiguousarray(rgb), xs.astype(np.float32), ys.astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    # Colour: hues turned 20-160 degrees either way, saturation and a tone curve varied.
    turned = _hue_turn(moved, float(rng.choice([-1, 1]) * rng.uniform(20, 160)),
                       float(rng.uniform(0.8, 1.3)))
    gamma = float(rng.uniform(0.75, 1.3))
    lut = np.clip((np.arange(256) / 255) ** gamma * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(cv2.LUT(turned, lut), "RGB")
