"""The drawing model: strokes and edits as data, rendered exactly with NumPy.

Nothing here knows about widgets. A `Drawing` is a ``width x height`` binary raster
described by the operations applied to it (`Stroke`, `Rect`, `Clear`,
`Invert`, `Grow`, `Load`), with ``undo()`` and ``redo()``. The widgets
keep one and show it; the truth is always here, never read back from a browser.

Coordinates are continuous pixel coordinates, as in the HTML canvas: pixel ``(i, j)`` (column,
row) covers ``[i, i + 1) x [j, j + 1)`` and its centre is ``(i + 0.5, j + 0.5)``. The rendering
rule is exact and has no antialiasing:

* a stroke paints every pixel whose centre lies within ``width / 2`` of its path (the polyline
  through its points, with round caps and joins; a single point paints a disc);
* a rectangle paints every pixel whose centre lies inside it (edges included).

So a horizontal stroke of width 10 at ``y = 100`` paints rows 95 to 104, exactly the band
``[95, 105)`` a browser canvas covers. Rendering at another size scales the geometry (points and
widths) before rasterising, so ``render(1024, 1024)`` of a 512-pixel drawing is as crisp as the
original.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from PIL import Image

from ..contract.errors import ConfigurationError, ConfigurationTypeError

__all__ = [
    "STROKE_TOOLS",
    "Stroke",
    "Rect",
    "Clear",
    "Invert",
    "Grow",
    "Load",
    "Edit",
    "Drawing",
    "paint_stroke",
    "paint_rect",
    "grow_mask",
    "as_points",
]

#: Tools a `Stroke` may carry: ``pen`` (sketches) and ``brush`` (masks) paint 255,
#: ``eraser`` paints 0.
STROKE_TOOLS: tuple[str, ...] = ("pen", "brush", "eraser")

#: After this many operations the native raster is checkpointed, so undo replays at most this
#: many operations (a checkpoint of a 12-megapixel mask is 1.5 MB, bit-packed).
CHECKPOINT_EVERY = 32

U8 = NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class Stroke:
    """A freehand stroke.

    Attributes:
        points: ``(N, 2)`` float array of ``(x, y)`` in native pixels (read-only), ``N >= 1``.
        width: the brush diameter in native pixels (``> 0``).
        tool: ``"pen"`` or ``"brush"`` paint, ``"eraser"`` erases.
    """

    points: NDArray[np.float64]
    width: float
    tool: str = "pen"

    def __post_init__(self) -> None:
        pts = np.array(self.points, dtype=np.float64, copy=True)
        if pts.ndim == 1 and pts.size == 2:
            pts = pts.reshape(1, 2)
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
            raise ConfigurationError(
                f"a stroke needs an (N, 2) array of points, got shape {pts.shape}")
        if not np.isfinite(pts).all():
            raise ConfigurationError("a stroke's points must be finite numbers")
        pts.flags.writeable = False
        width = float(self.width)
        if not (math.isfinite(width) and width > 0):
            raise ConfigurationError(
                f"a stroke's width must be a positive number of pixels, got {width}")
        if self.tool not in STROKE_TOOLS:
            raise ConfigurationError(
                f"unknown stroke tool {self.tool!r}; expected one of {STROKE_TOOLS}")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "width", width)

    @property
    def value(self) -> int:
        """The pixel value the stroke paints: 0 for the eraser, else 255."""
        return 0 if self.tool == "eraser" else 255

    def __repr__(self) -> str:
        return f"Stroke({len(self.points)} points, width={self.width:g}, tool={self.tool!r})"


@dataclass(frozen=True)
class Rect:
    """A filled axis-aligned rectangle in native pixels (corners in any order)."""

    x0: float
    y0: float
    x1: float
    y1: float
    erase: bool = False

    def __post_init__(self) -> None:
        coords = [float(v) for v in (self.x0, self.y0, self.x1, self.y1)]
        if not all(math.isfinite(v) for v in coords):
            raise ConfigurationError("a rectangle's corners must be finite numbers")
        x0, y0, x1, y1 = coords
        object.__setattr__(self, "x0", min(x0, x1))
        object.__setattr__(self, "x1", max(x0, x1))
        object.__setattr__(self, "y0", min(y0, y1))
        object.__setattr__(self, "y1", max(y0, y1))

    @property
    def value(self) -> int:
        return 0 if self.erase else 255


@dataclass(frozen=True)
class Clear:
    """Everything becomes 0."""


@dataclass(frozen=True)
class Invert:
    """0 and 255 swap."""


@dataclass(frozen=True)
class Grow:
    """Every masked region grows by ``percent`` % of its size (see `grow_mask`)."""

    percent: float = 15.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.percent) and 0 < self.percent <= 1000):
            raise ConfigurationError(f"grow percent must be in (0, 1000], got {self.percent}")


@dataclass(frozen=True, eq=False)
class Load:
    """The raster is replaced by a given binary image of the drawing's native size."""

    bits: bytes = field(repr=False)
    width: int
    height: int

    @classmethod
    def from_array(cls, array: ArrayLike) -> Load:
        """A load of ``array`` (2-D; nonzero means painted)."""
        arr = np.asarray(array)
        if arr.ndim != 2:
            raise ConfigurationError(f"a loaded raster must be 2-D, got shape {arr.shape}")
        return cls(np.packbits(arr > 0).tobytes(), int(arr.shape[1]), int(arr.shape[0]))

    def array(self) -> U8:
        """The raster as 0/255 ``uint8`` of shape ``(height, width)``."""
        flat = np.unpackbits(np.frombuffer(self.bits, np.uint8), count=self.width * self.height)
        return (flat.reshape(self.height, self.width) * np.uint8(255)).astype(np.uint8)


