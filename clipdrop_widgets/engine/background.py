"""Replace background: keep a photo's subject, paint a new scene behind it.

The subject comes from the image's alpha channel when it has an informative one (a cut-out
PNG), else from GrabCut: its evidence (colour, texture, focus) is read on a copy at most
`WORK_SIDE` pixels long, its whole-picture passes run on a copy at most `COARSE_SIDE` long,
seeded with a centred ellipse as "probably subject" and the top and upper side edges as
"background" (the bottom edge is left open: subjects often stand on it), then run again on
lightness, colour and texture from that first cut. When much of the photo is out of focus, a
cut seeded by its in-focus edges competes with that one. The chosen cut is settled at
`WORK_SIDE` in a narrow band along its outline; that mask is scaled up, its edge sharpened
and feathered. The scene is the prompt's (see
`render_scene`); an empty prompt paints one in the
photo's own background colours.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
from PIL import Image

from ..contract.validation import has_alpha
from .generate import render_scene
from .palette import RGB, Scene, palette_from_colours, scene_for

__all__ = ["WORK_SIDE", "SCENE_SIDE", "foreground", "replace_background"]

#: Longest side (pixels) of the copy the subject's evidence is read on and its cut settled.
WORK_SIDE = 256
#: Longest side (pixels) of the copy GrabCut's whole-picture passes run on. GrabCut's time
#: grows faster than its pixels: at 1 MP its passes took 830 ms CPU at 256 px, about 250
#: ms at 128 px with the band's settling at 256 (benchmarks/results/photo_operations.md).
COARSE_SIDE = 128
#: Half the width of the band along the coarse outline where the cut is settled at
#: `WORK_SIDE`, as a share of the longer side.
_BAND = 0.02
#: GrabCut rounds of that settling.
_REFINE_ITERATIONS = 1
#: Least `_solidity` of a cut seeded by focus for it to be kept.
_SOLID = 0.3
#: GrabCut rounds of each of the two passes (`_two_pass`) and of the cut seeded by focus. The
#: latter needs more at `COARSE_SIDE` to grow from an incomplete seed (at 5 or fewer the
#: rocket-in-a-bottle composite over a blurred photo lost half the bottle).
_PASS_ITERATIONS = 3
_DEFOCUS_ITERATIONS = 6
#: Longest side (pixels) the scene is painted at before being scaled to the photo's size.
SCENE_SIDE = 1024
#: The fixed seed of OpenCV's per-thread generator, which GrabCut's k-means start draws from.
_CV_SEED = 0x5EED
#: A lightness gradient (Sobel, Lab L in 0..255) above which a pixel counts as an edge.
_EDGE = 32.0
#: An edge is in focus when a 1-pixel blur divides its gradient by more than this...
_SHARP = 1.4
#: ...and out of focus when by less than this.
_BLURRED = 1.15
#: The share of out-of-focus edges above which a cut seeded by focus is tried.
_DEFOCUSED_SHARE = 0.4


def _informative_alpha(image: Image.Image) -> np.ndarray | None:
    """The alpha channel in 0..1 when between 1% and 99% of the pixels are see-through."""
    if not has_alpha(image):
        return None
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    clear = float((alpha < 128).mean())
    return alpha.astype(np.float32) / 255 if 0.01 <= clear <= 0.99 else None


def _ellipse(h: int, w: int, *, soft: float = 0.08) -> np.ndarray:
    """A centred ellipse, 0.66 of the width by 0.84 of the height, edge ``soft`` wide."""
    u = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w - 0.5
    v = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h - 0.54
    r = np.sqrt((u / 0.33) ** 2 + (v / 0.42) ** 2)
    return np.clip((1 - r) / soft, 0, 1)


def _frame(h: int, w: int) -> np.ndarray:
    """The pixels taken as background: the top edge and the upper 60% of the side edges, 3% of
    the shorter side wide (the bottom edge is left open: subjects often stand on it)."""
    frame = np.zeros((h, w), bool)
    edge = max(1, round(0.03 * min(h, w)))
    upper = int(0.6 * h)
    frame[:edge, :] = True
    frame[:upper, :edge] = True
    frame[:upper, -edge:] = True
    return frame


def _seed(h: int, w: int) -> np.ndarray:
    """GrabCut's starting labels for an ``h`` x ``w`` image."""
    import cv2

    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    labels[_ellipse(h, w, soft=1e-6) > 0.5] = cv2.GC_PR_FGD
    labels[_frame(h, w)] = cv2.GC_BGD
    return labels


