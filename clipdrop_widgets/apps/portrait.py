"""PortraitDepthApp and PortraitNormalsApp: a portrait's depth or surface normals beside the
photo, with views that make them readable: depth as a colormap or a lit relief, normals shaded
under a light you move."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
from PIL import Image

from ..api.client import Client
from ..api.result import Result
from ..widgets import HistoryStrip
from ._base import UI_LOCK
from ._one_photo import OnePhotoApp

__all__ = ["PortraitDepthApp", "PortraitNormalsApp", "depth_view", "shade_normals"]

#: The depth colormap's stops, far (dark blue) to near (yellow): viridis, sampled.
_COLORMAP = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98),
                      (253, 231, 37)], np.float32)


def _light(azimuth: float, elevation: float) -> np.ndarray:
    """The unit vector towards a light at ``azimuth`` (degrees, 0 = from the right, 90 = from
    above) and ``elevation`` (degrees above the picture plane)."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], np.float32)


def depth_view(depth: Image.Image, view: str, *, azimuth: float = 135,
               elevation: float = 45) -> Image.Image:
    """A depth map (white nearest) shown as ``"map"`` (as answered), ``"colormap"`` (viridis,
    black off the person) or ``"relief"`` (its slopes lit from ``azimuth``/``elevation``)."""
    d = np.asarray(depth.convert("L"), np.float32) / 255
    if view == "map":
        return depth.convert("RGB")
    if view == "colormap":
        t = d * (len(_COLORMAP) - 1)
        i = np.clip(t.astype(int), 0, len(_COLORMAP) - 2)
        f = (t - i)[..., None]
        rgb = _COLORMAP[i] * (1 - f) + _COLORMAP[i + 1] * f
        rgb[d == 0] = 0
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    gy, gx = np.gradient(d * max(d.shape) * 0.15)
    normals = np.dstack([-gx, gy, np.ones_like(d)])
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    return _lit(normals, azimuth, elevation, d > 0)


def _lit(normals: np.ndarray, azimuth: float, elevation: float, person: np.ndarray
         ) -> Image.Image:
    shade = np.clip(normals @ _light(azimuth, elevation), 0, 1)
    grey = (40 + 215 * shade) * person
    return Image.fromarray(np.dstack([grey] * 3).astype(np.uint8), "RGB")


def shade_normals(normals: Image.Image, *, azimuth: float = 135,
                  elevation: float = 45) -> Image.Image:
    """A normal map (RGB = XYZ) shaded under a light at ``azimuth`` and ``elevation``
    (degrees); black off the person, where the map is (128, 128, 255)."""
    rgb = np.asarray(normals.convert("RGB"), np.float32)
    n = rgb / 127.5 - 1
    n /= np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-6)
    person = np.abs(rgb - (128, 128, 255)).max(axis=2) > 6
    return _lit(n, azimuth, elevation, person)


class _PortraitApp(OnePhotoApp):
    """A portrait, Run, the map beside the photo in one of a few views (not for direct use)."""

    sample = "astronaut"
    next_step = "press Run"
    views: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, client: Client | None = None, *, history: HistoryStrip | None = None,
                 session_dir: str | os.PathLike[str] | None = None) -> None:
        self.view = widgets.ToggleButtons(options=list(self.views), value=self.views[-1][1],
                                          description="Show", tooltip="Which picture to show",
                                          tooltips=[f"Show the {label.lower()}"
                                                    for label, _ in self.views])
        self.azimuth = widgets.IntSlider(value=135, min=0, max=359, description="Light from",
                                         tooltip="Where the light comes from, in degrees "
                                                 "(0 right, 90 above, 180 left)")
        self.elevation = widgets.IntSlider(value=45, min=5, max=90, description="Light height",
                                           tooltip="Degrees above the picture")
        super().__init__(client, history=history, session_dir=session_dir)
        self.compare.add_row(widgets.VBox([self.view, self.azimuth, self.elevation]))
        for w in (self.view, self.azimuth, self.elevation):
            w.observe(lambda _c: self._redraw(), "value")

    @property
    def shown(self) -> Image.Image | None:
        """The view of the result shown, as the compare view has it (``None`` before Run)."""
        return self.compare.after

    def _render(self, result: Result) -> Image.Image:
        raise NotImplementedError

    def show(self, result: Result) -> None:
        super().show(result)
        self._redraw()

    def _redraw(self) -> None:
        if self.result is None:
            return
        with UI_LOCK:
            result = self.result
            self.compare.set_images(self._befores.get(result, self._input_of(result)),
                                    self._render(result))

    def _bind(self) -> Any:
        method = self.endpoint_name

        def call(client: Client, photo: Any, cancel: Any) -> Result:
            return getattr(client, method)(photo, cancel=cancel)  # type: ignore[no-any-return]
        return call


class PortraitDepthApp(_PortraitApp):
    """A portrait, Run: its depth map beside it, as the map itself, a colormap, or a relief
    lit by a light you move (**Light from**, **Light height**).

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        view: ``"map"``, ``"colormap"`` (default) or ``"relief"``.
        azimuth: the relief's light direction (degrees).
        elevation: the relief's light height (degrees).
    """

    endpoint_name = "portrait_depth"
    views = (("Map", "map"), ("Relief", "relief"), ("Colormap", "colormap"))

    def _render(self, result: Result) -> Image.Image:
        return depth_view(result.image, self.view.value, azimuth=self.azimuth.value,
                          elevation=self.elevation.value)


class PortraitNormalsApp(_PortraitApp):
    """A portrait, Run: its surface normals beside it, as the map or shaded under a light you
    move (**Light from**, **Light height**).

    Args:
        client: the [`Client`][clipdrop_widgets.Client] (default ``Client()``: the local engine
            without a key).
        history: a shared [`HistoryStrip`][clipdrop_widgets.HistoryStrip]; default: its own.
        session_dir: the session folder results are written to as they arrive.

    Attributes:
        view: ``"map"`` or ``"shaded"`` (default).
        azimuth: the light direction (degrees).
        elevation: the light height (degrees).
    """

    endpoint_name = "portrait_normals"
    views = (("Map", "map"), ("Shaded", "shaded"))

    def _render(self, result: Result) -> Image.Image:
        if self.view.value == "map":
            return result.image.convert("RGB")
        return shade_normals(result.image, azimuth=self.azimuth.value,
                             elevation=self.elevation.value)
