"""UpscaleApp: an image made larger by x2, x4 or to a size, compared with the original."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..widgets import HistoryStrip
from ..widgets._ui import Layout
from ..widgets.a11y import LIVE_CLASS
from ..widgets.magnifier import Magnifier
from ._base import UI_LOCK
from ._one_photo import OnePhotoApp

__all__ = ["UpscaleApp"]


class UpscaleApp(OnePhotoApp):
    """An image (upload or sample), **x2**, **x4** or **Size** (width and height), Run.

    The target size is shown before Run, with the most the call can cost (the documentation
    prices upscaling per call or per output megapixel: the answer's headers say which).

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        chooser: the `PhotoChooser`.
        scale: ``"x2"``, ``"x4"`` or ``"size"`` (toggle buttons; a factor that would be over
            4096 pixels a side goes to ``"size"`` at the largest size of that shape).
        width: the target width (pixels, 1 to 4096), used with ``"size"``.
        height: the target height (pixels, 1 to 4096), used with ``"size"``.
        magnifier: the `Magnifier` under the compare view, captioned "Magnifier", shown while
            a result is: the result at 1:1 pixels under the pointer, the original beside it
            in the lens.
    """

    endpoint_name = "upscale"
    sample = "chelsea"
    next_step = "choose x2, x4 or a size"

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        endpoint = ENDPOINTS[self.endpoint_name]
        self.scale = widgets.ToggleButtons(options=[("x2", "x2"), ("x4", "x4"),
                                                    ("Size", "size")], value="x2",
                                           tooltips=["Twice each side", "Four times each side",
                                                     "A width and a height"])
        fw, fh = endpoint.field("target_width"), endpoint.field("target_height")
        self.width = widgets.BoundedIntText(value=1024, min=fw.minimum, max=fw.maximum,  # type: ignore[union-attr]
                                            description="Width", tooltip=fw.doc,
                                            layout=Layout(width="170px"))
        self.height = widgets.BoundedIntText(value=1024, min=fh.minimum, max=fh.maximum,  # type: ignore[union-attr]
                                             description="Height", tooltip=fh.doc,
                                             layout=Layout(width="170px"))
        self._target = widgets.HTML("")
        self._target.add_class(LIVE_CLASS)  # the size and cost, and why x4 became Size: said
        self.magnifier = Magnifier()
        # Captioned: without it the magnifier reads as a stray second copy of the result.
        self._magnifier_caption = widgets.HTML(
            "<small><b>Magnifier</b>: point at this copy to see the result's own pixels at "
            "1:1 in the lens, the original's beside them in its left half</small>")
        self._magnifier_box = widgets.VBox([self._magnifier_caption, self.magnifier])
        self._magnifier_box.layout.display = "none"  # until there is a result
        super().__init__(client, history=history, session_dir=session_dir,
                         options=[self.scale, widgets.HBox([self.width, self.height]),
                                  self._target])
        self.compare.add_row(self._magnifier_box)
        for w in (self.scale, self.width, self.height):
            w.observe(lambda _c: self._show_target(), "value")
        self.chooser.on_change(lambda _image: self._show_target())
        self._show_target()

    def option_control(self, name: str) -> widgets.ValueWidget | None:
        """The Width box for ``target_width``, the Height box for ``target_height``."""
        boxes = {"target_width": self.width, "target_height": self.height}
        return boxes[name] if name in boxes else super().option_control(name)

    def options_restored(self, names: Sequence[str]) -> None:
        """A restored width or height is the size asked for: the toggle goes to Size."""
        if {"target_width", "target_height"} & set(names):
            self.scale.value = "size"

    @property
    def target(self) -> tuple[int, int]:
        """The size asked for (width, height), from the toggle and the boxes."""
        if self.scale.value == "size":
            return (self.width.value, self.height.value)
        factor = 2 if self.scale.value == "x2" else 4
        w, h = self.chooser.image.size
        return (w * factor, h * factor)

    def _show_target(self) -> None:
        custom = self.scale.value == "size"
        w, h = self.target
        side = ENDPOINTS[self.endpoint_name].field("target_width").maximum  # type: ignore[union-attr]
        if not custom and max(w, h) > side:
            # x2/x4 of this photo is over the largest side: never offer what Run refuses;
            # go to Size at the largest size of the same shape, and say why
            fit = side / max(w, h)
            why = (f"{self.scale.value} would be {w}x{h}, over {side} pixels a side: "
                   "set to the largest size of that shape")
            self.scale.value = "size"  # observed: each of these shows the target again
            self.width.value, self.height.value = max(1, round(w * fit)), max(1, round(h * fit))
            self._target.value = self._target.value.replace(
                "<small>", f"<small>&#9888; {why}<br>", 1)
            return
        self.width.disabled = self.height.disabled = not custom
        cost = self.endpoint.max_credits({"target_width": w, "target_height": h})
        over = max(w, h) > side
        note = (f" &#9888; over {side} pixels a side: Run will refuse it" if over else
                f" · at most {cost:.3g} credit{'' if cost == 1 else 's'}")
        self._target.value = f"<small>&rarr; <b>{w}x{h}</b>{note}</small>"

    def show(self, result: Result) -> None:
        """Show ``result`` in the compare view and in the magnifier, beside its original."""
        super().show(result)
        before = self._befores.get(result, self._input_of(result))
        if before is None:
            return
        with UI_LOCK:
            self.magnifier.set_images(before, result)
            self._magnifier_box.layout.display = ""

    def _show_send_to(self) -> None:
        super()._show_send_to()
        if self.result is None:  # discarded: no magnifier over the inputs
            self._magnifier_box.layout.display = "none"

    def _bind(self) -> Any:
        w, h = self.target

        def call(client: Client, photo: Any, cancel: Any) -> Result:
            return client.upscale(photo, w, h, cancel=cancel)
        return call
