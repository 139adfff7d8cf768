"""SketchToImageApp: draw white lines on black, describe them, press Run."""

from __future__ import annotations

import os

from PIL import Image

from ..api.client import Client
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import InputError
from ..widgets import HistoryStrip, SketchPad
from ._base import FRAME_PX, App, Request

__all__ = ["SketchToImageApp"]


class SketchToImageApp(App):
    """A [`SketchPad`][clipdrop_widgets.SketchPad], a prompt, Run and Cancel; sketch and picture
    side by side in the compare view.

    The sketch is rendered from its strokes at the largest size the endpoint takes (its
    ``max_side`` in the endpoint table, 1024 pixels) on a square pad (the table says sketches
    are square). An empty sketch is refused before anything is sent.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive (an
            existing one is reopened); default: a new one in the user data folder.

    Attributes:
        pad: the sketch pad (``app.pad.add_stroke(points)`` draws from code).
    """

    endpoint_name = "sketch_to_image"
    empty_hint = ("Draw, describe, then Run: your sketch and the picture made from it will "
                  "appear here, split by a divider you can drag")

    def __init__(self, client: Client | None = None, *,
                 history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        self._field = ENDPOINTS[self.endpoint_name].field("sketch_file")
        side = min(FRAME_PX, self._field.max_side or FRAME_PX)
        height = side if self._field.square else side * 3 // 4
        self.pad = SketchPad(width=side, height=height)
        super().__init__(client, history=history, session_dir=session_dir, inputs=[self.pad])

    def _request(self) -> Request:
        assert self.prompt is not None
        sketch = self.pad.to_image(self._field.max_side)
        if sketch.getbbox() is None:
            raise InputError("the sketch is empty: draw something on the pad first",
                             field=self._field.name, rule="empty sketch")
        prompt = self.prompt.value
        return Request(lambda client, cancel: client.sketch_to_image(sketch, prompt,
                                                                     cancel=cancel),
                       before=sketch, prompt=prompt)

    def restore_input(self, name: str, data: bytes) -> bool:
        """The sketch a result was made from goes back on the pad (Restore settings)."""
        if name == "sketch_file":
            self.pad.load(data)
            return True
        return super().restore_input(name, data)

    def _inputs_picture(self) -> Image.Image:
        return self.pad.snapshot()
