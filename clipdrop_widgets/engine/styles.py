"""Style words and the renderings they ask for.

A prompt's style words ("pixel art", "watercolour", "oil painting", "ink", "charcoal",
"linocut", "pencil", "photo") choose one `Style`; `stylise` re-renders a finished
picture in it. Heavy filters run on a copy at most `WORK_SIDE` pixels long and are scaled
back, so a style costs about the same at any size; paper grain is added at full size.

- ``pixel art``: a grid of blocks 1/64 of the longer side, in at most 16 colours.
- ``watercolour``: OpenCV's `cv2.stylization` for flat washes, lightened toward the
  paper, with darker pooled edges, colour bleeding and paper grain.
- ``oil``: colours smeared along short strokes that follow the picture's contours, with
  stroke ridges lit from the top left.
- ``ink``, ``charcoal``, ``linocut``, ``pencil``: line renderings on paper (black contours and
  hatching; smudged soft darks; carved black and white; OpenCV's `cv2.pencilSketch`).
- ``photo``: the picture as it is.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..contract.errors import ConfigurationError
from .palette import prompt_words

__all__ = ["Style", "STYLE_WORDS", "WORK_SIDE", "style_of", "stylise", "without_style"]

Style = Literal["photo", "pixel", "watercolour", "oil", "ink", "charcoal", "linocut",
                "pencil"]

#: Words (one or two) and the style they ask for; the first one in a prompt wins.
STYLE_WORDS: dict[str, Style] = {
    "pixel art": "pixel", "pixel": "pixel", "pixelated": "pixel", "pixels": "pixel",
    "bit": "pixel", "retro game": "pixel", "voxel": "pixel",
    "watercolour": "watercolour", "watercolor": "watercolour", "watercolours": "watercolour",
    "watercolors": "watercolour", "aquarelle": "watercolour", "gouache": "watercolour",
    "oil painting": "oil", "oil": "oil", "oils": "oil", "impasto": "oil",
    "acrylic": "oil", "painting": "oil", "painted": "oil",
    "ink": "ink", "inked": "ink", "pen and ink": "ink", "comic": "ink", "manga": "ink",
    "line art": "ink", "lineart": "ink",
    "charcoal": "charcoal", "chalk": "charcoal", "graphite": "pencil",
    "linocut": "linocut", "woodcut": "linocut", "lino": "linocut", "engraving": "linocut",
    "block print": "linocut", "stencil": "linocut",
    "pencil": "pencil", "sketch": "pencil", "sketched": "pencil", "drawing": "pencil",
    "drawn": "pencil",
    "photo": "photo", "photograph": "photo", "photorealistic": "photo",
    "realistic": "photo", "photography": "photo",
}
#: Longest side (pixels) the heavy filters run at.
WORK_SIDE = 512
_PAPER = np.float32([0.97, 0.955, 0.92])


def without_style(prompt: str) -> str:
    """``prompt``'s words without its style words: what the picture shows."""
    words = prompt_words(prompt)
    keep, i = [], 0
    while i < len(words):
        for n in (3, 2, 1):
            if " ".join(words[i:i + n]) in STYLE_WORDS:
                i += n
                break
        else:
            keep.append(words[i])
            i += 1
    return " ".join(keep)


def style_of(prompt: str) -> Style:
    """The style ``prompt`` names (two-word names first), ``"photo"`` when it names none."""
    words = prompt_words(prompt)
    for i, word in enumerate(words):
        for key in (" ".join(words[i:i + 3]), " ".join(words[i:i + 2]), word):
            if key in STYLE_WORDS and (key != "bit" or (i > 0 and words[i - 1].isdigit())):
                return STYLE_WORDS[key]
    if "8-bit" in prompt or "16-bit" in prompt:
        return "pixel"
    return "photo"


def _resize(img: np.ndarray, size: tuple[int, int], *, area: bool = False) -> np.ndarray:
    import cv2

    if img.shape[1::-1] == size:
        return img
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if area else cv2.INTER_CUBIC)


def _work(img: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    scale = min(1.0, side / max(h, w))
    return _resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), area=True)


def _grain(rng: np.random.Generator, shape: tuple[int, int], cells: float) -> np.ndarray:
    """Paper grain: noise about -1..1 with about ``cells`` cells across. Fine grains (over
    100 cells) are blurred white noise, coarse ones fractal noise."""
    import cv2

    from .generate import fbm

    h, w = shape
    if cells > 100:
        sigma = max(0.6, max(h, w) / cells / 2)
        noise = cv2.GaussianBlur(rng.standard_normal((h, w), np.float32), (0, 0), sigma)
        return np.clip(noise * (1.5 * sigma), -1, 1)
    return fbm(rng, shape, (max(1.0, cells * h / max(h, w)), max(1.0, cells * w / max(h, w))),
               octaves=3)


