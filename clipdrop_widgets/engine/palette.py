"""Prompt words -> a scene description: which elements to draw and in which colours.

The local engine has no model; it reads a prompt the way a child reads a picture book. Colour
words ("red", "golden") tint the palette, scene words ("sea", "mountains", "city") choose what is
drawn, time words ("sunset", "night") set the light, and mood words ("misty", "vivid") adjust
brightness, saturation and haze. Anything else still counts: the prompt's SHA-256 seeds every
random choice, so an unknown prompt gives a stable picture of its own.

Colours are ``(r, g, b)`` tuples of ints in 0..255.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..contract.errors import ConfigurationError

__all__ = [
    "RGB",
    "Mood",
    "Palette",
    "Scene",
    "COLOURS",
    "FEATURES",
    "TIMES",
    "MOODS",
    "prompt_words",
    "seed_of",
    "describe",
    "mix",
    "palette_from_colours",
    "region_colours",
]

RGB = tuple[int, int, int]
Time = Literal["day", "sunset", "night", "space"]

#: Colour words and the colour each stands for.
COLOURS: dict[str, RGB] = {
    "red": (205, 45, 40), "crimson": (180, 20, 60), "scarlet": (225, 40, 30),
    "maroon": (120, 25, 35), "orange": (240, 130, 30), "amber": (245, 170, 30),
    "yellow": (245, 215, 50), "golden": (230, 180, 50), "gold": (230, 180, 50),
    "green": (60, 160, 70), "emerald": (30, 150, 100), "lime": (150, 210, 60),
    "olive": (120, 125, 50), "mint": (150, 225, 190), "teal": (30, 130, 130),
    "turquoise": (60, 200, 190), "cyan": (60, 200, 225), "blue": (45, 95, 210),
    "azure": (70, 150, 235), "navy": (25, 40, 110), "indigo": (70, 45, 140),
    "purple": (130, 55, 170), "violet": (150, 90, 210), "lavender": (180, 160, 225),
    "magenta": (210, 50, 170), "pink": (240, 140, 180), "rose": (225, 95, 125),
    "coral": (245, 120, 95), "peach": (250, 180, 140), "brown": (130, 85, 50),
    "bronze": (175, 120, 60), "copper": (185, 100, 55), "beige": (225, 205, 170),
    "cream": (245, 235, 205), "ivory": (250, 245, 225), "white": (245, 245, 245),
    "silver": (195, 200, 210), "grey": (130, 130, 135), "gray": (130, 130, 135),
    "black": (25, 25, 30),
}

#: Scene words and the elements they put in the picture.
FEATURES: dict[str, tuple[str, ...]] = {
    "sea": ("sea",), "ocean": ("sea",), "lake": ("sea",), "water": ("sea",),
    "wave": ("sea",), "river": ("sea", "hills"), "beach": ("sea", "beach"),
    "coast": ("sea", "beach"), "island": ("sea", "hills"), "shore": ("sea", "beach"),
    "mountain": ("mountains",), "alps": ("mountains", "snow"), "peak": ("mountains",),
    "volcano": ("mountains",), "hill": ("hills",), "valley": ("hills", "mountains"),
    "meadow": ("hills", "field"), "field": ("field",), "grass": ("field",),
    "flower": ("field",), "garden": ("field", "forest"), "farm": ("field", "hills"),
    "forest": ("forest",), "wood": ("forest",), "tree": ("forest",), "pine": ("forest",),
    "jungle": ("forest",), "city": ("city",), "town": ("city",), "skyline": ("city",),
    "building": ("city",), "street": ("city",), "skyscraper": ("city",),
    "snow": ("snow",), "winter": ("snow",), "ice": ("snow",), "glacier": ("snow", "mountains"),
    "desert": ("desert",), "dune": ("desert",), "sand": ("desert",), "cloud": ("clouds",),
    "sky": ("clouds",), "space": ("space",), "galaxy": ("space",), "planet": ("space",),
    "nebula": ("space",), "cosmos": ("space",), "universe": ("space",),
}

#: Time words and the light they set ("day" when none is given).
TIMES: dict[str, Time] = {
    "sunset": "sunset", "sunrise": "sunset", "dusk": "sunset", "dawn": "sunset",
    "twilight": "sunset", "evening": "sunset", "night": "night", "midnight": "night",
    "moon": "night", "moonlight": "night", "star": "night", "starry": "night",
}


@dataclass(frozen=True)
class Mood:
    """A global colour adjustment: ``brightness`` and ``saturation`` are factors (1 = as is),
    ``haze`` the share (0..1) of the horizon colour mixed over the whole picture."""

    brightness: float = 1.0
    saturation: float = 1.0
    haze: float = 0.0

    def combine(self, other: Mood) -> Mood:
        """Both adjustments at once: factors multiply, hazes add (at most 0.6)."""
        return Mood(self.brightness * other.brightness, self.saturation * other.saturation,
                    min(0.6, self.haze + other.haze))


#: Mood words and their adjustment.
MOODS: dict[str, Mood] = {
    "dark": Mood(0.7, 0.85), "gloomy": Mood(0.75, 0.7), "stormy": Mood(0.72, 0.75, 0.1),
    "moody": Mood(0.8, 0.85), "eerie": Mood(0.8, 0.8, 0.15), "bright": Mood(1.12, 1.05),
    "sunny": Mood(1.1, 1.1), "happy": Mood(1.08, 1.15), "cheerful": Mood(1.08, 1.15),
    "pastel": Mood(1.05, 0.55, 0.2), "soft": Mood(1.0, 0.8, 0.1), "dreamy": Mood(1.05, 0.7, 0.2),
    "misty": Mood(1.0, 0.75, 0.35), "foggy": Mood(1.0, 0.7, 0.45), "hazy": Mood(1.0, 0.8, 0.3),
    "vivid": Mood(1.0, 1.35), "vibrant": Mood(1.0, 1.35), "neon": Mood(1.0, 1.5),
    "colorful": Mood(1.0, 1.3), "colourful": Mood(1.0, 1.3), "calm": Mood(1.0, 0.9, 0.08),
    "peaceful": Mood(1.0, 0.9, 0.08), "serene": Mood(1.02, 0.9, 0.1),
}


@dataclass(frozen=True)
class Palette:
    """The colours a picture is painted with.

    ``accents`` are the prompt's own colours (its colour words, or one hue drawn from the
    prompt's hash when it has none); the other fields name what each colour paints.
    """

    sky_top: RGB
    sky_horizon: RGB
    sun: RGB
    far: RGB
    land: RGB
    foliage: RGB
    water: RGB
    building: RGB
    window: RGB
    accents: tuple[RGB, ...]


@dataclass(frozen=True)
class Scene:
    """What a prompt asks for: ``features`` to draw (``sea``, ``mountains``, ``forest``...),
    the ``time`` of day, the ``palette`` and ``mood``, whether its colours came from colour
    words (``named_colours``), and ``seed``, a 64-bit integer from the prompt's SHA-256 that
    drives every random choice."""

    features: frozenset[str]
    time: Time
    palette: Palette
    mood: Mood
    named_colours: bool
    seed: int


_BASE: dict[Time, Palette] = {
    "day": Palette((70, 130, 210), (190, 220, 240), (255, 245, 215), (110, 135, 165),
                   (95, 140, 70), (45, 105, 55), (40, 100, 150), (150, 150, 160),
                   (60, 80, 100), ()),
    "sunset": Palette((60, 50, 120), (250, 150, 80), (255, 210, 120), (110, 70, 100),
                      (80, 60, 60), (45, 50, 45), (80, 60, 110), (70, 55, 75),
                      (255, 200, 120), ()),
    "night": Palette((8, 12, 35), (35, 50, 95), (230, 230, 210), (30, 38, 65),
                     (25, 35, 40), (12, 25, 25), (15, 25, 55), (30, 32, 45),
                     (255, 210, 110), ()),
    "space": Palette((3, 3, 12), (25, 15, 50), (240, 230, 200), (90, 70, 120),
                     (60, 50, 80), (30, 30, 50), (40, 40, 90), (50, 50, 70),
                     (200, 220, 255), ()),
}

#: Scene elements that recolour the ground.
_GROUNDS: dict[str, RGB] = {
    "snow": (235, 240, 250),
    "desert": (220, 180, 120),
    "field": (110, 165, 70),
}

#: What an unknown prompt draws: one of these, chosen by the prompt's hash.
_DEFAULT_FEATURES: tuple[tuple[str, ...], ...] = (
    ("hills",), ("mountains",), ("sea",), ("hills", "forest"), ("field", "clouds"),
    ("mountains", "sea"),
)


def prompt_words(prompt: str) -> list[str]:
    """The prompt's words, lower-case letters only, in order."""
    return re.findall(r"[a-z]+", prompt.casefold())