#: One undoable change to a drawing (a stroke, a rectangle, clear, invert, grow, load).
Edit = Stroke | Rect | Clear | Invert | Grow | Load


# --------------------------------------------------------------------------------------------
# Rasterisation


def _linear_interval(
    coef: NDArray[np.float64], const: NDArray[np.float64], lo: float | NDArray[np.float64],
    hi: float | NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The ``t`` interval where ``lo <= coef * t + const <= hi`` (empty: start > end)."""
    flat = np.abs(coef) < 1e-12
    safe = np.where(flat, 1.0, coef)
    a = (lo - const) / safe
    b = (hi - const) / safe
    start = np.minimum(a, b)
    end = np.maximum(a, b)
    inside = (const >= lo) & (const <= hi)
    start = np.where(flat, np.where(inside, -np.inf, np.inf), start)
    end = np.where(flat, np.where(inside, np.inf, -np.inf), end)
    return start, end


def _stroke_spans(
    points: NDArray[np.float64], radius: float, height: int, width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Row spans ``(row, first column, last column)`` of the pixels a stroke paints.

    Each segment's capsule (the points within ``radius`` of the segment) meets a pixel row's
    centre line in one interval: the union of the intervals of its two end discs and its body.
    Everything is computed for all (segment, row) pairs at once.
    """
    if len(points) == 1:
        a = b = points
    else:
        a, b = points[:-1], points[1:]
    top = np.minimum(a[:, 1], b[:, 1]) - radius
    bottom = np.maximum(a[:, 1], b[:, 1]) + radius
    first = np.maximum(np.ceil(top - 0.5), 0).astype(np.int64)
    last = np.minimum(np.floor(bottom - 0.5), height - 1).astype(np.int64)
    counts = np.maximum(last - first + 1, 0)
    total = int(counts.sum())
    empty = np.zeros(0, np.int64)
    if total == 0:
        return empty, empty, empty
    seg = np.repeat(np.arange(len(a)), counts)
    starts = np.cumsum(counts) - counts
    rows = first[seg] + (np.arange(total) - starts[seg])
    cy = rows + 0.5
    ax, ay, bx, by = a[seg, 0], a[seg, 1], b[seg, 0], b[seg, 1]
    r2 = radius * radius

    lo = np.full(total, np.inf)
    hi = np.full(total, -np.inf)
    for px, py in ((ax, ay), (bx, by)):  # the two end discs
        h2 = r2 - (cy - py) ** 2
        ok = h2 >= 0
        h = np.sqrt(np.where(ok, h2, 0.0))
        lo = np.where(ok, np.minimum(lo, px - h), lo)
        hi = np.where(ok, np.maximum(hi, px + h), hi)

    dx, dy = bx - ax, by - ay
    length = np.hypot(dx, dy)
    has_body = length > 0
    if has_body.any():  # the body: 0 <= (p - a).u <= length and |(p - a).n| <= radius
        safe = np.where(has_body, length, 1.0)
        ux, uy = dx / safe, dy / safe
        qy = cy - ay
        s1, e1 = _linear_interval(ux, qy * uy, 0.0, length)
        s2, e2 = _linear_interval(-uy, qy * ux, -radius, radius)
        bs, be = np.maximum(s1, s2) + ax, np.minimum(e1, e2) + ax
        ok = has_body & (bs <= be)
        lo = np.where(ok, np.minimum(lo, bs), lo)
        hi = np.where(ok, np.maximum(hi, be), hi)

    valid = hi >= lo
    with np.errstate(invalid="ignore"):
        c0 = np.ceil(np.where(valid, lo, 0.0) - 0.5)
        c1 = np.floor(np.where(valid, hi, -1.0) - 0.5)
    c0 = np.maximum(c0, 0).astype(np.int64)
    c1 = np.minimum(c1, width - 1).astype(np.int64)
    keep = valid & (c0 <= c1)
    return rows[keep], c0[keep], c1[keep]


def _merge_spans(
    rows: NDArray[np.int64], c0: NDArray[np.int64], c1: NDArray[np.int64], width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Overlapping or touching spans of the same row merged into disjoint ones."""
    order = np.lexsort((c0, rows))
    rows, c0, c1 = rows[order], c0[order], c1[order]
    stride = width + 2
    reach = np.maximum.accumulate(rows * stride + c1)  # rows dominate: max never leaks across rows
    prev = np.concatenate(([-(2**62)], reach[:-1]))
    new = rows * stride + c0 > prev + 1
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    ends = np.zeros(len(first), np.int64)
    np.maximum.at(ends, group, c1)
    return rows[first], c0[first], ends


def paint_stroke(
    raster: U8, points: ArrayLike, width: float, value: int, *, scale: tuple[float, float] = (1, 1)
) -> None:
    """Paint a stroke into ``raster`` in place.

    ``points`` are ``(x, y)`` in the stroke's own pixels, multiplied by ``scale`` (``(sx, sy)``)
    to reach the raster's; ``width`` (the diameter) is scaled by their mean.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) * np.asarray(scale, np.float64)
    radius = 0.5 * float(width) * 0.5 * (scale[0] + scale[1])
    height, w = raster.shape
    rows, c0, c1 = _stroke_spans(pts, radius, height, w)
    if len(rows) == 0:
        return
    rows, c0, c1 = _merge_spans(rows, c0, c1, w)
    flat = raster.reshape(-1)  # a view: raster is C-contiguous
    begin = rows * w + c0
    for b, e in zip(begin.tolist(), (rows * w + c1 + 1).tolist(), strict=True):
        flat[b:e] = value


def paint_rect(raster: U8, rect: Rect, *, scale: tuple[float, float] = (1, 1)) -> None:
    """Paint a rectangle into ``raster`` in place (pixel centres inside, edges included)."""
    sx, sy = scale
    height, width = raster.shape
    c0 = max(math.ceil(rect.x0 * sx - 0.5), 0)
    c1 = min(math.floor(rect.x1 * sx - 0.5), width - 1)
    r0 = max(math.ceil(rect.y0 * sy - 0.5), 0)
    r1 = min(math.floor(rect.y1 * sy - 0.5), height - 1)
    if c0 <= c1 and r0 <= r1:
        raster[r0 : r1 + 1, c0 : c1 + 1] = rect.value


def grow_mask(raster: U8, percent: float = 15.0) -> U8:
    """A copy of ``raster`` whose masked regions are grown.

    Each 8-connected region of nonzero pixels, of area ``A`` pixels, has the equivalent diameter
    ``d = 2 * sqrt(A / pi)`` (the diameter of a disc of the same area). It grows by the margin
    ``m = percent / 100 * d / 2``, at least 1 pixel: every pixel whose centre lies within ``m``
    of one of the region's pixel centres (Euclidean distance) becomes 255. So at 15 % a disc of
    diameter 100 px becomes a disc of diameter 115 px, a 10 px line grows by a few pixels, and
    each region grows in proportion to itself, not to the photo. This is a dilation with a
    disc-shaped (elliptical) kernel of radius ``m``, computed with a distance transform so its
    cost does not depend on ``m``.
    """
    import cv2  # lazily: OpenCV takes a while to import

    binary = (raster > 0).astype(np.uint8)
    out = binary * np.uint8(255)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    height, width = raster.shape
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        margin = max(percent / 100.0 * math.sqrt(area / math.pi), 1.0)
        pad = math.ceil(margin)
        x0, y0 = max(x - pad, 0), max(y - pad, 0)
        x1, y1 = min(x + w + pad, width), min(y + h + pad, height)
        outside = (labels[y0:y1, x0:x1] != label).astype(np.uint8)
        distance = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        out[y0:y1, x0:x1][distance <= margin + 1e-6] = 255
    return out


def _apply(raster: U8, op: Edit, scale: tuple[float, float]) -> U8:
    """``raster`` after ``op`` (painted in place where possible)."""
    if isinstance(op, Stroke):
        paint_stroke(raster, op.points, op.width, op.value, scale=scale)
    elif isinstance(op, Rect):
        paint_rect(raster, op, scale=scale)
    elif isinstance(op, Clear):
        raster[...] = 0
    elif isinstance(op, Invert):
        np.subtract(255, raster, out=raster)
    elif isinstance(op, Grow):
        raster[...] = grow_mask(raster, op.percent)
    elif isinstance(op, Load):
        loaded = op.array()
        if loaded.shape != raster.shape:
            loaded = np.asarray(
                Image.fromarray(loaded).resize(raster.shape[::-1], Image.Resampling.NEAREST)
            )
        raster[...] = loaded
    else:  # pragma: no cover - the Edit union is closed
        raise ConfigurationTypeError(f"not a drawing operation: {op!r}")
    return raster


# --------------------------------------------------------------------------------------------
# The model


class Drawing:
    """A ``width x height`` binary raster built from undoable operations.

    ``apply(op)`` adds an operation (and forgets what could be redone), ``undo()`` and ``redo()``
    step through them. The current native raster is kept up to date incrementally (a stroke
    costs only its own pixels); undo replays from the nearest reset (`Clear`,
    `Load`) or checkpoint, so it never replays more than `CHECKPOINT_EVERY`
    operations after an expensive one.

    Args:
        width: native width in pixels (``>= 1``).
        height: native height in pixels (``>= 1``).
    """

    def __init__(self, width: int, height: int) -> None:
        if int(width) < 1 or int(height) < 1:
            raise ConfigurationError(f"a drawing needs a positive size, got {width}x{height}")
        self.width = int(width)
        self.height = int(height)
        self._ops: list[Edit] = []
        self._redo: list[Edit] = []
        self._native: U8 = np.zeros((self.height, self.width), np.uint8)
        self._checkpoints: dict[int, bytes] = {}

    # -- state ---------------------------------------------------------------------------------
    @property
    def operations(self) -> tuple[Edit, ...]:
        """The applied operations, oldest first."""
        return tuple(self._ops)

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        """The applied strokes, oldest first (including erasures)."""
        return tuple(op for op in self._ops if isinstance(op, Stroke))

    @property
    def can_undo(self) -> bool:
        return bool(self._ops)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def raster(self) -> U8:
        """The current native raster, 0/255 ``uint8`` of shape ``(height, width)`` (read-only)."""
        view = self._native.view()
        view.flags.writeable = False
        return view

    @property
    def coverage(self) -> float:
        """The painted fraction of the pixels, 0 to 1."""
        return float(np.count_nonzero(self._native)) / self._native.size

    # -- editing -------------------------------------------------------------------------------
    def apply(self, op: Edit) -> None:
        """Apply ``op`` to the raster; what could be redone is forgotten."""
        if isinstance(op, Load) and (op.width, op.height) != (self.width, self.height):
            raise ConfigurationError(
                f"a loaded raster must be {self.width}x{self.height}, got {op.width}x{op.height}"
            )
        self._redo.clear()
        self._checkpoints = {k: v for k, v in self._checkpoints.items() if k <= len(self._ops)}
        self._push(op)

    def undo(self) -> Edit | None:
        """Take back the last operation and return it (``None`` when there is none)."""
        if not self._ops:
            return None
        op = self._ops.pop()
        self._redo.append(op)
        self._native = self._replay_native(len(self._ops))
        return op

    def redo(self) -> Edit | None:
        """Apply the last undone operation again and return it (``None`` when there is none)."""
        if not self._redo:
            return None
        op = self._redo.pop()
        self._push(op)
        return op

    def _push(self, op: Edit) -> None:
        _apply(self._native, op, (1.0, 1.0))
        self._ops.append(op)
        n = len(self._ops)
        if isinstance(op, Grow) or n % CHECKPOINT_EVERY == 0:
            self._checkpoints[n] = np.packbits(self._native > 0).tobytes()

    # -- rendering -----------------------------------------------------------------------------
    def _start(self, n: int) -> int:
        """Index of the first operation that must be replayed to get the state after ``n``."""
        for i in range(n - 1, -1, -1):
            if isinstance(self._ops[i], (Clear, Load)):
                return i
        return 0

    def _replay_native(self, n: int) -> U8:
        start = self._start(n)
        base = max((k for k in self._checkpoints if start <= k <= n), default=None)
        if base is not None:
            flat = np.unpackbits(np.frombuffer(self._checkpoints[base], np.uint8),
                                 count=self.width * self.height)
            raster = (flat.reshape(self.height, self.width) * np.uint8(255)).astype(np.uint8)
            start = base
        else:
            raster = np.zeros((self.height, self.width), np.uint8)
        for op in self._ops[start:n]:
            _apply(raster, op, (1.0, 1.0))
        return raster

    def render(self, width: int | None = None, height: int | None = None) -> U8:
        """The current raster at ``width x height`` pixels (default: native), 0/255 ``uint8``.

        At another size the operations are replayed with scaled geometry, so strokes stay crisp
        and exact at any size; a `Load` is resized with nearest-neighbour sampling.
        """
        width = self.width if width is None else int(width)
        height = self.height if height is None else int(height)
        if width < 1 or height < 1:
            raise ConfigurationError(f"cannot render at {width}x{height}")
        if (width, height) == (self.width, self.height):
            return self._native.copy()
        scale = (width / self.width, height / self.height)
        raster = np.zeros((height, width), np.uint8)
        for op in self._ops[self._start(len(self._ops)):]:
            _apply(raster, op, scale)
        return raster

    def image(self, width: int | None = None, height: int | None = None) -> Image.Image:
        """`render` as a PIL ``L`` image."""
        return Image.fromarray(self.render(width, height), "L")

    def __repr__(self) -> str:
        return (f"Drawing({self.width}x{self.height}, {len(self._ops)} operations, "
                f"{len(self._redo)} to redo)")


def as_points(points: ArrayLike | Sequence[Sequence[float]]) -> NDArray[np.float64]:
    """``points`` as an ``(N, 2)`` float array (raises ``ValueError`` on another shape)."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1 and pts.size == 2:
        pts = pts.reshape(1, 2)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ConfigurationError(f"expected (N, 2) points, got shape {pts.shape}")
    return pts
