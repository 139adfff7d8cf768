"""TextToImageApp: type a prompt, press Run, see the picture."""

from __future__ import annotations

import os

from ..api.client import Client
from ..contract.endpoints import ENDPOINTS
from ..widgets import HistoryStrip
from ._base import App, Request, format_dropdown

__all__ = ["TextToImageApp"]


class TextToImageApp(App):
    """A prompt (with the endpoint's character limit), an output format, Run and Cancel; the
    picture in an after-only compare view.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive (an
            existing one is reopened); default: a new one in the user data folder.

    >>> app = TextToImageApp()
    >>> app.prompt.value = "a red fox in the snow"
    >>> app.run(); app.wait()
    True
    >>> app.status  # doctest: +ELLIPSIS
    'Done in ... s · 2 credits · ... left · offline preview'

    Run, Cancel and the status line are described in [`App`][clipdrop_widgets.App].
    """

    endpoint_name = "text_to_image"
    empty_hint = "Describe a picture and press Run: it will appear here"

    def __init__(self, client: Client | None = None, *,
                 history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        self.format = format_dropdown(ENDPOINTS[self.endpoint_name])
        super().__init__(client, history=history, session_dir=session_dir,
                         options=[w for w in (self.format,) if w])

    def _request(self) -> Request:
        assert self.prompt is not None
        prompt = self.prompt.value
        fmt = self.format.value if self.format is not None else None
        return Request(lambda client, cancel: client.text_to_image(prompt, format=fmt,
                                                                   cancel=cancel),
                       prompt=prompt)