def _texture_features(small: np.ndarray) -> np.ndarray:
    """``small`` (uint8 RGB) as three 8-bit channels for GrabCut's second pass: Lab's
    lightness and blue-yellow axis, and texture (the log of the local gradient energy, smoothed over
    about 3 pixels) stretched to its 1st..99th percentiles. Texture tells a sharp
    subject from a blurred or smooth background of the same colours, and a smooth subject
    from bricks or gravel."""
    import cv2

    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
    light = lab[..., 0].astype(np.float32)
    grad = np.hypot(cv2.Sobel(light, cv2.CV_32F, 1, 0), cv2.Sobel(light, cv2.CV_32F, 0, 1))
    texture = np.log1p(cv2.GaussianBlur(grad, (0, 0), 3))

    def stretch(x: np.ndarray) -> np.ndarray:
        lo, hi = np.percentile(x, (1, 99))
        return np.clip((x - lo) / max(float(hi - lo), 1e-6) * 255, 0, 255).astype(np.uint8)

    return np.ascontiguousarray(np.dstack([lab[..., 0], lab[..., 2], stretch(texture)]))


def _keep_large(fg: np.ndarray) -> np.ndarray:
    """``fg`` without the specks: components under a tenth of the largest one's area."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), connectivity=8)
    if count <= 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.concatenate([[False], areas >= 0.1 * areas.max()])
    return keep[labels]


def _cut(pixels: np.ndarray, labels: np.ndarray, *, iterations: int = 4) -> np.ndarray | None:
    """GrabCut (``iterations`` rounds) on ``pixels`` from ``labels``: the subject as a bool
    mask, or ``None`` when OpenCV refuses."""
    import cv2

    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.setRNGSeed(_CV_SEED)
    try:
        cv2.grabCut(pixels, labels, None, *models, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def _two_pass(small: np.ndarray, features: np.ndarray, labels: np.ndarray,
              hard: np.ndarray) -> np.ndarray | None:
    """GrabCut on the colours from ``labels``, then on ``features`` (lightness, blue-yellow and
    texture, `_texture_features`) seeded by that first cut as "probably subject", the
    ``hard`` pixels kept as background; specks removed. ``None`` when the first pass fails."""
    import cv2

    first = _cut(small, labels, iterations=_PASS_ITERATIONS)
    if first is None:
        return None
    labels = np.where(first, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[hard] = cv2.GC_BGD
    second = _cut(features, labels, iterations=_PASS_ITERATIONS)
    return _keep_large(second if second is not None and second.any() else first)


def _focus_evidence(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges of ``small`` (uint8 RGB) that are in focus and those that are not, as two bool
    masks. An edge is a pixel whose lightness gradient (Sobel) exceeds `_EDGE`; blurring
    by 1 pixel weakens a sharp edge's gradient by more than `_SHARP` times and a defocused
    one's (already smooth over several pixels) by less than `_BLURRED` times."""
    import cv2

    light = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)

    def gradient(x: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(x, cv2.CV_32F, 1, 0), cv2.Sobel(x, cv2.CV_32F, 0, 1))

    fine = gradient(light)
    ratio = fine / np.maximum(gradient(cv2.GaussianBlur(light, (0, 0), 1.0)), 1e-3)
    edge = fine > _EDGE
    return edge & (ratio > _SHARP), edge & (ratio < _BLURRED)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every region it encloses filled, the bottom edge counting as a wall (a
    subject standing on it encloses what lies between its outline and the edge)."""
    import cv2

    h, w = mask.shape
    padded = np.zeros((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = mask
    padded[-1, 1:-1] = 1
    outside = padded.copy()
    cv2.floodFill(outside, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    return mask | (outside[1:-1, 1:-1] == 0)


def _solidity(fg: np.ndarray) -> float:
    """The share of ``fg``'s pixels more than 3% of the shorter side inside its outline: near
    0 for a sliver along edges, about 0.7-0.8 for a body."""
    import cv2

    k = max(3, round(0.06 * min(fg.shape)) | 1)
    inner = cv2.erode(fg.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return float(inner.sum()) / max(1, int(fg.sum()))


def _separation(fg: np.ndarray, sharp: np.ndarray, blurred: np.ndarray) -> float:
    """How well ``fg`` holds the in-focus edges and leaves out the defocused ones: the share of
    sharp edges inside minus the share of blurred edges inside (1 is perfect)."""
    return float(fg[sharp].mean() - fg[blurred].mean())


def _defocus_cut(features: np.ndarray, sharp: np.ndarray, blurred: np.ndarray,
                 frame: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray | None:
    """The subject as what is in focus: one GrabCut pass (`_DEFOCUS_ITERATIONS` rounds) on
    ``features`` (lightness, blue-yellow and texture, `_texture_features`) seeded with the
    in-focus edges, widened by 3% of the shorter side and their enclosed holes filled, as
    "probably subject", and the frame and the defocused edges outside that as background;
    specks removed. The seeds are read at ``features``' size; GrabCut runs on a copy of
    ``size`` (w, h) when given. ``None`` when OpenCV refuses."""
    import cv2

    h, w = features.shape[:2]
    k = max(3, round(0.03 * min(h, w)) | 1)
    core = _fill_holes(cv2.dilate(sharp.astype(np.uint8),
                                  cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0)
    hard = frame | (blurred & ~core)
    if size is not None and size != (w, h):
        features = np.ascontiguousarray(_small(features, max(size)))
        core, hard = _shrink(core, size), _shrink(hard, size)
    labels = np.where(core, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[hard] = cv2.GC_BGD
    cut = _cut(features, labels, iterations=_DEFOCUS_ITERATIONS)
    return None if cut is None else _keep_large(cut)


def _shrink(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The bool ``mask`` at ``size`` (w, h): a pixel is set when most of those it covers are."""
    import cv2

    if mask.shape[1::-1] == size:
        return mask
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5


