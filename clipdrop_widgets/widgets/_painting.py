"""What SketchPad and MaskPainter share: a drawing model shown as ipycanvas layers under live ink.

The layers, bottom to top, share one grid cell: whatever the subclass puts below (the photo),
the committed ipycanvas layer (what Python drew from the model), and the `InkLayer`
(the stroke being drawn, drawn by the browser). A finished stroke goes

    browser ink -> points messages -> _handle_ink_message -> add_stroke -> Drawing.apply
                -> one draw command on the committed layer -> "release" to the ink layer

and ``add_stroke`` called from Python takes the same path from its third step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas
from numpy.typing import ArrayLike, NDArray

from ..contract.errors import ConfigurationError
from . import _canvas
from ._ui import ErrorLine, Layout, resize_stack, stack
from .ink import InkLayer, PartialStrokes, decode_ink_message
from .snapshot import Snapshot
from .strokes import Clear, Drawing, Edit, Rect, Stroke, as_points

__all__ = ["Painter"]


class Painter(Snapshot, widgets.VBox):
    """Base of the painting widgets (not for direct use).

    Subclasses set the class attributes, build their layers and call `_init_painter`,
    then implement `_draw_op` (draw one new stroke or rectangle on the committed layer,
    in display pixels), `_paint_layer` (repaint the committed layer from the model) and
    ``snapshot``.

    Attributes:
        errors: the `ErrorLine` under the widget; ``errors.message`` is the last
            callback error in plain words (``""`` when the last callback succeeded).
    """

    #: The freehand tools offered, first is the default (e.g. ``("pen", "eraser")``).
    _tools: ClassVar[tuple[str, ...]] = ()
    #: Whether the rectangle tool is offered.
    _rect_tool: ClassVar[bool] = False
    _tool_labels: ClassVar[dict[str, str]] = {
        "pen": "Pen", "brush": "Brush", "eraser": "Eraser", "rect": "Rectangle",
    }
    _tool_tips: ClassVar[dict[str, str]] = {
        "pen": "Draw white lines", "brush": "Paint the mask",
        "eraser": "Erase what was drawn", "rect": "Drag a filled rectangle",
    }

    _drawing: Drawing
    _layer: Canvas
    _ink: InkLayer
    _scale: tuple[float, float]
    _display: tuple[int, int]

    def _init_painter(
        self,
        *,
        native: tuple[int, int],
        display: tuple[int, int],
        layer: Canvas,
        below: Sequence[widgets.DOMWidget],
        brush_size: float,
        size_range: tuple[int, int],
        ink_color: str,
        eraser_color: str,
        ink_opacity: float,
        extra_buttons: Sequence[widgets.Widget] = (),
        extra_rows: Sequence[widgets.Widget] = (),
    ) -> None:
        self.errors = ErrorLine()
        self._edit_handlers: list[Callable[[], object]] = []
        self._layer = layer
        self._below = list(below)
        self._partial = PartialStrokes()
        tools = self._tools + (("rect",) if self._rect_tool else ())
        self._ink = InkLayer(
            width=display[0], height=display[1], size=float(brush_size), color=ink_color,
            eraser_color=eraser_color, tool=tools[0], opacity=ink_opacity,
        )
        self._tool_buttons = widgets.ToggleButtons(
            options=[(self._tool_labels[t], t) for t in tools], value=tools[0],
            tooltips=[self._tool_tips[t] for t in tools],
            style={"button_width": "auto"}, layout=Layout(width="auto"),
        )
        self._size_slider = widgets.IntSlider(
            value=round(brush_size), min=size_range[0], max=size_range[1],
            description="Size", continuous_update=True,
            tooltip="Brush size, in pixels on the screen",  # none: the page showed "null"
            layout=Layout(width="220px"),
        )
        widgets.link((self._tool_buttons, "value"), (self._ink, "tool"))
        widgets.link((self._size_slider, "value"), (self._ink, "size"))

        self._undo_button = widgets.Button(description="Undo", icon="undo", tooltip="Undo")
        self._redo_button = widgets.Button(description="Redo", icon="repeat", tooltip="Redo")
        self._clear_button = widgets.Button(description="Clear", icon="trash",
                                            tooltip="Clear everything (undoable)")
        for button, action in ((self._undo_button, self.undo), (self._redo_button, self.redo),
                               (self._clear_button, self.clear)):
            button.layout = Layout(width="auto")
            button.on_click(self.errors.guard(lambda _b, action=action: action()))

        self._ink.on_points(self.errors.guard(self._handle_ink_message))
        _canvas.on_client_ready(layer, self.errors.guard(self.redraw))

        self._set_geometry(native, display)
        self._stack = stack([*self._below, self._layer, self._ink], *display)
        # Two fixed rows (what to draw with; what to do with the drawing), so a narrow
        # column never wraps Undo and Redo apart.
        row = Layout(flex_flow="row wrap", align_items="center")
        toolbar = widgets.VBox([
            widgets.HBox([self._tool_buttons, self._size_slider], layout=row),
            widgets.HBox([self._undo_button, self._redo_button, self._clear_button,
                          *extra_buttons], layout=row),
        ])
        self.children = [toolbar, self._stack, *extra_rows, self.errors]
        self.redraw()

    def _set_geometry(self, native: tuple[int, int], display: tuple[int, int]) -> None:
        """A new empty model of ``native`` size shown at ``display`` size."""
        self._drawing = Drawing(*native)
        self._display = display
        self._scale = (display[0] / native[0], display[1] / native[1])
        self._layer.width, self._layer.height = display
        self._ink.width, self._ink.height = display
        if hasattr(self, "_stack"):
            resize_stack(self._stack, *display)

    # -- coordinates --------------------------------------------------------------------------
    @property
    def _mean_scale(self) -> float:
        return 0.5 * (self._scale[0] + self._scale[1])

    def _to_native(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        return points / np.asarray(self._scale)

    def _to_display(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        return points * np.asarray(self._scale)

    # -- state --------------------------------------------------------------------------------
    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of the picture as drawn, in canvas pixels (the page may show
        it larger or smaller; its aspect ratio stays)."""
        return self._display

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        """The strokes drawn so far (native pixels), oldest first; erasures included."""
        return self._drawing.strokes

    @property
    def operations(self) -> tuple[Edit, ...]:
        """Every applied operation (strokes, rectangles, clear, ...), oldest first."""
        return self._drawing.operations

    @property
    def brush_size(self) -> int:
        """Brush diameter in display pixels (what the Size slider shows)."""
        return int(self._size_slider.value)

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        self._size_slider.value = int(value)

    def press(self, action: str) -> None:
        """Do what a shortcut on the focused canvas does: ``"undo"``, ``"redo"`` (Ctrl/Cmd+Z,
        Shift+Ctrl/Cmd+Z), ``"smaller"``, ``"bigger"`` (``[`` and ``]``: the brush by about a
        fifth, within the Size slider's range), ``"brush"``, ``"eraser"``, ``"rect"`` (B, E, R:
        the tool, when this painter offers it; B is the pen on a sketch pad). Others are
        ignored."""
        slider, tools = self._size_slider, [v for _label, v in self._tool_buttons.options]
        if action == "undo":
            self.undo()
        elif action == "redo":
            self.redo()
        elif action in ("smaller", "bigger"):
            size = slider.value
            step = max(1, round(size * 0.2))
            slider.value = min(slider.max, max(slider.min, size + (step if action == "bigger"
                                                                    else -step)))
        elif action == "brush":
            self._tool_buttons.value = tools[0]
        elif action in tools:
            self._tool_buttons.value = action

    @property
    def tool(self) -> str:
        """The tool the pointer draws with."""
        return str(self._tool_buttons.value)

    @tool.setter
    def tool(self, value: str) -> None:
        tools = self._tools + (("rect",) if self._rect_tool else ())
        if value not in tools:
            raise ConfigurationError(f"{type(self).__name__} has no tool {value!r}; "
                             f"expected one of {tools}")
        self._tool_buttons.value = value

    # -- editing ------------------------------------------------------------------------------
    def add_stroke(
        self, points: ArrayLike, *, width: float | None = None, tool: str | None = None
    ) -> Stroke:
        """Draw a stroke through ``points`` (``(N, 2)``, ``x, y`` in native pixels).

        ``width`` is the brush diameter in native pixels (default: the Size slider's, converted
        from display pixels); ``tool`` one of the freehand tools (default: the first, the one
        that paints). This is the path the browser's strokes take too. Returns the stroke.
        """
        tool = self._tools[0] if tool is None else tool
        if tool not in self._tools:
            raise ConfigurationError(f"{type(self).__name__} has no tool {tool!r}; "
                             f"expected one of {self._tools}")
        if width is None:
            width = self.brush_size / self._mean_scale
        stroke = Stroke(as_points(points), float(width), tool)
        self._commit(stroke)
        return stroke

    def _commit(self, op: Stroke | Rect) -> None:
        self._drawing.apply(op)
        self._draw_op(op)
        self._sync_buttons()

    def _edit(self, op: Edit) -> None:
        """Apply an operation that changes more than a few pixels, then repaint."""
        self._drawing.apply(op)
        self.redraw()

    def undo(self) -> None:
        """Take back the last operation (nothing happens when there is none)."""
        if self._drawing.undo() is not None:
            self.redraw()

    def redo(self) -> None:
        """Apply the last undone operation again (nothing happens when there is none)."""
        if self._drawing.redo() is not None:
            self.redraw()

    def clear(self) -> None:
        """Erase everything (undoable)."""
        self._edit(Clear())

    def redraw(self) -> None:
        """Send the whole committed layer to the browser again, from the model."""
        with _canvas.batch():
            self._paint_layer()
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self._undo_button.disabled = not self._drawing.can_undo
        self._redo_button.disabled = not self._drawing.can_redo
        for handler in list(self._edit_handlers):
            handler()

    def on_edit(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after every change to the drawing (a stroke, a rectangle,
        undo, redo, clear, another photo)."""
        self._edit_handlers.append(callback)

    # -- the browser's strokes ----------------------------------------------------------------
    def _handle_ink_message(self, content: Mapping[str, Any], buffers: Sequence[Any]) -> None:
        """Take one message from the ink layer (exactly as ``ink.js`` sends it).

        Intermediate batches are only stored (cheap); the final one commits the stroke through
        `add_stroke` (or a rectangle), then releases the browser's live copy. A ``key``
        message is a shortcut pressed while the ink canvas had focus (undo, redo).
        """
        if content.get("type") == "key":  # a shortcut pressed on the focused ink canvas
            self.press(str(content.get("action")))
            return
        batch = decode_ink_message(content, buffers)
        if batch is None:
            return
        points = self._partial.add(batch)
        if points is None:
            return
        try:
            if len(points) == 0:
                return
            native = self._to_native(points)
            if batch.tool == "rect":
                if not self._rect_tool:
                    raise ConfigurationError(f"{type(self).__name__} has no rectangle tool")
                (x0, y0), (x1, y1) = native[0], native[-1]
                self._commit(Rect(x0, y0, x1, y1))
            else:
                self.add_stroke(native, width=batch.width / self._mean_scale, tool=batch.tool)
        finally:
            self._ink.release(batch.id)

    # -- subclass hooks -----------------------------------------------------------------------
    def _draw_op(self, op: Stroke | Rect) -> None:
        raise NotImplementedError

    def _paint_layer(self) -> None:
        raise NotImplementedError
