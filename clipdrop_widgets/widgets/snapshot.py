"""Static fallback: a PNG picture of a widget's state beside its live view.

Where no widget front end runs (GitHub, nbviewer, a docs page, a notebook opened without the
kernel), a widget view renders as nothing. Every widget of this package therefore adds an
``image/png`` snapshot of its current state to its display data; front ends that can show the
live widget prefer it, the others show the picture.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

__all__ = ["SNAPSHOT_MAX_SIDE", "png_bytes", "Snapshot"]

#: Snapshots are shrunk to fit a square of this many pixels (they are stored in the notebook).
SNAPSHOT_MAX_SIDE = 480


def png_bytes(image: Image.Image, *, max_side: int = SNAPSHOT_MAX_SIDE) -> bytes:
    """``image`` as PNG bytes, shrunk to fit ``max_side x max_side`` (never enlarged)."""
    picture = image if image.mode in ("L", "RGB", "RGBA") else image.convert("RGB")
    if max(picture.size) > max_side:
        picture = picture.copy()
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.save(buf, "PNG", optimize=True)
    return buf.getvalue()


class Snapshot:
    """Mixin for widgets: adds ``image/png`` (from the public ``snapshot()``) to the display data.

    The class using it defines ``snapshot() -> PIL.Image.Image`` (its current state as a
    picture) and comes before the ipywidgets base class.
    """

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs) or {"text/plain": repr(self)}  # type: ignore[misc]
        data["image/png"] = png_bytes(self.snapshot())  # type: ignore[attr-defined]
        return data
