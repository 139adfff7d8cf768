"""Magnifier: an upscaled picture with a lens at 1:1 pixels, the original beside it in the lens.

A compare view shows both pictures fitted to the screen, where an upscale's gain is invisible.
The lens shows the upscaled picture's own pixels under the pointer, and the original
stretched to the same size (nearest neighbour) in its left half, so each pixel the upscale
invented is seen beside the one it came from. The pictures are sent once; moving the pointer
sends only the lens's pixel (``x``, ``y``) to the kernel.
"""

from __future__ import annotations

import io

import anywidget
import traitlets
from PIL import Image

from ..api.result import Result
from ._esm import esm_source
from ._imaging import ImageSource, encode_for_browser, open_image

__all__ = ["Magnifier"]


class Magnifier(anywidget.AnyWidget):
    """The upscaled picture ``view_width`` CSS pixels wide with a ``lens`` CSS pixels square.

    Attributes:
        x, y: the upscaled picture's pixel under the lens's centre (``-1``: no lens), set by
            the page as the pointer moves, or from code to move the lens.
        width, height: the upscaled picture's size in pixels.
    """

    _esm = esm_source("magnifier.js")
    after = traitlets.Bytes(b"").tag(sync=True)
    after_type = traitlets.Unicode("image/jpeg").tag(sync=True)
    before = traitlets.Bytes(b"").tag(sync=True)
    before_type = traitlets.Unicode("image/jpeg").tag(sync=True)
    width = traitlets.Int(1).tag(sync=True)
    height = traitlets.Int(1).tag(sync=True)
    view_width = traitlets.Int(480).tag(sync=True)
    lens = traitlets.Int(180).tag(sync=True)
    x = traitlets.Int(-1).tag(sync=True)
    y = traitlets.Int(-1).tag(sync=True)

    def __init__(self, *, view_width: int = 480, lens: int = 180) -> None:
        super().__init__(view_width=view_width, lens=lens)

    def set_images(self, before: ImageSource, after: Result | ImageSource) -> None:
        """Show ``after`` (a [`Result`][clipdrop_widgets.Result] is sent as its own bytes)
        with ``before`` in the lens; the lens goes away until the pointer comes back."""
        if isinstance(after, Result):
            data, kind, size = after.data, after.content_type, after.size
        else:
            image = open_image(after, what="picture")
            data, fmt = _lossless(image)
            kind, size = f"image/{fmt}", image.size
        original = open_image(before, what="photo")
        before_data, before_fmt = encode_for_browser(original, quality=95)
        with self.hold_sync():
            self.after, self.after_type = data, kind
            self.before, self.before_type = before_data, f"image/{before_fmt}"
            self.width, self.height = size
            self.x = self.y = -1

    def __repr__(self) -> str:
        return f"Magnifier({self.width}x{self.height}, lens at ({self.x}, {self.y}))"


def _lossless(image: Image.Image) -> tuple[bytes, str]:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue(), "png"
