"""CleanupApp: paint over what should go, press Run, compare."""

from __future__ import annotations

import os

import ipywidgets as widgets

from ..api.client import Client
from ..contract.endpoints import ENDPOINTS, TextField
from ..widgets import HistoryStrip
from ..widgets._ui import Layout
from ._base import Request
from ._masked import MaskedPhotoApp

__all__ = ["CleanupApp"]


class CleanupApp(MaskedPhotoApp):
    """A photo (upload or sample), a mask painted over it, the ``mode`` option, Run, Cancel;
    the photo and the cleaned photo in the compare view.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive (an
            existing one is reopened); default: a new one in the user data folder.

    Attributes:
        mode: the mode menu: ``""`` (the service's default: no ``mode`` field is sent) or one
            of the endpoint's choices (``fast``, ``quality``).
    """

    endpoint_name = "cleanup"
    sample = "coffee"
    mask_hint = "paint over what should be removed"
    empty_hint = ("Paint over what should go, then Run: the photo and the cleaned photo "
                  "will appear here, split by a divider you can drag")

    def __init__(self, client: Client | None = None, *,
                 history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        field = ENDPOINTS[self.endpoint_name].field("mode")
        assert isinstance(field, TextField) and field.choices
        self.mode = widgets.Dropdown(
            options=[("service default", ""), *((c, c) for c in field.choices)],
            value="", description="Mode", tooltip=field.doc, layout=Layout(width="240px"),
        )
        super().__init__(client, history=history, session_dir=session_dir, options=[self.mode])

    def _request(self) -> Request:
        photo, mask = self._photo_and_mask()
        mode = self.mode.value or None  # "": the service's default, the field is not sent
        return Request(lambda client, cancel: client.cleanup(photo, mask, mode=mode,
                                                             cancel=cancel),
                       before=self.chooser.image, input_from=self.chooser.origin)
