"""RectangleByKeys: mask a rectangle without a mouse, from four numbers typed or stepped.

The painters take strokes from a pointer; a user who cannot use one (a keyboard or a screen
reader) had no way to make a mask. Four number fields give the rectangle's edges in percent
of the photo (left, top, right, bottom; arrow keys step them), and **Mask rectangle** adds it
to the mask through the painter's own rectangle path (`MaskPainter.add_rect`), undoable like
any rectangle drawn with the pointer. It sits folded in the side panel of the masked apps.

Two edges are a span in either order, as with a rectangle dragged leftwards with the pointer:
Right 20 with Left 60 masks 20 % to 60 % (it was refused, a user saw nothing happen). Only
equal edges, a rectangle with no area, are refused, in words naming the two fields.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..contract.errors import InputError
from ..widgets import MaskPainter
from ..widgets._ui import ErrorLine, Layout

__all__ = ["RectangleByKeys"]

#: The fields: (description, default percent).
_EDGES = (("Left %", 25.0), ("Top %", 25.0), ("Right %", 75.0), ("Bottom %", 75.0))
#: What each field says on hover (ipywidgets shows "null" on a label without a tooltip).
_EDGE_TIPS = {label: f"The rectangle's {label.split()[0].lower()} edge, in percent of the "
                     f"photo's {'width' if label[0] in 'LR' else 'height'} from its "
                     f"{'left' if label[0] in 'LR' else 'top'}"
              for label, _ in _EDGES}


class RectangleByKeys(widgets.VBox):
    """A folded "Mask a rectangle by keyboard" section for ``painter``: a toggle button (Enter
    or Space opens it) over the fields.

    Attributes:
        toggle: the button that shows or hides the fields.
        edges: the four ``BoundedFloatText`` fields (left, top, right, bottom, percent of
            the photo's width or height, 0 to 100).
        button: **Mask rectangle**.
        errors: the line saying why a rectangle was refused (an empty one).
    """

    def __init__(self, painter: MaskPainter) -> None:
        self._painter = painter
        self.edges = [widgets.BoundedFloatText(value=value, min=0, max=100, step=1,
                                               description=label,
                                               tooltip=_EDGE_TIPS[label],
                                               layout=Layout(width="150px"))
                      for label, value in _EDGES]
        self.button = widgets.Button(description="Mask rectangle", icon="square",
                                     tooltip="Add this rectangle to the mask (undoable)",
                                     layout=Layout(width="auto"))
        self.errors = ErrorLine()
        self.button.on_click(self.errors.guard(lambda _b: self.add()))
        self._body = widgets.VBox([widgets.HBox(self.edges[:2]), widgets.HBox(self.edges[2:]),
                                   self.button, self.errors],
                                  layout=Layout(display="none"))
        self.toggle = widgets.ToggleButton(
            description="Mask a rectangle by keyboard", icon="keyboard-o",
            tooltip="Type the rectangle's edges instead of drawing it",
            layout=Layout(width="auto"))
        self.toggle.observe(lambda change: self._show(bool(change["new"])), "value")
        super().__init__([self.toggle, self._body])

    def _show(self, shown: bool) -> None:
        self._body.layout.display = "" if shown else "none"

    def add(self) -> None:
        """Mask the rectangle the fields give (percent of the photo): the edges in either order
        (Right under Left masks from Right to Left); one with no area is refused with a
        message."""
        left, top, right, bottom = (float(e.value) for e in self.edges)
        flat = [f"{a} and {b} are equal" for a, b, x, y in
                (("Left", "Right", left, right), ("Top", "Bottom", top, bottom)) if x == y]
        if flat:
            raise InputError(f"the rectangle is empty: {' and '.join(flat)}",
                             field="mask_file", rule="empty rectangle")
        left, right = sorted((left, right))
        top, bottom = sorted((top, bottom))
        w, h = self._painter.image.size
        self._painter.add_rect(left / 100 * w, top / 100 * h, right / 100 * w, bottom / 100 * h)
