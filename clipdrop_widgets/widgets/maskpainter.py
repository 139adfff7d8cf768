"""MaskPainter: paint a mask over a photo; the mask comes out at the photo's full resolution."""

from __future__ import annotations

import numpy as np
from ipycanvas import Canvas
from ipywidgets import Button
from ipywidgets import Image as ImageView
from PIL import Image, ImageColor

from ..contract.errors import ConfigurationError
from . import _canvas
from ._imaging import ImageSource, encode_for_browser, fit_size, on_checkerboard, open_image
from ._painting import Painter
from ._ui import Layout
from .ink import MASK_LAYER_CLASS, MASK_OPACITY
from .strokes import Grow, Invert, Load, Rect, Stroke

__all__ = ["MaskPainter"]


class MaskPainter(Painter):
    """A photo under a translucent mask you paint: brush, eraser, rectangle, invert, grow.

    Photos of any size (12 megapixels and more) are shown shrunk to fit the display box;
    painting maps back to the photo's native pixels, and `mask` is a strict 0/255 ``L``
    image of the photo's size (255 where painted), what cleanup and inpainting want.

    Args:
        image: the photo (PIL image, encoded bytes, path or array).
        max_width: display box width in CSS pixels (default 768).
        max_height: display box height in CSS pixels (default 768).
        brush_size: initial brush diameter in display pixels (2 to 128, default 24).
        mask_color: CSS colour of the mask overlay (default ``"#ff2d55"``), shown at
            `MASK_OPACITY` opacity.

    >>> from PIL import Image
    >>> painter = MaskPainter(Image.new("RGB", (4000, 3000)))
    >>> painter.add_stroke([(1000, 1000), (3000, 1000)], width=200)
    Stroke(2 points, width=200, tool='brush')
    >>> painter.mask.size, painter.mask.getextrema()
    ((4000, 3000), (0, 255))
    """

    _tools = ("brush", "eraser")
    _rect_tool = True

    def __init__(
        self,
        image: ImageSource,
        *,
        max_width: int = 768,
        max_height: int = 768,
        brush_size: int = 24,
        mask_color: str = "#ff2d55",
    ) -> None:
        if not (64 <= max_width <= 4096 and 64 <= max_height <= 4096):
            raise ConfigurationError(f"the display box must be 64 to 4096 pixels a side, "
                             f"got {max_width}x{max_height}")
        if not 2 <= brush_size <= 128:
            raise ConfigurationError(f"brush_size must be 2 to 128 pixels, got {brush_size!r}")
        try:
            self._rgb = ImageColor.getrgb(mask_color)[:3]
        except ValueError:
            raise ConfigurationError(f"mask_color {mask_color!r} is not a CSS colour") from None
        photo = open_image(image, what="photo")
        super().__init__()
        self._mask_color = mask_color
        self._box = (int(max_width), int(max_height))
        self._photo_view = ImageView(format="jpeg", layout=Layout(object_fit="fill"))
        layer = Canvas()
        layer.add_class(MASK_LAYER_CLASS)
        self._invert_button = Button(description="Invert", icon="adjust",
                                     tooltip="Swap masked and unmasked (undoable)",
                                     layout=Layout(width="auto"))
        self._grow_button = Button(description="Grow 15%", icon="expand",
                                   tooltip="Grow every masked region by 15 % of its size",
                                   layout=Layout(width="auto"))
        display = self._show_photo(photo)
        self._init_painter(
            native=photo.size,
            display=display,
            layer=layer,
            below=(self._photo_view,),
            brush_size=brush_size,
            size_range=(2, 128),
            ink_color=mask_color,
            eraser_color="white",
            ink_opacity=MASK_OPACITY,
            extra_buttons=(self._invert_button, self._grow_button),
        )
        self._invert_button.on_click(self.errors.guard(lambda _b: self.invert()))
        self._grow_button.on_click(self.errors.guard(lambda _b: self.grow()))

    def _show_photo(self, photo: Image.Image) -> tuple[int, int]:
        """Send the photo, shrunk to the display box, once; returns the display size."""
        self._photo = photo
        display = fit_size(photo.width, photo.height, *self._box)
        shown = photo if photo.size == display else photo.resize(
            display, Image.Resampling.LANCZOS, reducing_gap=3.0)
        self._shown = on_checkerboard(shown).convert("RGB")  # a cut-out's see-through parts
        data, fmt = encode_for_browser(self._shown)
        self._photo_view.format = fmt
        self._photo_view.value = data
        return display

    def set_image(self, image: ImageSource) -> None:
        """Paint on another photo: the mask and its history start empty."""
        photo = open_image(image, what="photo")
        display = self._show_photo(photo)
        self._set_geometry(photo.size, display)
        self.redraw()

    def load_mask(self, mask: ImageSource) -> None:
        """Start from ``mask`` (a picture: nonzero or light pixels are masked) as the mask,
        fitted to the photo's size (undoable)."""
        gray = open_image(mask, what="mask").convert("L")
        self._edit(Load.from_array(np.asarray(gray) > 127))

    # -- state --------------------------------------------------------------------------------
    @property
    def image(self) -> Image.Image:
        """The photo, as given (native size)."""
        return self._photo

    @property
    def mask(self) -> Image.Image:
        """The mask: ``L`` image of the photo's size, 255 where painted, 0 elsewhere."""
        return Image.fromarray(self._drawing.render(), "L")

    @property
    def coverage(self) -> float:
        """The masked fraction of the photo, 0 to 1."""
        return self._drawing.coverage

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of the photo as drawn, in canvas pixels (an app's stage shows
        it larger or smaller to fit the window, keeping its shape)."""
        return self._display

    # -- editing ------------------------------------------------------------------------------
    def add_rect(self, x0: float, y0: float, x1: float, y1: float) -> Rect:
        """Mask the rectangle with corners ``(x0, y0)`` and ``(x1, y1)`` (native pixels)."""
        rect = Rect(x0, y0, x1, y1)
        self._commit(rect)
        return rect

    def invert(self) -> None:
        """Swap masked and unmasked pixels (undoable)."""
        self._edit(Invert())

    def grow(self, percent: float = 15.0) -> None:
        """Grow every masked region by ``percent`` % of its size (undoable; default 15).

        See `grow_mask` for the exact rule.
        """
        self._edit(Grow(float(percent)))

    # -- drawing ------------------------------------------------------------------------------
    def _draw_op(self, op: Stroke | Rect) -> None:
        sx, sy = self._scale
        if isinstance(op, Rect):
            _canvas.fill_rect(self._layer, op.x0 * sx, op.y0 * sy, (op.x1 - op.x0) * sx,
                              (op.y1 - op.y0) * sy, color=self._mask_color, erase=op.erase)
        else:
            _canvas.draw_polyline(self._layer, self._to_display(op.points),
                                  width=op.width * self._mean_scale, color=self._mask_color,
                                  erase=op.tool == "eraser")

    def _overlay(self) -> np.ndarray:
        """The mask at display size as RGBA: the mask colour, alpha = covered fraction."""
        mask = Image.fromarray(self._drawing.raster, "L")
        alpha = np.asarray(mask.resize(self._display, Image.Resampling.BOX))
        rgba = np.empty((*alpha.shape, 4), np.uint8)
        rgba[..., :3] = self._rgb
        rgba[..., 3] = alpha
        return rgba

    def _paint_layer(self) -> None:
        if self._drawing.coverage == 0:
            self._layer.clear()
        else:  # RGBA, so ipycanvas sends PNG: exact, unlike its JPEG for RGB
            _canvas.put_pixels(self._layer, self._overlay())

    def snapshot(self) -> Image.Image:
        """The photo with the mask over it, as a still picture (display size).

        Saved notebooks and pages without a widget front end show it.
        """
        overlay = Image.fromarray(self._overlay(), "RGBA")
        faded = overlay.getchannel("A").point(lambda a: round(a * MASK_OPACITY))
        overlay.putalpha(faded)
        picture = self._shown.convert("RGBA")
        picture.alpha_composite(overlay)
        return picture.convert("RGB")

    def __repr__(self) -> str:
        w, h = self._photo.size
        n = len(self.operations)
        return (f"MaskPainter({w}x{h}, {n} operation{'' if n == 1 else 's'}, "
                f"{100 * self.coverage:.1f}% masked)")
