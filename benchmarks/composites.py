"""Photos with a known subject: scikit-image's sample photos cut by drawn shapes, laid over
its textures, skies and blurred photos. Used by ``bench_previews.py`` to measure the local
engine's cut-out (replace background) by IoU against the alpha that made each composite.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
from skimage import data

SIDE = 384
#: Subject photos and the shapes that cut them.
SUBJECTS = ("astronaut", "chelsea", "coffee", "rocket")
SHAPES = ("blob", "figure", "box", "bottle")
#: Backgrounds.
BACKGROUNDS = ("brick", "grass", "gravel", "sky", "camera_blur", "coffee_blur")


def _rgb(name: str) -> np.ndarray:
    img = getattr(data, name)()
    return np.dstack([img] * 3) if img.ndim == 2 else img[..., :3]


def _fit(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` cropped to the aspect of ``size`` (w, h) around its centre and resized."""
    h, w = img.shape[:2]
    tw, th = size
    scale = max(tw / w, th / h)
    rw, rh = max(tw, round(w * scale)), max(th, round(h * scale))
    big = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA)
    y0, x0 = (rh - th) // 2, (rw - tw) // 2
    return big[y0:y0 + th, x0:x0 + tw]


def background(name: str, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if name == "sky":
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        top, low = np.float32([60, 110, 200]), np.float32([200, 225, 245])
        sky = top + t * (low - top) + np.zeros((1, w, 1), np.float32)
        return np.clip(sky, 0, 255).astype(np.uint8)
    if name.endswith("_blur"):
        img = _fit(_rgb(name[:-5]), size)
        return cv2.GaussianBlur(img, (0, 0), 6)
    return _fit(_rgb(name), size)


def shape(name: str, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A subject's alpha (float32 0..1, anti-aliased), standing on the bottom edge for the
    figure and bottle, floating otherwise."""
    w, h = size
    s = 4  # drawn 4x larger, then reduced: soft edges
    big = np.zeros((h * s, w * s), np.uint8)
    cx, cy = w * s // 2 + int(rng.integers(-w * s // 10, w * s // 10)), h * s // 2
    if name == "blob":
        t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        r = 0.3 * min(w, h) * s * (1 + 0.18 * np.sin(3 * t + rng.uniform(0, 6))
                                   + 0.1 * np.sin(5 * t + rng.uniform(0, 6)))
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1).astype(np.int32)
        cv2.fillPoly(big, [pts], 255)
    elif name == "figure":
        head = int(0.11 * h * s)
        cv2.circle(big, (cx, int(0.28 * h * s)), head, 255, -1)
        body = np.array([[cx - int(0.2 * w * s), h * s], [cx - int(0.13 * w * s),
                         int(0.42 * h * s)], [cx + int(0.13 * w * s), int(0.42 * h * s)],
                         [cx + int(0.2 * w * s), h * s]], np.int32)
        cv2.fillPoly(big, [body], 255)
        cv2.ellipse(big, (cx, int(0.44 * h * s)), (int(0.17 * w * s), int(0.06 * h * s)),
                    0, 0, 360, 255, -1)
    elif name == "box":
        half = int(0.26 * min(w, h) * s)
        cv2.rectangle(big, (cx - half, cy - half), (cx + half, cy + half), 255, -1)
        big = cv2.GaussianBlur(big, (0, 0), 6 * s)
        big = np.where(big > 127, 255, 0).astype(np.uint8)  # rounded corners
    elif name == "bottle":
        bw = int(0.16 * w * s)
        cv2.rectangle(big, (cx - bw, int(0.42 * h * s)), (cx + bw, h * s), 255, -1)
        cv2.ellipse(big, (cx, int(0.42 * h * s)), (bw, int(0.08 * h * s)), 0, 180, 360, 255, -1)
        cv2.rectangle(big, (cx - bw // 3, int(0.15 * h * s)), (cx + bw // 3,
                      int(0.4 * h * s)), 255, -1)
    # a size and a place of its own: 0.65 to 1.15 times, up to a fifth of the width aside
    k = float(rng.uniform(0.65, 1.15))
    ax, ay = cx, (h * s if name in ("figure", "bottle") else cy)
    dx = float(rng.uniform(-0.2, 0.2)) * w * s
    m = np.float32([[k, 0, (1 - k) * ax + dx], [0, k, (1 - k) * ay]])
    big = cv2.warpAffine(big, m, (w * s, h * s), flags=cv2.INTER_LINEAR)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def composites(side: int = SIDE) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(name, uint8 RGB photo, alpha float32) for every subject x shape x background."""
    rng = np.random.default_rng(16)
    size = (side, side)
    for i, subject in enumerate(SUBJECTS):
        fill = _fit(_rgb(subject), size).astype(np.float32)
        for j, back_name in enumerate(BACKGROUNDS):
            if back_name.startswith(subject):  # a photo over its own blur
                back_name = "astronaut_blur"
            name = SHAPES[(i + j) % len(SHAPES)]
            alpha = shape(name, size, rng)
            back = background(back_name, size).astype(np.float32)
            photo = back + alpha[..., None] * (fill - back)
            yield (f"{subject}/{name} over {back_name}",
                   np.clip(photo + 0.5, 0, 255).astype(np.uint8), alpha)
