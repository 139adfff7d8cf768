"""The things a prompt names, found and drawn into the engine's landscape.

`find_subjects` reads a prompt for nouns in `NOUNS` ("a red fox",
"two small boats", "three lighthouses"), with the colour, size and count words just before
each. `draw_subjects` paints them into a rendering: animals, people, buildings and
plants standing on the ground with a soft shadow, birds and aircraft in the sky, boats and
fish in the water, food and objects in the middle as a still life. Emoji come from a subset
of the OpenMoji font (CC BY-SA 4.0) in ``engine/assets``; a lighthouse is drawn from shapes.
Placement and jitter come from the scene's seed, so the same prompt gives the same picture.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from .palette import COLOURS, RGB, prompt_words
from .styles import STYLE_WORDS
from .vocabulary import IRREGULAR, NOUNS, PLACES, SHAPES, Place

__all__ = ["CREDIT", "Subject", "find_subjects", "singular", "draw_subjects"]

#: The credit the icons ask for; the preview mark shows it on pictures that use them.
CREDIT = "icons: OpenMoji, CC BY-SA 4.0"
_FONT = "openmoji-subjects.ttf"

#: Words that scale a subject, as a factor of its usual height.
SIZES: dict[str, float] = {
    "tiny": 0.45, "little": 0.65, "small": 0.65, "miniature": 0.5, "big": 1.35,
    "large": 1.35, "tall": 1.3, "huge": 1.7, "giant": 1.8, "enormous": 1.8,
    "gigantic": 1.8, "massive": 1.7, "colossal": 1.8,
}
#: Words that give a count.
COUNTS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2,
    "twin": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "few": 3, "several": 4, "some": 3, "many": 6, "herd": 5,
    "flock": 6, "pack": 4, "group": 4, "crowd": 7, "lots": 6, "dozen": 12, "school": 5,
}
#: Most instances of one subject drawn; most subjects per picture.
MAX_COUNT, MAX_SUBJECTS = 12, 4
_BASE_HEIGHT: dict[Place, float] = {"ground": 0.42, "sky": 0.2, "water": 0.3, "centre": 0.5}


@dataclass(frozen=True)
class Subject:
    """One thing to draw: ``noun`` (singular), its ``glyph`` (an emoji, or a shape's name),
    where it goes (``place``), how many (``count``), ``scale`` (1 = usual size) and the
    ``colour`` a colour word gave it (``None``: its own colours)."""

    noun: str
    glyph: str
    place: Place
    count: int = 1
    scale: float = 1.0
    colour: RGB | None = None


def singular(word: str) -> str | None:
    """The vocabulary noun ``word`` names, allowing plurals ("foxes", "cities", "mice")."""
    word = word.casefold()
    if word in IRREGULAR and IRREGULAR[word] in NOUNS:
        return IRREGULAR[word]
    if word in NOUNS:
        return word
    for cut, add in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if word.endswith(cut) and word[: -len(cut)] + add in NOUNS:
            return word[: -len(cut)] + add
    return None


def _nouns(words: list[str]) -> list[tuple[int, int, str, bool]]:
    """(start, end, noun, plural) for each noun in ``words``, two-word names first."""
    found, i = [], 0
    while i < len(words):
        pair = " ".join(words[i:i + 2])
        if i + 1 < len(words) and (noun := singular(pair)) is not None:
            found.append((i, i + 2, noun, pair != noun))
            i += 2
            continue
        noun = singular(words[i])
        nxt = singular(words[i + 1]) if i + 1 < len(words) else None
        # "orange", "peach", "coral" before a noun are colours, not things; "pencil" and
        # "ink" name a style
        if noun is not None and not (words[i] in COLOURS and nxt is not None) \
                and words[i] not in STYLE_WORDS:
            plural = words[i] != noun and IRREGULAR.get(words[i], "") != words[i]
            found.append((i, i + 1, noun, plural))
        i += 1
    return found


def find_subjects(prompt: str) -> list[Subject]:
    """The subjects ``prompt`` names, in order, at most `MAX_SUBJECTS`; each takes the
    colour, size and count words between the previous noun and itself. A plural with no
    count draws three."""
    words = prompt_words(prompt)
    subjects: dict[str, Subject] = {}
    last = 0
    for start, end, noun, plural in _nouns(words):
        before = words[last:start]
        last = end
        count = next((COUNTS[w] for w in reversed(before) if w in COUNTS), None)
        if count is None or (count == 1 and plural):
            count = 3 if plural else 1
        scale = next((SIZES[w] for w in reversed(before) if w in SIZES), 1.0)
        colour = next((COLOURS[w] for w in reversed(before) if w in COLOURS), None)
        if noun in subjects:
            continue
        subjects[noun] = Subject(noun, NOUNS[noun], PLACES[noun], min(count, MAX_COUNT),
                                 scale, colour)
    return list(subjects.values())[:MAX_SUBJECTS]


# -- glyphs --------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _font(px: int) -> ImageFont.FreeTypeFont:
    path = resources.files("clipdrop_widgets.engine") / "assets" / _FONT
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), px)


def _text(glyph: str) -> str:
    """``glyph`` as the font can shape it: a joined sequence needs Raqm, else its first
    character stands in."""
    return glyph if features.check("raqm") or len(glyph) == 1 else glyph[0]


@lru_cache(maxsize=128)
def _emoji(glyph: str, px: int) -> np.ndarray:
    """``glyph`` rendered about ``px`` pixels tall: float32 RGBA (h, w, 4), cropped."""
    text = _text(glyph)
    font = _font(max(8, round(px * 1.12)))
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("RGBA", (right - left + 4, bottom - top + 4), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, font=font, embedded_color=True)
    box = canvas.getbbox() or (0, 0, 1, 1)
    return np.asarray(canvas.crop(box), np.float32) / 255


def _tint(rgba: np.ndarray, colour: RGB) -> np.ndarray:
    """``rgba``'s coloured fills moved to ``colour``'s hue, keeping outlines and shading."""
    import cv2

    rgb = np.ascontiguousarray(rgba[..., :3])
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # H 0..360, S and V 0..1
    th, ts, tv = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    fill = (hsv[..., 2] > 0.25) & (rgba[..., 3] > 0.5)
    coloured = fill & (hsv[..., 1] > 0.2)
    target = coloured if coloured.sum() > 0.15 * fill.sum() else fill
    if not target.any():
        return rgba
    mean_v = float(hsv[..., 2][target].mean())
    out = hsv.copy()
    out[..., 0][target] = th * 360
    out[..., 1][target] = np.clip(ts * (0.6 + 0.5 * hsv[..., 1][target]), 0, 1)
    out[..., 2][target] = np.clip(max(tv, 0.22) * hsv[..., 2][target] / mean_v, 0, 1)
    tinted = rgba.copy()
    tinted[..., :3] = cv2.cvtColor(out, cv2.COLOR_HSV2RGB)
    return tinted


def _lighthouse(px: int, colour: RGB | None, lit: bool) -> np.ndarray:
    """A lighthouse ``px`` tall: a tapering tower in bands of ``colour`` (red) and white,
    a gallery, a lantern room (glowing when ``lit``) and a dark cap. RGBA float32."""
    h, w = px, max(8, round(px * 0.42))
    y = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    x = (np.arange(w, dtype=np.float32)[None, :] + 0.5) / w - 0.5
    img = np.zeros((h, w, 4), np.float32)
    band = np.asarray(colour or (200, 40, 35), np.float32) / 255
    white = np.float32([0.96, 0.95, 0.92])
    outline = np.float32([0.12, 0.12, 0.14])

    def put(inside: np.ndarray, rgb: np.ndarray) -> None:
        img[..., :3] = np.where(inside[..., None], rgb, img[..., :3])
        img[..., 3] = np.maximum(img[..., 3], inside.astype(np.float32))

    tower_top, base = 0.3, 1.0
    half = 0.14 + 0.2 * np.clip((y - tower_top) / (base - tower_top), 0, 1)
    tower = (y >= tower_top) & (np.abs(x) <= half)
    edge = tower & (np.abs(x) >= half - max(1.5 / w, 0.025))
    stripes = (((y - tower_top) / (base - tower_top) * 5).astype(np.int32) % 2) == 0
    shade = (1 - 0.35 * np.clip((x + half) / (2 * half), 0, 1))[..., None]
    put(tower, np.where(stripes[..., None], band, white) * shade)
    put(edge, outline)
    put((y >= 0.26) & (y < 0.3) & (np.abs(x) <= 0.24), outline)  # gallery
    room = (y >= 0.12) & (y < 0.26) & (np.abs(x) <= 0.12)
    glass = np.float32([1.0, 0.92, 0.55]) if lit else np.float32([0.7, 0.8, 0.85])
    put(room, glass)
    put(room & ((np.abs(x) >= 0.1) | (np.abs(x) < 0.012)), outline)
    cap = (y >= 0.04) & (y < 0.12) & (np.abs(x) <= 0.14 * (y - 0.04) / 0.08)
    put(cap, outline)
    return img


def _afloat(rgba: np.ndarray) -> np.ndarray:
    """A boat emoji without its patch of light-blue water, its hull fading into the sea."""
    import cv2

    hsv = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2HSV)
    water = (np.abs(hsv[..., 0] - 201) < 14) & (hsv[..., 1] > 0.3) & (hsv[..., 2] > 0.8)
    out = rgba.copy()
    out[..., 3] *= ~water
    h = out.shape[0]
    fade = np.clip((1 - (np.arange(h, dtype=np.float32) + 0.5) / h) / 0.22, 0, 1)
    out[..., 3] *= fade[:, None]
    return out


def _sprite(subject: Subject, px: int, lit: bool) -> np.ndarray:
    if subject.glyph == "lighthouse" or subject.noun in SHAPES:
        return _lighthouse(px, subject.colour, lit)
    rgba = _emoji(subject.glyph, px)
    if subject.place == "water" and subject.glyph in "⛵🚢⛴🚤🛶":
        rgba = _afloat(rgba)
    return _tint(rgba, subject.colour) if subject.colour is not None else rgba


# -- placing -------------------------------------------------------------------------------

def _blend(img: np.ndarray, sprite: np.ndarray, left: int, top: int, *,
           opacity: float = 1.0) -> None:
    """Paint ``sprite`` (RGBA) over ``img`` with its top-left corner at (left, top)."""
    H, W = img.shape[:2]
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(0, left), max(0, top), min(W, left + w), min(H, top + h)
    if x0 >= x1 or y0 >= y1:
        return
    part = sprite[y0 - top:y1 - top, x0 - left:x1 - left]
    a = part[..., 3:] * opacity
    region = img[y0:y1, x0:x1]
    region += a * (part[..., :3] - region)


def _shadow(img: np.ndarray, cx: float, base: float, width: float, height: float) -> None:
    """A soft dark ellipse on the ground under a subject; coordinates in pixels."""
    H, W = img.shape[:2]
    rx, ry = max(2.0, width * 0.45), max(1.5, height * 0.035)
    x0, x1 = int(max(0, cx - 2 * rx)), int(min(W, cx + 2 * rx + 1))
    y0, y1 = int(max(0, base - 3 * ry)), int(min(H, base + 3 * ry + 1))
    if x0 >= x1 or y0 >= y1:
        return
    yy = np.arange(y0, y1, dtype=np.float32)[:, None]
    xx = np.arange(x0, x1, dtype=np.float32)[None, :]
    d = ((xx - cx) / rx) ** 2 + ((yy - base) / ry) ** 2
    img[y0:y1, x0:x1] *= (1 - 0.35 * np.exp(-d))[..., None]


def draw_subjects(img: np.ndarray, subjects: list[Subject], *, horizon: float,
                  seed: int, lit: bool = False) -> None:
    """Paint ``subjects`` into ``img`` (float32 (H, W, 3) in 0..1) in place.

    ``horizon`` is where the ground starts (share of the height from the top); ``seed``
    chooses each instance's jitter; ``lit`` lights windows and lamps (dusk and night).
    Instances share the width in evenly spaced slots, the larger ones nearer the viewer.
    """
    if not subjects:
        return
    H, W = img.shape[:2]
    rng = np.random.default_rng(seed ^ 0x5B1EC7)
    instances = [s for s in subjects for _ in range(s.count)]
    n = len(instances)
    order = rng.permutation(n)
    slots = (np.arange(n) + 0.5) / n
    crowd = 1 / np.sqrt(max(1, n - 0.5)) if n > 1 else 1.0
    ground = max(0.05, 1 - horizon)
    placed = []
    for k, subject in enumerate(instances):
        height = _BASE_HEIGHT[subject.place] * subject.scale * (crowd if n > 1 else 1)
        height *= float(rng.uniform(0.88, 1.08))
        height = min(height, 0.9)
        cx = float(slots[order[k]]) + float(rng.uniform(-0.3, 0.3)) / max(n, 2)
        cx = 0.5 if n == 1 else cx
        if subject.place in ("ground", "water"):
            depth = float(rng.uniform(0.45, 0.85)) if n > 1 else 0.72
            if subject.noun in SHAPES or subject.glyph in "🏰🏯⛪🕌🛕🕍🗼🏢🏥🏫🏦🏨🏭🏟🏛🗽":
                depth *= 0.6
            base = horizon + ground * depth
            height *= 0.75 + 0.5 * depth if n > 1 else 1
            base = max(base, min(0.98, height + 0.02))
        elif subject.place == "sky":
            base = 0.06 + height + float(rng.uniform(0, 0.6)) * max(0.0, horizon - 0.1 - height)
        else:
            base = 0.5 + height / 2 + (float(rng.uniform(-0.08, 0.08)) if n > 1 else 0.0)
            base = min(base, 0.97)
        placed.append((base, cx, height, subject))
    placed.sort(key=lambda p: (p[3].place != "sky", p[0]))  # far first, near last
    for base, cx, height, subject in placed:
        px = max(6, round(height * H))
        sprite = _sprite(subject, px, lit)
        if rng.random() < 0.5 and subject.place in ("ground", "water", "sky"):
            sprite = sprite[:, ::-1]
        h, w = sprite.shape[:2]
        if w > 0.95 * W:  # a wide sprite on a narrow picture
            scale = 0.95 * W / w
            sprite = np.asarray(Image.fromarray((sprite * 255).astype(np.uint8), "RGBA")
                                .resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                        Image.Resampling.LANCZOS), np.float32) / 255
            h, w = sprite.shape[:2]
        left = min(max(round(cx * W - w / 2), 0), max(0, W - w))
        top = round(base * H) - h
        if subject.place in ("ground", "water"):
            _shadow(img, left + w / 2, base * H, w, H)
        _blend(img, sprite, left, top)
