"""ReimagineApp: run N times into a grid of variations; pick one to keep or send on."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import ipywidgets as widgets

from ..api.client import Client
from ..api.result import Result
from ..widgets import HistoryStrip
from ..widgets._imaging import encode_for_browser
from ..widgets._ui import Layout
from ._base import UI_LOCK, Request, _Run
from ._one_photo import OnePhotoApp
from ._status import done_kind, done_text

__all__ = ["ReimagineApp"]

#: Side of a variation's thumbnail in the grid (CSS pixels).
THUMB_PX = 160


class ReimagineApp(OnePhotoApp):
    """A picture (at most 1024 pixels a side), **Takes** (1 to 8), Run: that many variations,
    each added to the history as it arrives, shown in a grid; **Pick** one to show it in the
    compare view (and offer it to Send to). Each take is a call: the cost of a Run (takes times
    the price) is shown before Run, and the status after it counts every take's credits.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        chooser: the `PhotoChooser`.
        takes: how many variations one Run makes (``IntSlider``, 1 to 8; default 4).
        cost_note: what a Run will cost, shown beside ``takes`` ("4 takes · 4 credits").
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
        self.cost_note = widgets.HTML("")
        self.variations: list[Result] = []
        self._run_takes: list[Result] = []
        self.grid = widgets.GridBox(layout=Layout(
            grid_template_columns=f"repeat(auto-fill, {THUMB_PX + 8}px)", grid_gap="6px"))
        super().__init__(client, history=history, session_dir=session_dir,
                         options=[widgets.HBox([self.takes, self.cost_note])])
        self.compare.add_row(self.grid)
        self.takes.observe(lambda _c: self._show_cost(), "value")
        self._show_cost()

    def _show_cost(self) -> None:
        n = self.takes.value
        cost = n * self.endpoint.max_credits({})
        self.cost_note.value = (f"<small>{n} take{'' if n == 1 else 's'} · "
                                f"{cost:g} credit{'' if cost == 1 else 's'}</small>")

    def _request(self) -> Request:
        photo, n = self.chooser.data, self.takes.value
        with UI_LOCK:
            self.variations = []
            self._draw_grid()
        taken: list[Result] = []
        self._run_takes = taken

        def call(client: Client, cancel: Any) -> Result:
            for _ in range(n - 1):  # the last one is shown by the app like any result
                result = client.reimagine(photo, cancel=cancel)
                with UI_LOCK:
                    taken.append(result)
                    self.variations.append(result)
                    self.history.add(result)
                    self._draw_grid()
            last = client.reimagine(photo, cancel=cancel)
            taken.append(last)
            return last

        return Request(call, before=self.chooser.image, input_from=self.chooser.origin)

    def _show_result(self, result: Result, request: Request, run: _Run) -> None:
        """As every app, but the status counts the credits of every take of the Run."""
        super()._show_result(result, request, run)
        taken = self._run_takes
        if len(taken) < 2:
            return
        charges = [t.credits_consumed for t in taken]
        total = None if None in charges else sum(c for c in charges if c is not None)
        summed = dataclasses.replace(result, credits_consumed=total)
        text = done_text(summed, run.seconds, run.client.remaining_credits,
                         balance_unknown=run.client.balance_doubt is not None)
        self._set_status(text.replace(" · ", f" · {len(taken)} takes · ", 1), done_kind(result))

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
                                    layout=Layout(width=f"{THUMB_PX}px"))
            button.on_click(lambda _b, i=i: self.pick(i))
            cells.append(widgets.VBox([widgets.Image(value=data, format=fmt), button]))
        self.grid.children = cells
