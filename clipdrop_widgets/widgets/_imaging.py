"""Turning what users pass (PIL images, bytes, paths, arrays) into images, and sizes to fit."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from ..api.inputs import read_input, upright
from ..contract.errors import ConfigurationError, InputError
from ..contract.validation import has_alpha

__all__ = ["ImageSource", "open_image", "fit_size", "encode_for_browser", "on_checkerboard",
           "CHECKER_COLORS", "CHECKER_PX"]

#: Anything the widgets accept as an image.
ImageSource = Image.Image | bytes | bytearray | memoryview | str | os.PathLike | np.ndarray


def open_image(source: ImageSource, *, what: str = "image") -> Image.Image:
    """``source`` as a loaded PIL image, read exactly as the client reads its inputs.

    Accepts a PIL image, encoded bytes, a file path, a NumPy array (``uint8``, ``bool`` masks,
    floats in 0..1) or an earlier [`Result`][clipdrop_widgets.Result]. The image is returned
    as a viewer shows it: a phone photo's EXIF orientation is applied (the client sends it
    that way too), so what the widget shows and measures is what is sent. Raises
    ``ValueError`` when the data is not a readable image and ``TypeError`` for other types;
    ``what`` names the input in messages.
    """
    if isinstance(source, Image.Image):
        return upright(source)
    try:
        raw = read_input(source, what)
    except InputError as exc:
        raise (TypeError if exc.rule == "type" else ValueError)(str(exc)) from None
    if isinstance(raw, Image.Image):
        return raw
    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except OSError as exc:
        raise ConfigurationError(
            f"{what}: {len(raw)} bytes is not a readable image ({exc})") from None
    return upright(image)


def fit_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size of ``width x height`` shrunk (never enlarged) to fit ``max_width x max_height``,
    keeping the aspect ratio; each side at least 1 pixel."""
    scale = min(max_width / width, max_height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_for_browser(image: Image.Image, *, quality: int = 90) -> tuple[bytes, str]:
    """``(bytes, format)`` to show ``image`` in a browser: JPEG for opaque images (small),
    PNG when it has transparency."""
    buf = io.BytesIO()
    transparent = has_alpha(image)
    if transparent:
        image.convert("RGBA").save(buf, "PNG")
        return buf.getvalue(), "png"
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue(), "jpeg"


#: The checkerboard shown behind transparent pixels: white and light grey squares, as
#: ClipDrop, Photoshop and Gradio show them, the same in the light and dark themes.
CHECKER_COLORS = ((255, 255, 255), (204, 204, 204))
#: The side of one checkerboard square, in pixels of the picture as sent to the page.
CHECKER_PX = 8


def on_checkerboard(image: Image.Image, *, square: int = CHECKER_PX) -> Image.Image:
    """``image`` as the stage shows it: its transparent pixels over a checkerboard of
    ``square``-pixel squares (an opaque ``RGB`` image), so a cut-out (remove background's
    PNG) reads as see-through instead of flat black or white. An image with no alpha is
    returned unchanged."""
    if not has_alpha(image):
        return image
    rgba = image.convert("RGBA")
    w, h = rgba.size
    ys, xs = np.indices((h, w))
    dark = ((xs // square + ys // square) % 2).astype(bool)
    board = np.empty((h, w, 3), np.uint8)
    board[...] = CHECKER_COLORS[0]
    board[dark] = CHECKER_COLORS[1]
    background = Image.fromarray(board, "RGB").convert("RGBA")
    return Image.alpha_composite(background, rgba).convert("RGB")
