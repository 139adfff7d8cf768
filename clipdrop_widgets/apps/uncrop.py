"""UncropApp: a photo, how far to extend (or crop) each side, and a seed that is shown and kept
so a result can be made again."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS, IntField
from ..widgets import HistoryStrip
from ..widgets._ui import Layout
from ..widgets.uncrop_stage import UncropStage
from ._one_photo import OnePhotoApp
from ._photo import PhotoChooser

__all__ = ["UncropApp"]

SIDES = ("left", "right", "up", "down")


class UncropApp(OnePhotoApp):
    """A photo on a stage with the frame the answer will have: drag the frame's edges outward
    to extend a side, inward to crop it; the four numbers beside it follow (and set it), in
    photo pixels. A seed is sent with every run.

    The seed is always sent and shown: with **New seed each run** ticked, Run draws one and
    writes it in the box before sending; unticked, the box's seed is sent again, so the same
    photo and numbers give the same picture. The result's inputs (in the history and the
    session folder) keep the seed.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        chooser: the `PhotoChooser`.
        stage: the `UncropStage` whose frame edges are dragged.
        extends: the four ``IntText`` boxes by side (``app.extends["left"].value = 200``),
            bounded by the endpoint table (-2000 to 2000).
        seed: the seed box (0 to 100000).
        new_seed: the **New seed each run** tick box (default ticked).
    """

    endpoint_name = "uncrop"
    sample = "coffee"
    next_step = "set how far to extend each side"

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        endpoint = ENDPOINTS[self.endpoint_name]
        field = endpoint.image_field
        assert field is not None
        self.chooser = PhotoChooser(field, sample=self.sample)
        self.stage = UncropStage(self.chooser.image)
        self.stage.add_class("cdw-uncrop")

        def box(field: IntField, label: str, value: int) -> widgets.BoundedIntText:
            return widgets.BoundedIntText(value=value, min=field.minimum, max=field.maximum,
                                          description=label, tooltip=field.doc,
                                          layout=Layout(width="170px"))

        self.extends = {side: box(endpoint.field(f"extend_{side}"),  # type: ignore[arg-type]
                                  side.capitalize(), 256 if side in ("left", "right") else 0)
                        for side in SIDES}
        seed_field = endpoint.field("seed")
        self.seed = box(seed_field, "Seed", random.randint(0, 100_000))  # type: ignore[arg-type]
        self.new_seed = widgets.Checkbox(value=True, description="New seed each run",
                                         tooltip="A new random seed before each Run",
                                         indent=False, layout=Layout(width="auto"))
        self._size = widgets.HTML("")
        grid = widgets.VBox([
            widgets.HBox([self.extends["up"]]),
            widgets.HBox([self.extends["left"], self.extends["right"]]),
            widgets.HBox([self.extends["down"]]),
            widgets.HBox([self.seed, self.new_seed]),
            self._size,
        ])
        for side, w in self.extends.items():
            widgets.link((w, "value"), (self.stage, f"extend_{side}"))
        super().__init__(client, history=history, session_dir=session_dir, options=[grid],
                         stage=self.stage)
        self.chooser.on_change(self.stage.set_photo)
        for w in self.extends.values():
            w.observe(lambda _c: self._show_size(), "value")
        self.chooser.on_change(lambda _image: self._show_size())
        self._show_size()

    def option_control(self, name: str) -> widgets.ValueWidget | None:
        """The box of ``extend_<side>`` or ``seed``."""
        side = name.removeprefix("extend_")
        if name.startswith("extend_") and side in self.extends:
            return self.extends[side]
        return super().option_control(name)

    def options_restored(self, names: Sequence[str]) -> None:
        """A restored seed is kept: **New seed each run** is unticked, so Run sends it."""
        if "seed" in names:
            self.new_seed.value = False

    @property
    def new_size(self) -> tuple[int, int]:
        """The answer's size (width, height) for the photo and numbers shown."""
        w, h = self.chooser.image.size
        e = {side: box.value for side, box in self.extends.items()}
        return (w + e["left"] + e["right"], h + e["up"] + e["down"])

    def _show_size(self) -> None:
        w, h = self.chooser.image.size
        nw, nh = self.new_size
        self._size.value = f"<small>{w}x{h} &rarr; <b>{nw}x{nh}</b></small>"

    def _bind(self) -> Any:
        if self.new_seed.value:
            self.seed.value = random.randint(self.seed.min, self.seed.max)
        extends = {f"extend_{side}": box.value for side, box in self.extends.items()}
        seed = self.seed.value

        def call(client: Client, photo: Any, cancel: Any) -> Result:
            return client.uncrop(photo, **extends, seed=seed, cancel=cancel)
        return call
