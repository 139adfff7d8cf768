"""The live-ink layer: an anywidget canvas drawn by the browser, and its messages decoded.

Why this exists (measured in issue 3): a stroke drawn by a Python ``on_mouse_move`` handler
lags 131 ms (p50) behind the pointer during a fast drag and loses about 40 % of the points,
while a canvas drawn by its own ``pointermove`` handler follows within 9 ms and, with
``getCoalescedEvents()``, keeps every point. So the browser draws the live stroke
(``ink.js``) and Python receives the points, batched, through `InkLayer`'s custom
messages; `decode_ink_message` and `PartialStrokes` turn them into whole strokes.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import anywidget
import numpy as np
import traitlets
from ipywidgets import Color
from numpy.typing import NDArray

from ..contract.errors import ConfigurationError
from ._esm import esm_source

__all__ = [
    "BATCH_MS",
    "INK_TOOLS",
    "MASK_LAYER_CLASS",
    "MASK_OPACITY",
    "InkLayer",
    "InkBatch",
    "InkPointsMessage",
    "InkKeyMessage",
    "InkReleaseMessage",
    "decode_ink_message",
    "PartialStrokes",
]

#: The browser sends at most one points message per this many milliseconds while a stroke is
#: drawn, plus one at pointer up: the default of the synced ``InkLayer.batch_ms``, which
#: ``ink.js`` reads (the number is written here only).
BATCH_MS = 100
#: What the ink layer can draw: freehand ``pen`` (sketch), ``brush`` (mask), ``eraser`` and
#: ``rect`` (a live rectangle outline; Python receives its two corners).
INK_TOOLS: tuple[str, ...] = ("pen", "brush", "eraser", "rect")
#: CSS class of a committed mask layer, and the opacity it and the live mask ink share: both
#: paint opaque colour and are made translucent as a whole, so overlapping strokes look the
#: same live, committed and redrawn.
MASK_LAYER_CLASS = "cdw-mask-layer"
MASK_OPACITY = 0.5

_CSS = f"""
.cdw-ink-host {{ line-height: 0; overflow: hidden; position: relative; }}
.cdw-ink {{ display: block; width: 100%; height: 100%; touch-action: none; cursor: crosshair; }}
.cdw-ink:focus {{ outline: none; }}
.cdw-ink:focus-visible:not([data-pointer-focus]) {{ outline: 3px solid #1a73e8;
  outline-offset: -3px; }}
.cdw-brush {{ display: none; position: absolute; left: 0; top: 0; pointer-events: none;
  box-sizing: border-box; border-radius: 50%; border: 1px solid rgba(255, 255, 255, 0.95);
  box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.8); }}
