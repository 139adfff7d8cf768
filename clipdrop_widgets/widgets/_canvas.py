"""The one place that touches ipycanvas's private parts, and the draw calls the widgets share.

ipycanvas sends every draw call through one shared ``_CanvasManager`` widget. Two of its
internals matter to us and are wrapped here, so an ipycanvas upgrade is checked in one file:

* ``_caching`` and ``flush()``: `batch` turns many calls into one comm message, like
  ``ipycanvas.hold_canvas`` but exception-safe, re-entrant and serialised across threads (the
  apps draw results from a worker thread while the user paints).
* ``_current_canvas``: the manager sends a ``switchCanvas`` command only when the target canvas
  changes. A browser page that connects later (Voila's default mode, a reloaded page) starts
  with no current canvas, so a redraw must forget the remembered one first:
  `on_client_ready` does that before calling the widget's redraw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from ipycanvas import Canvas
from ipycanvas import canvas as _ipycanvas
from numpy.typing import ArrayLike

from ..contract.errors import ConfigurationError

__all__ = [
    "batch",
    "forget_current_canvas",
    "on_client_ready",
    "draw_polyline",
    "fill_rect",
    "put_pixels",
]

_LOCK = threading.RLock()


def _manager() -> _ipycanvas._CanvasManager:
    return _ipycanvas._CANVAS_MANAGER


@contextmanager
def batch() -> Iterator[None]:
    """Send every ipycanvas call made inside as one comm message.

    Nested uses (and ``ipycanvas.hold_canvas`` around it) join the outer batch. The batch is
    flushed and caching is switched off even when the body raises.
    """
    with _LOCK:
        manager = _manager()
        if manager._caching:
            yield
            return
        manager._caching = True
        try:
            yield
        finally:
            try:
                manager.flush()
            finally:
                manager._caching = False


def forget_current_canvas() -> None:
    """Make the next draw command start with a ``switchCanvas`` (for a freshly connected page)."""
    with _LOCK:
        _manager()._current_canvas = None


def on_client_ready(canvas: Canvas, redraw: Callable[[], object]) -> None:
    """Call ``redraw()`` whenever a browser page connects to ``canvas``.

    Draw commands sent before a page connects are lost (Voila's default mode executes the
    notebook first); ipycanvas reports each connection with a ``client_ready`` event.
    """

    def ready() -> None:
        forget_current_canvas()
        redraw()

    canvas.on_client_ready(ready)


def _as_points32(points: ArrayLike) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) == 1:  # a canvas strokes nothing for a lone point: give it a tiny segment
        pts = np.concatenate([pts, pts + np.float32(0.01)])
    return np.ascontiguousarray(pts)


def draw_polyline(
    canvas: Canvas, points: ArrayLike, *, width: float, color: str, erase: bool = False
) -> None:
    """One stroke as one ``strokeLines`` command (round caps and joins), in canvas pixels.

    ``erase=True`` removes pixels (``destination-out``) instead of painting ``color``.
    """
    pts = _as_points32(points)
    with batch():
        canvas.global_composite_operation = "destination-out" if erase else "source-over"
        canvas.stroke_style = color
        canvas.line_width = float(width)
        canvas.line_cap = "round"
        canvas.line_join = "round"
        canvas.stroke_lines(pts)


def fill_rect(
    canvas: Canvas, x: float, y: float, width: float, height: float, *, color: str,
    erase: bool = False,
) -> None:
    """A filled rectangle in canvas pixels (``erase=True`` removes instead)."""
    with batch():
        canvas.global_composite_operation = "destination-out" if erase else "source-over"
        canvas.fill_style = color
        canvas.fill_rect(float(x), float(y), float(width), float(height))


def put_pixels(canvas: Canvas, pixels: np.ndarray, *, clear: bool = True) -> None:
    """Replace the canvas's pixels with ``pixels`` (``(H, W)`` grey or ``(H, W, 4)`` RGBA).

    ipycanvas encodes 2-D and 4-channel arrays as PNG (exact) but 3-channel ones as JPEG
    (lossy, quality 75), so 3-channel input is refused here: masks and sketches must stay exact.
    """
    pixels = np.asarray(pixels)
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 4)):
        raise ConfigurationError(f"put_pixels takes (H, W) or (H, W, 4) arrays, got {pixels.shape}")
    with batch():
        if clear:
            canvas.clear()
        canvas.global_composite_operation = "source-over"
        canvas.put_image_data(np.ascontiguousarray(pixels, dtype=np.uint8), 0, 0)
