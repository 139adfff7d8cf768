"""UncropStage: the photo on a stage with the frame an uncrop will give it; drag the frame's
edges outward to extend a side, inward to crop it.

The photo is sent once, shrunk to the stage; the four extends (photo pixels) are traits the
page sets as an edge is dragged, and the kernel sets from number boxes (``traitlets.link``),
so the frame and the numbers always agree. The limits (default -2000..2000) and the rule that
one pixel must remain each way are enforced in the page while dragging and here on any set.

The stage is drawn at most ``side`` CSS pixels a side and shrinks with its place on the page
(the edges follow: the page measures the shown size). In an app it is the stage's picture
(``apps/_stage.py``), sized like the painters: as large as the window allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets
from PIL import Image

from ._esm import esm_source
from ._imaging import ImageSource, encode_for_browser, on_checkerboard, open_image

__all__ = ["UncropStage"]

SIDES = ("left", "right", "up", "down")


class UncropStage(anywidget.AnyWidget):
    """The photo in the middle of a stage at most ``side`` CSS pixels a side, the uncrop frame
    around it, each edge draggable.

    Args:
        photo: the picture (PIL image, encoded bytes, path or array).
        side: the stage's largest side in CSS pixels (default 480; shown smaller where the page
            has less room, larger on an app's stage in a wide window); the photo fills its
            middle half.
        minimum: the smallest extend allowed (pixels; default -2000).
        maximum: the largest extend allowed (pixels; default 2000).

    Attributes:
        extend_left, extend_right, extend_up, extend_down: the extends in photo pixels.
    """

    _esm = esm_source("uncrop_stage.js")
    image = traitlets.Bytes(b"").tag(sync=True)
    format = traitlets.Unicode("image/jpeg").tag(sync=True)
    photo_width = traitlets.Int(1).tag(sync=True)
    photo_height = traitlets.Int(1).tag(sync=True)
    side = traitlets.Int(480).tag(sync=True)
    minimum = traitlets.Int(-2000).tag(sync=True)
    maximum = traitlets.Int(2000).tag(sync=True)
    extend_left = traitlets.Int(0).tag(sync=True)
    extend_right = traitlets.Int(0).tag(sync=True)
    extend_up = traitlets.Int(0).tag(sync=True)
    extend_down = traitlets.Int(0).tag(sync=True)

    def __init__(self, photo: ImageSource, *, side: int = 480, minimum: int = -2000,
                 maximum: int = 2000) -> None:
        super().__init__(side=side, minimum=minimum, maximum=maximum)
        self._edit_handlers: list[Callable[[], object]] = []
        self.set_photo(photo)
        self.observe(lambda _c: self._edited(), [f"extend_{side}" for side in SIDES])

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of the stage drawn at most ``side`` a side, in CSS pixels (the
        photo's shape: it fills the middle half)."""
        w, h = self.photo_width, self.photo_height
        scale = min(self.side / w, self.side / h)
        return (max(1, round(w * scale)), max(1, round(h * scale)))

    def on_edit(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after every change: another photo, an extend set or dragged."""
        self._edit_handlers.append(callback)

    def _edited(self) -> None:
        for handler in list(getattr(self, "_edit_handlers", ())):
            handler()

    def set_photo(self, photo: ImageSource) -> None:
        """Show ``photo`` (the extends are kept, then clamped to it)."""
        image: Image.Image = open_image(photo, what="photo")
        shown = image.copy()
        shown.thumbnail((self.side, self.side))
        data, fmt = encode_for_browser(on_checkerboard(shown))  # see-through parts as such
        with self.hold_sync():
            self.photo_width, self.photo_height = image.size
            self.image, self.format = data, f"image/{fmt}"
        for side in SIDES:
            setattr(self, f"extend_{side}", getattr(self, f"extend_{side}"))  # re-clamp
        self._edited()

    @property
    def extends(self) -> dict[str, int]:
        """The four extends by side (``{"left": 120, ...}``), in photo pixels."""
        return {side: getattr(self, f"extend_{side}") for side in SIDES}

    def _clamp(self, side: str, value: int) -> int:
        opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}[side]
        size = self.photo_width if side in ("left", "right") else self.photo_height
        lowest = max(self.minimum, 1 - size - getattr(self, f"extend_{opposite}"))
        return min(self.maximum, max(lowest, int(value)))

    @traitlets.validate("extend_left", "extend_right", "extend_up", "extend_down")
    def _valid_extend(self, proposal: Any) -> int:
        return self._clamp(proposal["trait"].name.removeprefix("extend_"), proposal["value"])

    def __repr__(self) -> str:
        e = self.extends
        return (f"UncropStage({self.photo_width}x{self.photo_height}, left={e['left']}, "
                f"right={e['right']}, up={e['up']}, down={e['down']})")
