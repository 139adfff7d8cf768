"""ReimagineApp: run N times into a grid of variations; pick one to keep or send on."""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as widgets

from ..api.client import Client
from ..api.result import Result
from ..widgets import HistoryStrip
from ..widgets._imaging import encode_for_browser
from ._base import UI_LOCK, Request
from ._one_photo import OnePhotoApp

__all__ = ["ReimagineApp"]

#: Side of a variation's thumbnail in the grid (CSS pixels).
THUMB_PX = 160


class ReimagineApp(OnePhotoApp):
    """A picture (at most 1024 pixels a side), **Takes** (1 to 8), Run: that many variations,
    each added to the history as it arrives, shown in a grid; **Pick** one to show it in the
    compare view (and offer it to Send to).

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        chooser: the `PhotoChooser`.
        takes: how many variations one Run makes (``IntSlider``, 1 to 8; default 4).
        variations: the results of the last Run, in the order made.
        grid: the grid of their thumbnails, each with its **Pick** button.
    """

    endpoint_name = "reimagine"
    sample = "rocket"
    next_step = "choose how many takes"

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        self.takes = widgets.IntSlider(value=4, min=1, max=8, description="Takes",
                                       tooltip="How many variations one Run makes")
        self.variations: list[Result] = []
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns=f"repeat(auto-fill, {THUMB_PX + 8}px)", grid_gap="6px"))
        super().__init__(client, history=history, session_dir=session_dir,
                         options=[self.takes])
        self.compare.add_row(self.grid)

    def _request(self) -> Request:
        photo, n = self.chooser.data, self.takes.value
        with UI_LOCK:
            self.variations = []
            self._draw_grid()

        def call(client: Client, cancel: Any) -> Result:
            for _ in range(n - 1):  # the last one is shown by the app like any result
                result = client.reimagine(photo, cancel=cancel)
                with UI_LOCK:
                    self.variations.append(result)
                    self.history.add(result)
                    self._draw_grid()
            return client.reimagine(photo, cancel=cancel)

        return Request(call, before=self.chooser.image, input_from=self.chooser.origin)

    def show(self, result: Result) -> None:
        """Show ``result`` in the compare view, adding it to the grid if it is new there."""
        super().show(result)
        with UI_LOCK:
            if result not in self.variations and result.endpoint == self.endpoint_name:
                self.variations.append(result)
                self._draw_grid()

    def pick(self, index: int) -> Result:
        """Show variation ``index`` (0 = the first made) in the compare view; returns it."""
        result = self.variations[index]
        self._befores.setdefault(result, self.chooser.image)
        self.show(result)
        return result

    def _draw_grid(self) -> None:
        cells = []
        for i, result in enumerate(self.variations):
            image = result.image.copy()
            image.thumbnail((THUMB_PX, THUMB_PX))
            data, fmt = encode_for_browser(image)
            button = widgets.Button(description=f"Pick {i + 1}", icon="check",
                                    tooltip=f"Show variation {i + 1} and offer it to Send to",
                                    layout=widgets.Layout(width=f"{THUMB_PX}px"))
            button.on_click(lambda _b, i=i: self.pick(i))
            cells.append(widgets.VBox([widgets.Image(value=data, format=fmt), button]))
        self.grid.children = cells