.{MASK_LAYER_CLASS} {{ opacity: {MASK_OPACITY}; }}
"""


class InkPointsMessage(TypedDict):
    """Browser -> Python: part of a stroke, with one buffer of ``n`` float32 ``(x, y)`` pairs in
    canvas pixels. ``final`` marks the stroke's last batch (a ``rect`` sends only that one,
    holding its two corners); ``width`` is the brush diameter in canvas pixels."""

    type: Literal["points"]
    id: str
    tool: str
    width: float
    final: bool
    n: int


class InkKeyMessage(TypedDict):
    """Browser -> Python: a shortcut pressed while the ink canvas has focus."""

    type: Literal["key"]
    action: Literal["undo", "redo", "smaller", "bigger", "brush", "eraser", "rect"]


class InkReleaseMessage(TypedDict):
    """Python -> browser: stroke ``id`` is committed; its live ink may go."""

    type: Literal["release"]
    id: str


class InkLayer(anywidget.AnyWidget):
    """A transparent canvas that draws the stroke under the pointer and reports its points.

    Lay it over the committed layers with the same CSS size. Traits (all synced):

    * ``width``, ``height`` (int, pixels, default 512): the canvas's own pixel size; pointer
      positions are reported in these pixels whatever the CSS size.
    * ``size`` (float, canvas pixels, default 8): brush diameter.
    * ``color`` (CSS colour, default ``"white"``): ink of ``pen``, ``brush`` and ``rect``.
    * ``eraser_color`` (CSS colour, default ``"black"``): what the eraser's live trail shows.
    * ``tool`` (one of `INK_TOOLS`, default ``"pen"``).
    * ``enabled`` (bool, default ``True``): ``False`` lets the pointer through.
    * ``opacity`` (0 to 1, default 1): the whole layer's opacity.
    * ``batch_ms`` (int, milliseconds, default `BATCH_MS`): while a stroke is drawn, at
      most one `InkPointsMessage` per this many milliseconds, plus the final one.
    """

    # one module: zoom.js (zoom and pan, pure view math and its page glue) then ink.js
    _esm = esm_source("zoom.js", "ink.js")
    _css = _CSS

    width = traitlets.Int(512).tag(sync=True)
    height = traitlets.Int(512).tag(sync=True)
    size = traitlets.Float(8.0).tag(sync=True)
    color = Color("white").tag(sync=True)
    eraser_color = Color("black").tag(sync=True)
    tool = traitlets.Enum(INK_TOOLS, default_value="pen").tag(sync=True)
    enabled = traitlets.Bool(True).tag(sync=True)
    opacity = traitlets.Float(1.0).tag(sync=True)
    batch_ms = traitlets.Int(BATCH_MS, min=1).tag(sync=True)

    @traitlets.validate("width", "height")
    def _positive_size(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 1 <= value <= 8192:
            raise traitlets.TraitError(f"ink layer {proposal['trait'].name} must be 1 to 8192")
        return value

    @traitlets.validate("size")
    def _positive_brush(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not (math.isfinite(value) and value > 0):
            raise traitlets.TraitError(f"brush size must be a positive number, got {value}")
        return value

    @traitlets.validate("opacity")
    def _unit_opacity(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0.0 <= value <= 1.0:
            raise traitlets.TraitError(f"opacity must be between 0 and 1, got {value}")
        return value

    def on_points(self, callback: Callable[[Mapping[str, Any], Sequence[Any]], object]) -> None:
        """Call ``callback(content, buffers)`` for every message the browser sends."""
        self.on_msg(lambda _widget, content, buffers: callback(content, buffers))

    def release(self, stroke_id: str) -> None:
        """Tell the browser the stroke ``stroke_id`` is committed: its live ink may go."""
        message: InkReleaseMessage = {"type": "release", "id": stroke_id}
        self.send(message)

    def __repr__(self) -> str:
        return f"InkLayer({self.width}x{self.height}, tool={self.tool!r}, size={self.size:g})"


@dataclass(frozen=True)
class InkBatch:
    """One points message: part (or, with ``final``, the end) of stroke ``id``.

    ``points`` is an ``(n, 2)`` float array in ink-canvas pixels, ``width`` the brush diameter
    in the same pixels.
    """

    id: str
    tool: str
    width: float
    points: NDArray[np.float64]
    final: bool


def decode_ink_message(content: Mapping[str, Any], buffers: Sequence[Any]) -> InkBatch | None:
    """The batch a browser message carries; ``None`` for messages of another type.

    Raises ``ValueError`` for a malformed points message.
    """
    if content.get("type") != "points":
        return None
    tool = content.get("tool")
    if tool not in INK_TOOLS:
        raise ConfigurationError(f"ink message with unknown tool {tool!r}")
    width = float(content.get("width", 0))
    if not (math.isfinite(width) and width > 0):
        raise ConfigurationError(f"ink message with invalid brush width {content.get('width')!r}")
    if len(buffers) != 1:
        raise ConfigurationError(f"ink message needs one points buffer, got {len(buffers)}")
    raw = memoryview(buffers[0]).cast("B")
    if len(raw) % 8:
        raise ConfigurationError(
            f"ink points buffer of {len(raw)} bytes is not float32 (x, y) pairs")
    points = np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(-1, 2)
    if int(content.get("n", len(points))) != len(points):
        raise ConfigurationError(
            f"ink message says {content.get('n')} points but carries {len(points)}")
    if not np.isfinite(points).all():
        raise ConfigurationError("ink message with non-finite points")
    return InkBatch(
        id=str(content.get("id", "")),
        tool=str(tool),
        width=width,
        points=points,
        final=bool(content.get("final", False)),
    )


class PartialStrokes:
    """The points received so far of strokes still being drawn, by stroke id.

    ``add`` returns the whole stroke's points when its final batch arrives. At most
    ``max_open`` strokes are kept open (default 16): a stroke whose end never came (a page
    closed mid-stroke) is eventually dropped rather than kept forever.
    """

    def __init__(self, *, max_open: int = 16) -> None:
        self._open: OrderedDict[str, list[NDArray[np.float64]]] = OrderedDict()
        self._max_open = max_open

    def add(self, batch: InkBatch) -> NDArray[np.float64] | None:
        parts = self._open.pop(batch.id, [])
        parts.append(batch.points)
        if batch.final:
            points = np.concatenate(parts) if len(parts) > 1 else parts[0]
            return points
        self._open[batch.id] = parts
        while len(self._open) > self._max_open:
            self._open.popitem(last=False)
        return None

    def __len__(self) -> int:
        return len(self._open)
