"""The six operations beyond the seeds: remove background, uncrop, upscale, reimagine,
portrait depth and portrait normals.

They live here, apart from ``client.py``, so the client's request path stays one short module:
each method only names its fields and hands them to `Client.call`, which checks every rule
of the endpoint table ([`ENDPOINTS`][clipdrop_widgets.ENDPOINTS]) before a credit is spent.
Keyword names are the service's field names. Integer fields are sent as decimal text; those
left at the service's default (0 for the ``extend_*`` fields, ``None`` for ``seed`` and
``transparency_handling``) are not sent at all.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal

from .inputs import ImageInput

if TYPE_CHECKING:
    from .attempt import Timeout
    from .result import Result

__all__ = ["PhotoOperations"]

Format = Literal["png", "jpeg", "webp"]
TransparencyHandling = Literal["return_input_if_non_opaque", "discard_alpha_layer"]


class PhotoOperations:
    """The six later operations as methods of [`Client`][clipdrop_widgets.Client]."""

    def call(self, name: str, texts: Any, files: Any = None, **options: Any) -> Result:
        raise NotImplementedError  # pragma: no cover - Client.call

    def remove_background(self, image: ImageInput, *,
                          transparency_handling: TransparencyHandling | None = None,
                          format: Format | None = None, timeout: Timeout = None,
                          cancel: threading.Event | None = None) -> Result:
        """The subject of ``image`` (PNG, JPEG or WebP; at most 25 megapixels and 30 MB) on a
        transparent background, the input's size.

        ``format`` chooses the answer's type through ``Accept``: ``"png"`` (the default, with
        transparency), ``"webp"`` (with transparency) or ``"jpeg"`` (no transparency).
        ``transparency_handling``: for an input that is already partly see-through, the
        service by default returns it as it is (``"return_input_if_non_opaque"``);
        ``"discard_alpha_layer"`` ignores its alpha and cuts the subject out anew.
        """
        return self.call("remove_background",
                         {"transparency_handling": transparency_handling},
                         {"image_file": image}, format=format, timeout=timeout, cancel=cancel)

    def uncrop(self, image: ImageInput, *, extend_left: int = 0, extend_right: int = 0,
               extend_up: int = 0, extend_down: int = 0, seed: int | None = None,
               timeout: Timeout = None, cancel: threading.Event | None = None) -> Result:
        """``image`` (JPEG, PNG or WebP; at most 10 megapixels and 30 MB) extended by the
        given pixels on each side, the new parts invented; a JPEG of the extended size.

        Each ``extend_*`` is -2000..2000 pixels (default 0; negative values crop); at least
        one pixel must remain each way. ``seed`` (0..100000; default ``None``, a random one)
        makes a result again: the same image, extends and seed give the same picture.
        """
        extends = {"extend_left": extend_left, "extend_right": extend_right,
                   "extend_up": extend_up, "extend_down": extend_down}
        # A 0 is the service's default: left out. Anything else, even a wrong kind, goes on to
        # the table's check, which refuses it by name.
        texts: dict[str, Any] = {k: v for k, v in extends.items()
                                 if not (type(v) is int and v == 0)}
        texts["seed"] = seed
        return self.call("uncrop", texts, {"image_file": image}, timeout=timeout,
                         cancel=cancel)

    def upscale(self, image: ImageInput, target_width: int, target_height: int, *,
                timeout: Timeout = None, cancel: threading.Event | None = None) -> Result:
        """``image`` (PNG, JPEG or WebP; at most 16 megapixels and 30 MB) resampled to
        ``target_width`` x ``target_height`` (1..4096 pixels each): WebP when the input has
        transparency, else JPEG.

        The documentation prices it three ways (1 credit a call; 1, or 0.2, credit per output
        megapixel): the client reserves the most (1 per output megapixel, at least 1) against
        ``budget`` and counts what ``x-credits-consumed`` reports.
        """
        return self.call("upscale", {"target_width": target_width,
                                     "target_height": target_height},
                         {"image_file": image}, timeout=timeout, cancel=cancel)

    def reimagine(self, image: ImageInput, *, timeout: Timeout = None,
                  cancel: threading.Event | None = None) -> Result:
        """A variation of ``image`` (PNG, JPEG or WebP; width and height at most 1024 px), as
        JPEG. Each call gives another one."""
        return self.call("reimagine", {}, {"image_file": image}, timeout=timeout,
                         cancel=cancel)

    def portrait_depth(self, image: ImageInput, *, timeout: Timeout = None,
                       cancel: threading.Event | None = None) -> Result:
        """The depth map of the person in ``image`` (PNG, JPEG or WebP; at most 25
        megapixels and 30 MB): a JPEG, white nearest, black farthest, 0 off the person."""
        return self.call("portrait_depth", {}, {"image_file": image}, timeout=timeout,
                         cancel=cancel)

    def portrait_normals(self, image: ImageInput, *, timeout: Timeout = None,
                         cancel: threading.Event | None = None) -> Result:
        """The surface normals of the person in ``image`` (PNG, JPEG or WebP; at most 25
        megapixels and 30 MB): a JPEG whose red, green and blue are the normal's X, Y and Z,
        (128, 128, 255) off the person."""
        return self.call("portrait_normals", {}, {"image_file": image}, timeout=timeout,
                         cancel=cancel)