def _stretch(luma: np.ndarray) -> np.ndarray:
    """``luma`` stretched so its 2nd and 98th percentiles become 0 and 1."""
    lo, hi = np.percentile(luma[::4, ::4], (2, 98))
    return np.clip((luma - lo) / max(float(hi - lo), 0.05), 0, 1)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.float32([0.299, 0.587, 0.114])


def _pixel(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    block = max(2, round(max(h, w) / 64))
    small = _resize(rgb, (max(1, round(w / block)), max(1, round(h / block))), area=True)
    lum = _luma(small)[..., None]
    vivid = lum + 1.25 * (small - lum)  # game palettes are saturated
    img = Image.fromarray(np.clip(vivid * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
    img = img.quantize(colors=16, method=Image.Quantize.FASTOCTREE,
                       dither=Image.Dither.NONE).convert("RGB")
    out = np.asarray(img.resize((w, h), Image.Resampling.NEAREST), np.float32) / 255
    return out


def _watercolour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb, 384)  # washes are soft: a smaller copy loses nothing
    u8 = np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8)
    washes = cv2.stylization(u8, sigma_s=60, sigma_r=0.6).astype(np.float32) / 255
    # colours bleed into each other, unevenly
    sh, sw = washes.shape[:2]
    wobble = _grain(rng, (sh, sw), 5) * (sw / 60)
    mx, my = np.meshgrid(np.arange(sw, dtype=np.float32), np.arange(sh, dtype=np.float32))
    washes = cv2.remap(washes, mx + wobble, my + np.roll(wobble, sh // 3, axis=0),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    washes = cv2.GaussianBlur(washes, (0, 0), max(1.5, sw / 200))
    # pigment pools at the edges of each wash
    edges = np.abs(cv2.Laplacian(cv2.GaussianBlur(_luma(washes), (0, 0), 1.0), cv2.CV_32F,
                                 ksize=3))
    pooled = washes * (1 - np.clip(edges * 4, 0, 0.45))[..., None]
    out = _resize(pooled, (w, h))
    out = _PAPER + 0.7 * (out - _PAPER)  # thin paint: the paper shows through
    grain = _grain(rng, (h, w), max(h, w) / 2)
    blotch = _grain(rng, (h, w), 8)
    out *= (1 + 0.07 * grain + 0.1 * blotch)[..., None]
    return out


def _directional(img: np.ndarray, angle: float, length: int) -> np.ndarray:
    import cv2

    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    for t in np.linspace(-c, c, length * 2):
        x, y = round(c + t * np.cos(angle)), round(c + t * np.sin(angle))
        k[y, x] = 1
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def _oil(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb)
    sh, sw = small.shape[:2]
    base = cv2.edgePreservingFilter((small * 255).astype(np.uint8), flags=1, sigma_s=30,
                                    sigma_r=0.35).astype(np.float32) / 255
    luma = cv2.GaussianBlur(_luma(base), (0, 0), 2.0)
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    # strokes run along the contours: perpendicular to the gradient
    theta = (np.arctan2(gy, gx) + np.pi / 2) % np.pi
    noise = (rng.random((sh // 2 + 1, sw // 2 + 1), np.float32) > 0.5).astype(np.float32)
    noise = cv2.resize(noise, (sw, sh), interpolation=cv2.INTER_NEAREST)
    length = max(7, round(max(sh, sw) / 28)) | 1
    angles = np.linspace(0, np.pi, 4, endpoint=False)
    pick = np.round(theta / (np.pi / 4)).astype(np.intp) % 4
    smeared = np.zeros_like(base)
    strokes = np.zeros((sh, sw), np.float32)
    for i, a in enumerate(angles):
        sel = pick == i
        smeared[sel] = _directional(base, a, length)[sel]
        strokes[sel] = _directional(noise, a, length)[sel]
    strokes = (strokes - strokes.mean()) / (strokes.std() + 1e-6)
    ridges = cv2.filter2D(strokes, -1, np.float32([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]]) / 3)
    lum = _luma(smeared)[..., None]
    vivid = lum + 1.2 * (smeared - lum)
    painted = vivid * (1 + 0.1 * strokes + 0.16 * ridges)[..., None]
    return _resize(painted, (w, h))


def _paper(h: int, w: int, rng: np.random.Generator, *, strength: float) -> np.ndarray:
    grain = _grain(rng, (h, w), max(h, w) / 1.5)
    return _PAPER * (1 + strength * grain)[..., None]


def _ink(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb)
    luma = _stretch(cv2.GaussianBlur(_luma(small), (0, 0), 1.0))
    u8 = (np.clip(luma, 0, 1) * 255).astype(np.uint8)
    lines = cv2.Canny(u8, 30, 90) > 0
    lines = cv2.dilate(lines.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    sh, sw = luma.shape
    yy, xx = np.mgrid[0:sh, 0:sw]
    pitch = max(4, round(max(sh, sw) / 110))
    hatch = ((xx + yy) % pitch) < max(1, pitch // 3)
    cross = ((xx - yy) % pitch) < max(1, pitch // 3)
    ink = lines | (luma < 0.12) | (hatch & (luma < 0.6)) | (cross & (luma < 0.35))
    ink = _resize(ink.astype(np.float32), (w, h))
    ink = np.clip((ink - 0.35) * 3, 0, 1)
    paper = _paper(h, w, rng, strength=0.02)
    return paper + ink[..., None] * (np.float32([0.07, 0.07, 0.09]) - paper)


def _charcoal(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb)
    luma = _stretch(_luma(small))
    soft = cv2.GaussianBlur(luma, (0, 0), max(1.5, small.shape[1] / 180))
    edges = np.abs(cv2.Laplacian(cv2.GaussianBlur(luma, (0, 0), 1.5), cv2.CV_32F, ksize=5))
    edges = cv2.GaussianBlur(np.clip(edges * 1.5, 0, 1), (0, 0), 1.5)
    tone = np.clip((soft - 0.15) / 0.65, 0, 1) ** 1.3
    dark = np.clip((1 - tone) * 0.85 + edges, 0, 1)
    dark = _resize(dark, (w, h))
    tooth = _grain(rng, (h, w), max(h, w) / 1.5)
    streak = _grain(rng, (h, w), max(h, w) / 40)
    dark = np.clip(dark * (0.85 + 0.25 * tooth + 0.1 * streak), 0, 1)
    paper = _paper(h, w, rng, strength=0.03)
    return paper + dark[..., None] * (np.float32([0.1, 0.1, 0.11]) - paper)


def _linocut(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb)
    luma = _stretch(cv2.GaussianBlur(_luma(small), (0, 0), 1.2))
    sh, sw = luma.shape
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    # carved grooves: wavy horizontal lines, wider in lighter areas
    wave = np.sin(2 * np.pi * (yy / max(4.0, sh / 70) + 0.6 * np.sin(xx / max(8.0, sw / 25))))
    level = 1 - 2 * np.clip((luma - 0.3) / 0.4, 0, 1)
    black = (wave > level) & (luma < 0.78)
    edges = cv2.Canny((luma * 255).astype(np.uint8), 30, 90) > 0
    carved = cv2.dilate(edges.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    black = (black & ~carved) | (luma < 0.2)
    ink = _resize(black.astype(np.float32), (w, h))
    ink = np.clip((ink - 0.4) * 5, 0, 1)
    paper = _paper(h, w, rng, strength=0.015)
    return paper + ink[..., None] * (np.float32([0.08, 0.06, 0.06]) - paper)


def _pencil(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    small = _work(rgb)
    u8 = (np.clip(small, 0, 1) * 255).astype(np.uint8)
    grey, _ = cv2.pencilSketch(u8, sigma_s=50, sigma_r=0.08, shade_factor=0.045)
    lines = np.clip((1 - grey.astype(np.float32) / 255) * 2.5, 0, 1)
    # soft shading: diagonal strokes, denser in the darks
    luma = _stretch(cv2.GaussianBlur(_luma(small), (0, 0), 2.0))
    sh, sw = luma.shape
    yy, xx = np.mgrid[0:sh, 0:sw]
    pitch = max(3, round(max(sh, sw) / 150))
    strokes = (((xx + 2 * yy) % pitch) < max(1, pitch // 2)).astype(np.float32)
    shading = 0.7 * (1 - luma) ** 1.2 * (0.35 + 0.65 * strokes)
    shade = _resize(np.maximum(lines, shading), (w, h))
    tooth = _grain(rng, (h, w), max(h, w) / 1.5)
    shade = np.clip(shade, 0, 1) * (0.85 + 0.3 * tooth)
    paper = _paper(h, w, rng, strength=0.02)
    return paper + np.clip(shade, 0, 1)[..., None] * (np.float32([0.2, 0.21, 0.24])
                                                              - paper)


_RENDER = {"pixel": _pixel, "watercolour": _watercolour, "oil": _oil, "ink": _ink,
           "charcoal": _charcoal, "linocut": _linocut, "pencil": _pencil}


def stylise(pixels: np.ndarray, style: Style, *, seed: int = 0) -> np.ndarray:
    """``pixels`` (float32 (H, W, 3) in 0..1) rendered in ``style``: a new float32 array of
    the same shape in 0..1; ``seed`` draws the paper grain and strokes. ``"photo"`` returns
    a copy unchanged."""
    if style == "photo":
        return pixels.copy()
    if style not in _RENDER:
        raise ConfigurationError(f"style must be one of photo, {', '.join(_RENDER)}, not {style!r}")
    rng = np.random.default_rng(seed ^ 0x57E1)
    out = _RENDER[style](np.ascontiguousarray(pixels, np.float32), rng)
    return np.clip(out, 0, 1).astype(np.float32)