def _refine(pixels: np.ndarray, coarse: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The ``coarse`` cut (float32 0..1, ``pixels``' size, soft where it was scaled up) settled
    by GrabCut at ``pixels``' size in a narrow band along its outline only: sure subject
    inside the band, sure background outside it and on the ``frame``. The band is
    `_BAND` of the longer side wide each way, so the refinement moves edges, not the subject."""
    import cv2

    fg = coarse > 0.5
    r = max(1, round(_BAND * max(fg.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    grown = cv2.dilate(fg.astype(np.uint8), kernel) > 0
    shrunk = cv2.erode(fg.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0
    labels = np.where(fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[shrunk] = cv2.GC_FGD
    labels[~grown | frame] = cv2.GC_BGD
    cut = _cut(pixels, labels, iterations=_REFINE_ITERATIONS)
    return fg if cut is None or not cut.any() else cut


def _grabcut(small: np.ndarray) -> np.ndarray:
    """The subject of ``small`` (uint8 RGB) as a bool mask, an ellipse when GrabCut fails.

    The evidence (colour, texture, focus) is read at ``small``'s size; the whole-picture
    GrabCut passes run on a copy at most `COARSE_SIDE` long (GrabCut's time grows faster
    than its pixels), and the cut is then settled at ``small``'s size in a narrow band along
    its outline (`_refine`).

    GrabCut in two passes (`_two_pass`), seeded by the centred ellipse and the frame
    (`_seed`). When at least `_DEFOCUSED_SHARE` of the photo's edges are out of
    focus (a subject over a blurred background, a sky or a plain wall), a second cut is seeded
    by what is in focus instead (`_defocus_cut`) and kept when it separates the sharp
    edges from the blurred ones better (`_separation`) by more than 0.01 and is a body, not a
    sliver along edges (`_solidity` at least `_SOLID`: a smooth colour wheel over a blurred
    clock has its sharp edges only on its outline, and a sliver along them won, IoU 0.07). On
    the composites of ``benchmarks/bench_previews.py`` the defocus cut raised the IoU of the
    worst, a small off-centre subject over a blurred photo, from 0.22 to 0.993 (the mean from
    0.932 to 0.972).
    """
    import cv2

    h, w = small.shape[:2]
    if min(h, w) < 8:
        return _ellipse(h, w) > 0.5
    frame = _frame(h, w)
    features = _texture_features(small)
    sharp, blurred = _focus_evidence(small)
    lo = np.ascontiguousarray(_small(small, COARSE_SIDE))
    size = lo.shape[1::-1]
    lo_features = np.ascontiguousarray(_small(features, COARSE_SIDE))
    lo_frame = _frame(size[1], size[0])
    fg = _two_pass(lo, lo_features, _seed(size[1], size[0]), lo_frame)
    if fg is None:
        return _ellipse(h, w) > 0.5

    def full(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)

    soft = full(fg)
    n_sharp, n_blurred = int(sharp.sum()), int(blurred.sum())
    if min(n_sharp, n_blurred) >= 20 and n_blurred >= _DEFOCUSED_SHARE * (n_sharp + n_blurred):
        focused = _defocus_cut(features, sharp, blurred, frame, size)
        if focused is not None and focused.any():
            soft_focused = full(focused)
            if _solidity(soft_focused > 0.5) >= _SOLID and \
                    _separation(soft_focused > 0.5, sharp, blurred) > \
                    _separation(soft > 0.5, sharp, blurred) + 0.01:
                soft = soft_focused
    fg = _keep_large(_refine(small, soft, frame))
    share = float(fg.mean())
    return fg if 0.02 <= share <= 0.97 else _ellipse(h, w) > 0.5


def _small(rgb: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb


def foreground(image: Image.Image) -> np.ndarray:
    """How much each pixel belongs to the subject: float32 (H, W) in 0..1."""
    import cv2

    alpha = _informative_alpha(image)
    if alpha is not None:
        return alpha
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    small = _small(rgb, WORK_SIDE)
    fg = _grabcut(small).astype(np.float32)
    if small.shape[:2] == (h, w):
        return cv2.GaussianBlur(fg, (0, 0), 0.7)
    factor = max(h, w) / max(small.shape[:2])
    matte = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    matte = np.clip((matte - 0.3) / 0.4, 0, 1)
    matte = matte * matte * (3 - 2 * matte)
    return cv2.GaussianBlur(matte, (0, 0), max(0.7, factor / 4))


def _dominant(pixels: np.ndarray, count: int = 5) -> list[RGB]:
    """Up to ``count`` dominant colours of ``pixels`` (N x 3 uint8), most common first."""
    strip = Image.fromarray(pixels.reshape(1, -1, 3), "RGB")
    quantised = strip.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    table = quantised.getpalette() or []
    used = sorted(quantised.getcolors() or [], reverse=True)
    return [tuple(table[3 * i: 3 * i + 3]) for _, i in used]  # type: ignore[misc]


def _photo_scene(small: np.ndarray, subject: np.ndarray) -> Scene:
    """A scene for an empty prompt: features chosen by the photo's hash, painted in the
    dominant colours of its background (all of it when the subject covers nearly everything)."""
    back = small[~subject] if (~subject).sum() >= 64 else small.reshape(-1, 3)
    colours = _dominant(back)
    seed = int.from_bytes(hashlib.sha256(small.tobytes()).digest()[:8], "big")
    scene = scene_for("", seed=seed)
    luma = float(np.mean(back @ np.float32([0.299, 0.587, 0.114])))
    return replace(scene, palette=palette_from_colours(colours),
                   time="night" if luma < 60 else "day")


def replace_background(image: Image.Image, prompt: str) -> Image.Image:
    """``image``'s subject over the scene ``prompt`` describes (one made from the photo's
    colours when the prompt is empty or blank). RGB, the image's size."""
    import cv2

    matte = foreground(image)
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    if prompt.strip():
        scene = scene_for(prompt)
    else:
        small = _small(rgb, WORK_SIDE)
        subject = cv2.resize(matte, small.shape[1::-1], interpolation=cv2.INTER_AREA) > 0.5
        scene = _photo_scene(small, subject)
    scale = min(1.0, SCENE_SIDE / max(h, w))
    painted = render_scene(scene, (max(1, round(w * scale)), max(1, round(h * scale))))
    if scale < 1:
        painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_CUBIC)
    back = painted * 255
    out = back + matte[..., None] * (rgb.astype(np.float32) - back)
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGB")