def seed_of(text: str) -> int:
    """A 64-bit seed from the SHA-256 of ``text`` with case and runs of spaces normalised."""
    normal = " ".join(text.casefold().split())
    return int.from_bytes(hashlib.sha256(normal.encode("utf-8")).digest()[:8], "big")


def _lookup(word: str, table: dict[str, object]) -> str | None:
    """The table key ``word`` stands for, allowing a plural ("mountains", "cities")."""
    for candidate in (word, word[:-1] if word.endswith("s") else "",
                      word[:-3] + "y" if word.endswith("ies") else ""):
        if candidate in table:
            return candidate
    return None


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """``a`` moved a share ``t`` (0..1) of the way to ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t),
            round(a[2] + (b[2] - a[2]) * t))


def _hue_colour(seed: int) -> RGB:
    r, g, b = colorsys.hsv_to_rgb((seed % 360) / 360, 0.55, 0.85)
    return (round(r * 255), round(g * 255), round(b * 255))


def describe(prompt: str, *, seed: int | None = None) -> Scene:
    """The scene ``prompt`` asks for.

    ``seed`` (default: `seed_of` the prompt) chooses what an unknown prompt draws and
    every random detail later on.
    """
    seed = seed_of(prompt) if seed is None else seed
    words = prompt_words(prompt)
    features: set[str] = set()
    colours: list[RGB] = []
    time: Time = "day"
    mood = Mood()
    for word in words:
        if (key := _lookup(word, COLOURS)) is not None:
            colours.append(COLOURS[key])
        if (key := _lookup(word, FEATURES)) is not None:
            features.update(FEATURES[key])
        if (key := _lookup(word, TIMES)) is not None and time != "night":
            time = TIMES[key]
        if (key := _lookup(word, MOODS)) is not None:
            mood = mood.combine(MOODS[key])
    if "space" in features:
        time = "space"
    elif not features - {"clouds"}:
        features.update(_DEFAULT_FEATURES[(seed >> 8) % len(_DEFAULT_FEATURES)])
    palette = _BASE[time]
    for feature, ground in _GROUNDS.items():
        if feature in features and time != "space":
            palette = replace(palette, land=mix(ground, palette.land, 0.25 if time == "day"
                                                else 0.6))
    named = bool(colours)
    accents = tuple(colours) or (_hue_colour(seed),)
    strength = 0.45 if named else 0.18
    palette = _tinted(palette, accents, sky=strength,
                      land=strength * (0.3 if "snow" in features else 1.0))
    return Scene(frozenset(features), time, palette, mood, named, seed)


def _tinted(p: Palette, accents: tuple[RGB, ...], *, sky: float, land: float) -> Palette:
    """``p`` with the sky moved a share ``sky`` (0..1) toward the first accent and the land a
    share ``land`` toward the last."""
    top, low = accents[0], accents[-1]
    return Palette(
        sky_top=mix(p.sky_top, top, sky), sky_horizon=mix(p.sky_horizon, top, sky),
        sun=mix(p.sun, top, sky / 3), far=mix(p.far, top, sky / 2),
        land=mix(p.land, low, land), foliage=mix(p.foliage, low, land),
        water=mix(p.water, top, sky), building=mix(p.building, low, land / 2),
        window=p.window, accents=accents,
    )


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def palette_from_colours(colours: Sequence[RGB]) -> Palette:
    """A palette painted with ``colours`` (at least one; e.g. a photo's dominant colours,
    most common first): the lightest ones for the sky, the darkest for the land."""
    if not colours:
        raise ConfigurationError("palette_from_colours needs at least one colour")
    by_light = sorted(colours, key=_luma)
    darkest, lightest = by_light[0], by_light[-1]
    middle = by_light[len(by_light) // 2]
    return Palette(
        sky_top=mix(by_light[-2] if len(by_light) > 1 else lightest, (40, 60, 120), 0.2),
        sky_horizon=mix(lightest, (255, 255, 255), 0.15), sun=mix(lightest, (255, 250, 230), 0.6),
        far=mix(middle, lightest, 0.35), land=middle, foliage=darkest,
        water=mix(middle, (40, 90, 140), 0.3), building=mix(darkest, middle, 0.5),
        window=mix(lightest, (255, 220, 130), 0.5), accents=tuple(colours),
    )


def region_colours(scene: Scene) -> list[RGB]:
    """Fill colours for a sketch's regions: the prompt's colour words with a lighter and a
    darker shade of each when it has any, else the scene palette's main colours."""
    p = scene.palette
    if scene.named_colours:
        return [shade for c in p.accents
                for shade in (c, mix(c, (255, 255, 255), 0.3), mix(c, (0, 0, 0), 0.25))]
    return _unique([p.foliage, p.sky_horizon, p.land, p.water, p.sun, p.far, p.building,
                    *p.accents])


def _unique(colours: Iterable[RGB]) -> list[RGB]:
    return list(dict.fromkeys(colours))
