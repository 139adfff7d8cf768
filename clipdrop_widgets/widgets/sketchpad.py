"""SketchPad: white strokes on black, the input sketch to image wants."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas
from numpy.typing import NDArray
from PIL import Image

from ..api.inputs import is_dark_on_light
from ..contract.errors import ConfigurationError, ConfigurationTypeError
from ..contract.validation import has_alpha
from . import _canvas
from ._imaging import ImageSource, open_image
from ._painting import Painter
from .strokes import Load, Rect, Stroke
from .upload import UploadButton

__all__ = ["SketchPad", "prepare_sketch"]

#: Pad sides accepted, in pixels.
MIN_SIDE, MAX_SIDE = 16, 2048
#: ``to_image()``'s default size: the largest sketch the service takes (1024 x 1024).
DEFAULT_IMAGE_SIZE = 1024
#: A loaded sketch's pixels brighter than this (0 to 255, after fitting) become lines.
LINE_THRESHOLD = 96


def prepare_sketch(image: Image.Image, width: int, height: int) -> tuple[NDArray[np.uint8], bool]:
    """``image`` as a ``width x height`` white-on-black 0/255 raster, and whether it was inverted.

    Transparency is flattened onto black. A mostly bright image (median grey above 127, the
    client's own test) is taken for black lines on white and inverted. The image is fitted
    inside the pad keeping its aspect ratio (centred, black margins), then thresholded at
    `LINE_THRESHOLD`.
    """
    if has_alpha(image):
        rgba = image.convert("RGBA")
        grey = Image.new("L", rgba.size, 0)
        grey.paste(rgba.convert("L"), mask=rgba.getchannel("A"))
    else:
        grey = image.convert("L")
    inverted = is_dark_on_light(grey)
    if inverted:
        grey = Image.eval(grey, lambda v: 255 - v)
    scale = min(width / grey.width, height / grey.height)
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    fitted = grey.resize(size, resample)
    canvas = Image.new("L", (width, height), 0)
    canvas.paste(fitted, ((width - size[0]) // 2, (height - size[1]) // 2))
    raster = np.where(np.asarray(canvas) > LINE_THRESHOLD, 255, 0).astype(np.uint8)
    return raster, inverted


class SketchPad(Painter):
    """A drawing pad: white strokes on black, with pen, eraser, brush size, undo, redo, clear.

    The strokes are data kept in Python (`strokes`), the canvas only shows them. Strokes
    drawn in the browser appear at once (live ink) and are sent to Python in batches.

    Args:
        width: pad width in pixels (16 to 2048, default 512).
        height: pad height in pixels (16 to 2048, default 512).
        brush_size: initial pen diameter in pad pixels (1 to 64, default 6).

    >>> pad = SketchPad()
    >>> pad.add_stroke([(100, 100), (400, 100)], width=8)
    Stroke(2 points, width=8, tool='pen')
    >>> pad.to_image().size
    (1024, 1024)
    """

    _tools = ("pen", "eraser")

    def __init__(self, *, width: int = 512, height: int = 512, brush_size: int = 6) -> None:
        for name, value in (("width", width), ("height", height)):
            if not (isinstance(value, (int, np.integer)) and MIN_SIDE <= value <= MAX_SIDE):
                raise ConfigurationError(f"SketchPad {name} must be an integer from {MIN_SIDE} to "
                                 f"{MAX_SIDE}, got {value!r}")
        if not 1 <= brush_size <= 64:
            raise ConfigurationError(f"brush_size must be 1 to 64 pixels, got {brush_size!r}")
        super().__init__()
        self._notice = widgets.HTML("")
        self._upload = UploadButton(description="Load sketch")
        self._init_painter(
            native=(int(width), int(height)),
            display=(int(width), int(height)),
            layer=Canvas(width=int(width), height=int(height)),
            below=(),
            brush_size=brush_size,
            size_range=(1, 64),
            ink_color="white",
            eraser_color="black",
            ink_opacity=1.0,
            extra_buttons=(self._upload,),
            extra_rows=(self._notice,),
        )
        self._upload.on_file(self._on_upload)

    # -- loading ------------------------------------------------------------------------------
    def load(self, image: ImageSource) -> None:
        """Start from ``image`` (PIL image, encoded bytes, path or array) as the sketch.

        The image replaces the pad's content (undoable); see `prepare_sketch` for how it
        is fitted. A black-on-white sketch is inverted, and a notice under the pad says so.
        """
        raster, inverted = prepare_sketch(open_image(image, what="sketch"), *self.size)
        self._edit(Load.from_array(raster))
        self._notice.value = (
            "<i>The loaded sketch was black on white: it was inverted to white on black.</i>"
            if inverted else ""
        )

    def _on_upload(self, name: str, data: bytes) -> None:
        self.load(data)
        self._notice.value += f" <small>Loaded {html.escape(name)}</small>"

    # -- output -------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the pad in pixels."""
        return self._drawing.width, self._drawing.height

    def to_image(self, size: int | None = None) -> Image.Image:
        """The sketch as a crisp black-and-white ``L`` image of ``size x size`` pixels.

        Rendered from the strokes with NumPy at the requested size (default 1024), never read
        back from the browser. A non-square pad is centred with black margins.
        """
        size = DEFAULT_IMAGE_SIZE if size is None else int(size)
        if not 1 <= size <= 8192:
            raise ConfigurationError(f"size must be 1 to 8192 pixels, got {size}")
        width, height = self.size
        scale = size / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        picture = self._drawing.image(w, h)
        if (w, h) == (size, size):
            return picture
        square = Image.new("L", (size, size), 0)
        square.paste(picture, ((size - w) // 2, (size - h) // 2))
        return square

    # -- drawing ------------------------------------------------------------------------------
    def _draw_op(self, op: Stroke | Rect) -> None:
        if not isinstance(op, Stroke):
            raise ConfigurationTypeError(f"SketchPad draws strokes only, not {op!r}")
        color = "black" if op.tool == "eraser" else "white"
        _canvas.draw_polyline(self._layer, self._to_display(op.points),
                              width=op.width * self._mean_scale, color=color)

    def _paint_layer(self) -> None:
        _canvas.put_pixels(self._layer, self._drawing.raster)

    def snapshot(self) -> Image.Image:
        """The sketch as a still picture, white lines on black (its full size).

        Saved notebooks and pages without a widget front end show it.
        """
        return self._drawing.image()

    def __repr__(self) -> str:
        n = len(self.strokes)
        width, height = self.size
        return f"SketchPad({width}x{height}, {n} stroke{'' if n == 1 else 's'})"
