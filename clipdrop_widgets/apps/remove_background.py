"""RemoveBackgroundApp: a photo in, its subject on a transparent background out, shown over a
checkerboard, downloadable as PNG or WebP, and sent on to Replace background or Uncrop."""

from __future__ import annotations

import io
import os
from typing import Any

import ipywidgets as widgets
from PIL import Image

from ..api.client import Client
from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError
from ..widgets import HistoryStrip
from ..widgets._imaging import on_checkerboard
from ..widgets._ui import Layout
from ..widgets.download import download_name
from ._base import UI_LOCK, format_dropdown
from ._one_photo import OnePhotoApp

__all__ = ["RemoveBackgroundApp", "checkerboard"]

#: ``transparency_handling``'s default at the service: a see-through photo comes back as it is
#: (not sent: the app sends the field only when the user picks "Cut it out anew").
KEEP_ALPHA = "return_input_if_non_opaque"

#: Side of a checkerboard square (pixels of the picture).
CHECKER_PX = 16


def checkerboard(image: Image.Image, *, square: int = CHECKER_PX) -> Image.Image:
    """``image`` over a light grey checkerboard (RGB), as image editors show transparency
    (the stage's own, `on_checkerboard`, at this app's square size)."""
    return on_checkerboard(image, square=square).convert("RGB")


class RemoveBackgroundApp(OnePhotoApp):
    """A photo (upload or sample), Run: the cut-out over a checkerboard beside the photo.

    **Download PNG** and **Download WebP** (shown once there is a cut-out) save it with its
    transparency (converted here, no second call); Send to offers it to Replace background and
    Uncrop in a Studio.

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        chooser: the `PhotoChooser`.
        format: the answer's format menu (PNG, WebP, JPEG; from the endpoint table).
        transparency: what to do with a photo that is already partly see-through.
        downloads: the **Download PNG** and **Download WebP** buttons, shown once there is a
            cut-out.
    """

    endpoint_name = "remove_background"
    next_step = "press Run to cut out its subject"

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        endpoint = ENDPOINTS[self.endpoint_name]
        self.format = format_dropdown(endpoint)
        assert self.format is not None
        field = endpoint.field("transparency_handling")
        self.transparency = widgets.Dropdown(
            # The service's default named, not None: a Dropdown shows None as an empty box.
            options=[("Keep a see-through photo as it is", KEEP_ALPHA),
                     ("Cut it out anew", "discard_alpha_layer")],
            value=KEEP_ALPHA, description="If see-through", style={"description_width": "initial"},
            tooltip=field.doc, layout=Layout(width="340px"))
        self._png = widgets.Button(description="Download PNG", icon="download",
                                   tooltip="Save the cut-out as PNG, with its transparency")
        self._webp = widgets.Button(description="Download WebP", icon="download",
                                    tooltip="Save the cut-out as WebP, with its transparency")
        self.downloads = widgets.HBox([self._png, self._webp])
        super().__init__(client, history=history, session_dir=session_dir,
                         options=[self.format, self.transparency])
        self.compare.add_row(self.downloads)
        self._show_downloads()
        self._png.on_click(lambda _b: self.download("png"))
        self._webp.on_click(lambda _b: self.download("webp"))

    def _show_send_to(self) -> None:
        super()._show_send_to()
        self._show_downloads()

    def _show_downloads(self) -> None:
        """Offer the downloads only while a cut-out is shown (before, they saved nothing)."""
        shown = self.result is not None
        self.downloads.layout.display = "" if shown else "none"
        self._png.disabled = self._webp.disabled = not shown

    def option_control(self, name: str) -> widgets.ValueWidget | None:
        """The **If see-through** menu for ``transparency_handling``."""
        if name == "transparency_handling":
            return self.transparency
        return super().option_control(name)
    def _bind(self) -> Any:
        fmt, handling = self.format.value, self.transparency.value  # type: ignore[union-attr]
        if handling == KEEP_ALPHA:
            handling = None  # the service's default: sent as before, without the field

        def call(client: Client, photo: Any, cancel: Any) -> Result:
            return client.remove_background(photo, transparency_handling=handling, format=fmt,
                                            cancel=cancel)
        return call

    def show(self, result: Result) -> None:
        """The cut-out over a checkerboard, beside the photo it came from."""
        super().show(result)
        with UI_LOCK:
            self.compare.set_images(self._befores.get(result, self._input_of(result)),
                                    checkerboard(result.image))

    def cutout_bytes(self, fmt: str) -> bytes:
        """The cut-out shown, encoded as ``"png"`` or ``"webp"`` (lossless), alpha kept."""
        if self.result is None:
            raise ConfigurationError("there is no cut-out yet: press Run first")
        if fmt not in ("png", "webp"):
            raise ConfigurationError(f"download as 'png' or 'webp', not {fmt!r}")
        out = io.BytesIO()
        image = self.result.image.convert("RGBA")
        image.save(out, "PNG" if fmt == "png" else "WEBP", lossless=True, exact=True)
        return out.getvalue()

    def download(self, fmt: str = "png") -> str:
        """Send the cut-out to the browser as a ``.png`` or ``.webp`` file; returns its name."""
        data = self.cutout_bytes(fmt)
        assert self.result is not None
        name = download_name(self.result).rsplit(".", 1)[0] + f".{fmt}"
        self.compare.downloader.send_file(data, name, mime=f"image/{fmt}")
        return name
