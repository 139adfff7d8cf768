"""Remove background, portrait depth and portrait normals: previews built on one cut-out.

The subject (the person, for the portraits) is found as replace background finds it (its
GrabCut, `background._grabcut`), on a copy `COARSE_SIDE` pixels long. For remove background
that coarse cut is refined into a real alpha matte at full size by a guided filter (He, Sun
and Tang, "Guided Image Filtering", 2010): the matte follows the photo's own edges, so hair
and soft borders get partial alpha instead of a hard step. Depth is a relief of the cut-out's shape
(nearest at its thickest, the distance from its outline), lit a little by the photo's
lightness; normals are that relief's slopes. Off the subject depth is 0 and normals are
(128, 128, 255), as the service answers; a cut that does not stand out from the rest of the
picture (a flat grey picture) is no person: the whole map is 0 / (128, 128, 255).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..contract.validation import has_alpha
from .background import _grabcut, _small

__all__ = ["COARSE_SIDE", "WORK_SIDE", "matte", "remove_background", "portrait_depth",
           "portrait_normals",
           "OFF_PERSON_NORMAL"]

#: Longest side (pixels) of the copy the subject is cut on, as replace background does
#: (`background.WORK_SIDE`: GrabCut's whole-picture passes run at `background.COARSE_SIDE`,
#: the cut is settled at this size along its outline). GrabCut is most of this module's time.
COARSE_SIDE = 256
#: Longest side (pixels) the guided filter and the reliefs are computed at; larger photos
#: are worked on at this size and the result scaled up (a matte is smooth at that scale).
WORK_SIDE = 1024
#: The normal map's colour where there is no person (X 0, Y 0, Z 1).
OFF_PERSON_NORMAL = (128, 128, 255)
#: Least difference (0..255 levels, mean colour or spread) between the portraits' cut and the
#: rest of the picture for it to count as a person; below it the maps say "no person".
MIN_CONTRAST = 6.0
_EPS = 1e-3  # the guided filter's regularisation, on 0..1 lightness
#: Longest side above which the guided filter's coefficients are worked out at half size.
_FAST_GUIDED = 512


def _resize(a: np.ndarray, size: tuple[int, int], *, area: bool = False) -> np.ndarray:
    import cv2

    if a.shape[1::-1] == size:
        return a
    return cv2.resize(a, size, interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)


def _guided(guide: np.ndarray, source: np.ndarray, radius: int, *, step: int = 1
            ) -> np.ndarray:
    """``source`` filtered with the edges of ``guide`` (both float32 (H, W), 0..1). With
    ``step`` > 1 the filter's coefficients are worked out on a copy ``step`` times smaller and
    applied to the full-size guide (He and Sun's "Fast Guided Filter", 2015): the edges stay
    the full-size guide's."""
    import cv2

    full = guide
    if step > 1:
        h, w = guide.shape
        size = (max(1, w // step), max(1, h // step))
        guide, source = _resize(guide, size, area=True), _resize(source, size, area=True)
        radius = max(1, radius // step)
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(source)
    var_i = box(guide * guide) - mean_i * mean_i
    cov = box(guide * source) - mean_i * mean_p
    a = cov / (var_i + _EPS)
    b = mean_p - a * mean_i
    mean_a, mean_b = box(a), box(b)
    if step > 1:
        mean_a, mean_b = _resize(mean_a, full.shape[::-1]), _resize(mean_b, full.shape[::-1])
    return mean_a * full + mean_b


def _subject(rgb: np.ndarray) -> np.ndarray:
    """The subject of ``rgb`` (uint8 RGB), cut on a `COARSE_SIDE` copy: float32 0..1 at
    ``rgb``'s size, soft over the copy's pixel steps."""
    coarse = _grabcut(np.ascontiguousarray(_small(rgb, COARSE_SIDE))).astype(np.float32)
    return _resize(coarse, rgb.shape[1::-1])


def matte(image: Image.Image) -> np.ndarray:
    """The subject's alpha, float32 (H, W) in 0..1: the coarse cut refined along the photo's
    edges (guided filter), certain inside and outside, partial only near the outline."""
    import cv2

    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = _resize(rgb, size, area=True)
    coarse = _subject(small)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    radius = max(2, round(max(size) / COARSE_SIDE))
    alpha = _guided(grey, coarse, radius, step=2 if max(size) > _FAST_GUIDED else 1)
    alpha = np.clip((alpha - 0.25) / 0.5, 0, 1)
    alpha = alpha * alpha * (3 - 2 * alpha)  # sure inside and out, partial at the edge
    # Far from the outline the coarse cut is sure: keep it there, the matte only at the edge.
    band = cv2.dilate((np.abs(coarse - 0.5) < 0.49).astype(np.uint8),
                      np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0
    alpha = np.where(band, alpha, np.round(coarse)).astype(np.float32)
    return _resize(alpha, (w, h))


def remove_background(image: Image.Image, transparency_handling: str | None = None
                      ) -> Image.Image:
    """``image``'s subject on a transparent background: RGBA, the image's size.

    An input already partly see-through comes back as it is unless ``transparency_handling``
    is ``"discard_alpha_layer"`` (then its alpha is ignored), as the service documents.
    """
    if has_alpha(image):
        rgba = image.convert("RGBA")
        if transparency_handling != "discard_alpha_layer" and \
                rgba.getchannel("A").getextrema()[0] < 255:
            return rgba
        image = rgba.convert("RGB")
    rgb = np.asarray(image.convert("RGB"))
    alpha = (matte(image) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def _stands_out(rgb: np.ndarray, cut: np.ndarray) -> bool:
    """Whether the ``cut`` of ``rgb`` differs from the rest of the picture by more than
    `MIN_CONTRAST` in mean colour or spread: GrabCut (or its ellipse fallback) always returns
    a subject, even of a flat grey picture, where there is no person to find."""
    if not cut.any() or cut.all():
        return False
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    inside, outside = pixels[cut.ravel()], pixels[~cut.ravel()]
    mean = float(np.linalg.norm(inside.mean(axis=0) - outside.mean(axis=0)))
    spread = abs(float(inside.std()) - float(outside.std()))
    return max(mean, spread) > MIN_CONTRAST


def _relief(image: Image.Image) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The person's mask and a height field over it (both float32 at work size, height
    0..1, nearest 1) and the photo's size."""
    import cv2

    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    scale = min(1.0, 512 / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = _resize(rgb, size, area=True)
    person = _subject(small) > 0.5
    if not _stands_out(small, person):
        person[:] = False  # no person: 0 depth and flat normals everywhere, as the service
    inside = cv2.distanceTransform(person.astype(np.uint8), cv2.DIST_L2, 5)
    thickness = max(float(inside.max()), 1.0)
    dome = np.sqrt(np.clip(inside / thickness, 0, 1))  # round like a body, not a cone
    light = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    light = cv2.GaussianBlur(light, (0, 0), max(1.0, max(size) / 200))
    height = cv2.GaussianBlur(0.85 * dome + 0.15 * light, (0, 0), max(1.0, max(size) / 256))
    return person.astype(np.float32), np.where(person, height, 0).astype(np.float32), (w, h)


def portrait_depth(image: Image.Image) -> Image.Image:
    """The person's depth: ``L``, the image's size, white nearest and 0 off the person."""
    person, height, size = _relief(image)
    depth = np.where(person > 0, 40 + 215 * height, 0)
    out = _resize(depth.astype(np.float32), size)
    mask = _resize(person, size) > 0.5
    return Image.fromarray(np.where(mask, np.clip(out + 0.5, 1, 255), 0).astype(np.uint8), "L")


def portrait_normals(image: Image.Image) -> Image.Image:
    """The person's surface normals: RGB = X (right), Y (up), Z (towards the viewer), each
    -1..1 as 0..255, the image's size; (128, 128, 255) off the person."""
    import cv2

    person, height, size = _relief(image)
    relief = 0.25 * max(height.shape)  # the person's thickness, in work pixels
    dx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8 * relief
    dy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8 * relief
    n = np.dstack([-dx, dy, np.ones_like(dx)])  # image y runs down, the normal's Y up
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    colours = np.clip((n * 0.5 + 0.5) * 255 + 0.5, 0, 255)
    off = np.array(OFF_PERSON_NORMAL, np.float32)
    colours = np.where(person[..., None] > 0, colours, off).astype(np.float32)
    out = _resize(colours, size)
    mask = _resize(person, size) > 0.5
    out = np.where(mask[..., None], out, off)
    return Image.fromarray(out.astype(np.uint8), "RGB")
