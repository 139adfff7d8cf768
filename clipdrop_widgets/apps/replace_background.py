"""ReplaceBackgroundApp: choose a photo, describe a new scene (or not), press Run."""

from __future__ import annotations

import os

from PIL import Image

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..widgets import HistoryStrip
from ._base import UI_LOCK, App, Request, format_dropdown
from ._photo import PhotoChooser

__all__ = ["ReplaceBackgroundApp"]


class ReplaceBackgroundApp(App):
    """A photo (upload or sample), a prompt for the new scene (empty: the service invents
    one), an output format, Run and Cancel; the photo and the result in the compare view.

    Until the first run the compare view shows the chosen photo.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive (an
            existing one is reopened); default: a new one in the user data folder.

    Attributes:
        chooser: the `PhotoChooser` (``app.chooser.load(image)`` sets the photo).
        format: the output format menu (from the endpoint's ``accept`` list).
    """

    endpoint_name = "replace_background"
    takes_picture = True

    def __init__(self, client: Client | None = None, *,
                 history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        endpoint = ENDPOINTS[self.endpoint_name]
        assert endpoint.image_field is not None
        self.chooser = PhotoChooser(endpoint.image_field, sample="astronaut")
        self.format = format_dropdown(endpoint)
        super().__init__(client, history=history, session_dir=session_dir, inputs=[self.chooser],
                         options=[w for w in (self.format,) if w])
        self.chooser.on_change(self._show_photo)
        self._show_photo(self.chooser.image)

    def use_result(self, result: Result) -> None:
        """Work on ``result``'s picture as the photo."""
        self._take_result(result, "describe the new scene (or leave it empty)")

    def _show_photo(self, photo: Image.Image) -> None:
        with UI_LOCK:
            self.compare.set_images(photo, None)

    def _request(self) -> Request:
        assert self.prompt is not None
        photo, prompt = self.chooser.data, self.prompt.value
        fmt = self.format.value if self.format is not None else None
        return Request(lambda client, cancel: client.replace_background(
                           photo, prompt, format=fmt, cancel=cancel),
                       before=self.chooser.image, prompt=prompt,
                       input_from=self.chooser.origin)
