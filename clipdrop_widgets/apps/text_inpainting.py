"""TextInpaintingApp: paint over a part of a photo, say what goes there, press Run."""

from __future__ import annotations

import os

from ..api.client import Client
from ..widgets import HistoryStrip
from ._base import Request
from ._masked import MaskedPhotoApp

__all__ = ["TextInpaintingApp"]


class TextInpaintingApp(MaskedPhotoApp):
    """A photo (upload or sample), a mask painted over it, a prompt for what goes there, Run
    and Cancel; the photo and the result in the compare view.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive (an
            existing one is reopened); default: a new one in the user data folder.
    """

    endpoint_name = "text_inpainting"
    sample = "chelsea"
    mask_hint = "paint over the part the prompt should replace"
    empty_hint = ("Paint over a part, say what goes there, then Run: the photo and the new "
                  "one will appear here, split by a divider you can drag")

    def __init__(self, client: Client | None = None, *,
                 history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(client, history=history, session_dir=session_dir)

    def _request(self) -> Request:
        assert self.prompt is not None
        photo, mask = self._photo_and_mask()
        prompt = self.prompt.value
        return Request(lambda client, cancel: client.text_inpainting(photo, mask, prompt,
                                                                     cancel=cancel),
                       before=self.chooser.image, prompt=prompt,
                       input_from=self.chooser.origin)
