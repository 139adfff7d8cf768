"""Pixel checks shared by the browser tests (NumPy only)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["along", "iou", "is_white", "path_mask", "far_from"]


def along(points: Sequence[tuple[float, float]], spacing: float = 4.0) -> np.ndarray:
    """Points every ``spacing`` pixels along the polyline (vertices included), ``(N, 2)``."""
    out = [np.asarray(points[0], float)]
    for a, b in itertools.pairwise(points):
        a, b = np.asarray(a, float), np.asarray(b, float)
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / spacing)))
        out.extend(a + (b - a) * t for t in np.linspace(0, 1, n + 1)[1:])
    return np.vstack(out)


def is_white(rgba: np.ndarray, xy: np.ndarray, threshold: int = 200) -> np.ndarray:
    """Whether the pixels under ``xy`` (``(N, 2)``, x then y) have R, G and B above
    ``threshold`` (and, for RGBA, an opaque alpha)."""
    ix = np.clip(np.floor(xy[:, 0]).astype(int), 0, rgba.shape[1] - 1)
    iy = np.clip(np.floor(xy[:, 1]).astype(int), 0, rgba.shape[0] - 1)
    px = rgba[iy, ix]
    ok = (px[:, :3] > threshold).all(axis=1)
    if rgba.shape[2] == 4:
        ok &= px[:, 3] > threshold
    return ok


def path_mask(points: Sequence[tuple[float, float]], width: float,
              size: tuple[int, int]) -> np.ndarray:
    """A boolean ``(H, W)`` mask of a round-capped polyline of ``width`` (Pillow's drawing)."""
    image = Image.new("L", size, 0)
    draw = ImageDraw.Draw(image)
    pts = [tuple(map(float, p)) for p in points]
    draw.line(pts, fill=255, width=max(1, round(width)), joint="curve")
    r = width / 2
    for x, y in pts:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(image) > 127


def far_from(mask: np.ndarray, distance: int) -> np.ndarray:
    """Pixels more than ``distance`` pixels (square neighbourhood) from any ``True`` of
    ``mask``."""
    grown = mask.copy()
    for _ in range(distance):
        g = grown.copy()
        g[1:] |= grown[:-1]
        g[:-1] |= grown[1:]
        g[:, 1:] |= grown[:, :-1]
        g[:, :-1] |= grown[:, 1:]
        grown = g
    return ~grown


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
