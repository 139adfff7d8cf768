"""What the six later apps share: one photo (chosen, uploaded or sent from another result),
options beside it, and the photo in the compare view until the first result."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import ClassVar

import ipywidgets as widgets
from PIL import Image

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..widgets import HistoryStrip
from ._base import UI_LOCK, App, Request
from ._photo import PhotoChooser

__all__ = ["OnePhotoApp"]

Call = Callable[[Client, "bytes | Image.Image", "object"], Result]


class OnePhotoApp(App):
    """Base of the apps that send one photo and a few options (not for direct use).

    Attributes:
        chooser: the `PhotoChooser` (``app.chooser.load(image)`` sets the photo).
    """

    #: The sample photo shown first.
    sample: ClassVar[str] = "astronaut"
    #: What the status line asks for once a photo was sent here.
    next_step: ClassVar[str] = "choose the options"
    takes_picture = True

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None,
                 options: Sequence[widgets.Widget] = (),
                 stage: widgets.Widget | None = None) -> None:
        field = ENDPOINTS[self.endpoint_name].image_field
        assert field is not None
        if not hasattr(self, "chooser"):  # a subclass may make it first (its stage shows it)
            self.chooser = PhotoChooser(field, sample=self.sample)
        super().__init__(client, history=history, session_dir=session_dir,
                         inputs=[self.chooser, *([stage] if stage is not None else [])],
                         options=options)
        self.chooser.on_change(self._show_photo)
        self._show_photo(self.chooser.image)

    def use_result(self, result: Result) -> None:
        """Work on ``result``'s picture as the photo."""
        self._take_result(result, self.next_step)

    def _show_photo(self, photo: Image.Image) -> None:
        with UI_LOCK:
            self.compare.set_images(photo, None)

    def _call(self, client: Client, photo: bytes | Image.Image, cancel: object) -> Result:
        """The client call for ``photo`` with the options as they are now."""
        raise NotImplementedError

    def _request(self) -> Request:
        photo = self.chooser.data
        call = self._bind()
        return Request(lambda client, cancel: call(client, photo, cancel),
                       before=self.chooser.image, input_from=self.chooser.origin)

    def _bind(self) -> Callable[[Client, bytes | Image.Image, object], Result]:
        """`_call` with the options read now, on the main thread (what the page shows)."""
        return self._call
