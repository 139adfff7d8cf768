"""What cleanup and text inpainting share: a photo chooser and a mask painted over the photo."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import ClassVar

import ipywidgets as widgets
from PIL import Image

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import InputError
from ..widgets import HistoryStrip, MaskPainter
from ._base import FRAME_PX, App
from ._keyrect import RectangleByKeys
from ._photo import PhotoChooser

__all__ = ["MaskedPhotoApp"]


class MaskedPhotoApp(App):
    """Base of the apps that change the masked part of a photo (not for direct use).

    Attributes:
        chooser: the `PhotoChooser` (``app.chooser.load(image)`` sets the photo).
        painter: the [`MaskPainter`][clipdrop_widgets.MaskPainter] over the photo
            (``app.painter.add_stroke(points)`` paints from code, in the photo's pixels).
        rectangle_keys: the folded "Mask a rectangle by keyboard" section of the side
            panel: four edges in percent of the photo and **Mask rectangle**.
    """

    #: The sample photo shown first.
    sample: ClassVar[str] = "astronaut"
    #: What an empty mask's refusal asks for ("paint over what to remove").
    mask_hint: ClassVar[str] = "paint over the part of the photo to change"
    takes_picture = True

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None,
                 options: Sequence[widgets.Widget] = ()) -> None:
        field = ENDPOINTS[self.endpoint_name].image_field
        assert field is not None
        self.chooser = PhotoChooser(field, sample=self.sample)
        self.painter = MaskPainter(self.chooser.image, max_width=FRAME_PX, max_height=FRAME_PX)
        self.chooser.on_change(self.painter.set_image)
        # a mask without a mouse: the rectangle's edges typed or stepped with the arrow keys
        self.rectangle_keys = RectangleByKeys(self.painter)
        super().__init__(client, history=history, session_dir=session_dir,
                         inputs=[self.chooser, self.painter, self.rectangle_keys],
                         options=options)

    def use_result(self, result: Result) -> None:
        """Work on ``result``'s picture as the photo (the mask starts empty; the photo and mask it
        replaces stay one press away: **Back to …**)."""
        self._take_result(result, self.mask_hint)

    def _photo_and_mask(self) -> tuple[bytes | Image.Image, Image.Image]:
        """The photo as sent and the mask (photo-sized, 0/255); an empty mask is refused."""
        if self.painter.coverage == 0:
            raise InputError(f"the mask is empty: {self.mask_hint} first",
                             field="mask_file", rule="empty mask")
        return self.chooser.data, self.painter.mask

    def restore_input(self, name: str, data: bytes) -> bool:
        """The mask a result was made from is painted back over the photo (Restore
        settings; the photo is loaded first, so the mask is not cleared by it)."""
        if name == "mask_file":
            self.painter.load_mask(data)
            return True
        return super().restore_input(name, data)

    def _inputs_picture(self) -> Image.Image:
        return self.painter.snapshot()
