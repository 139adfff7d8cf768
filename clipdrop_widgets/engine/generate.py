"""Pictures from words: the engine's text to image and sketch to image.

`render_scene` paints a `Scene` (sky gradient,
sun or moon, stars, clouds, mountains, hills, a city skyline, sea, beach, desert, snow, forest)
with vectorised NumPy; `texture` paints a tileless pattern in a scene's colours. Both
draw every random detail from a generator seeded by the scene's seed, so the same prompt always
gives the same pixels. Arrays are float32 ``(height, width, 3)`` in 0..1; sizes are
``(width, height)`` in pixels, as Pillow gives them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from ..contract.validation import has_alpha
from .palette import RGB, Scene, describe, mix, region_colours, seed_of
from .styles import style_of, stylise, without_style
from .subjects import CREDIT, Subject, draw_subjects, find_subjects

__all__ = ["render_scene", "texture", "text_to_image", "sketch_to_image", "to_image"]

Array = np.ndarray


# -- noise -----------------------------------------------------------------------------------

def _positions(n: int, cells: float, offset: float) -> tuple[Array, Array, int]:
    """Where ``n`` evenly spaced samples fall on a grid ``cells`` wide, starting ``offset``
    (0..1) of a cell in: the grid index left of each, the smoothstep weight of the next one,
    and the grid length needed."""
    t = (np.arange(n, dtype=np.float32) + 0.5) / n * cells + offset
    i = np.floor(t).astype(np.intp)
    f = t - i
    return i, f * f * (3 - 2 * f), int(np.ceil(cells)) + 2


def fbm(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[float, float], *,
        octaves: int = 4) -> Array:
    """Fractal value noise of ``shape`` (rows, columns) in about -1..1; ``cells`` is the
    coarsest grid (rows, columns), doubled at each of ``octaves``. Interpolated by gathers,
    not matrix products, so it never waits for a BLAS thread pool."""
    h, w = shape
    total = np.zeros(shape, np.float32)
    amplitude, norm = 1.0, 0.0
    cy, cx = cells
    for _ in range(octaves):
        iy, fy, gh = _positions(h, cy, rng.random())
        ix, fx, gw = _positions(w, cx, rng.random())
        grid = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
        rows = amplitude * (grid[iy] + fy[:, None] * (grid[iy + 1] - grid[iy]))
        left, right = np.take(rows, ix, axis=1), np.take(rows, ix + 1, axis=1)
        right -= left
        right *= fx
        total += left
        total += right
        norm += amplitude
        amplitude *= 0.5
        cy, cx = cy * 2, cx * 2
    return total / norm


def _fbm1(rng: np.random.Generator, n: int, cells: float, *, octaves: int = 5) -> Array:
    """Fractal value noise along a line of ``n`` samples, about -1..1."""
    return fbm(rng, (1, n), (1, cells), octaves=octaves)[0]


def _smoothstep(a: float, b: float, v: Array) -> Array:
    t = np.clip((v - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


def _c(colour: RGB) -> Array:
    return np.asarray(colour, np.float32) / 255


def _paint(img: Array, alpha: Array, colour: Array) -> None:
    """Blend ``colour`` (3 values or an image) over ``img`` in place with ``alpha`` (H, W)."""
    img += alpha[..., None] * (colour - img)


def to_image(pixels: Array) -> Image.Image:
    """A float image in 0..1 as an 8-bit RGB `PIL.Image.Image`."""
    return Image.fromarray((np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


# -- the scene ------------------------------------------------------------------------------

class _Canvas:
    """One rendering: the image, pixel-centre coordinates and the seeded generator.

    ``y`` runs 0 (top) to 1 (bottom) as a column, ``x`` 0 to 1 as a row; distances across are
    multiplied by ``aspect`` (width / height) so shapes stay round.
    """

    def __init__(self, scene: Scene, size: tuple[int, int]):
        self.scene = scene
        self.w, self.h = size
        self.aspect = self.w / self.h
        self.rng = np.random.default_rng(scene.seed)
        self.y = ((np.arange(self.h, dtype=np.float32) + 0.5) / self.h)[:, None]
        self.x = ((np.arange(self.w, dtype=np.float32) + 0.5) / self.w)[None, :]
        f = scene.features
        self.horizon = 1.0 if scene.time == "space" else float(
            (0.52 if "sea" in f else 0.7 if "city" in f else 0.6) + 0.06 * self.rng.random())
        self.sun = (0.2 + 0.6 * float(self.rng.random()),
                    self.horizon - 0.05 if scene.time == "sunset"
                    else 0.12 + 0.15 * float(self.rng.random()))
        self.img = np.empty((self.h, self.w, 3), np.float32)
        self.has_sun = scene.time in ("sunset", "night") or self.rng.random() < 0.65

    def ridge(self, cells: float, *, octaves: int = 5) -> Array:
        """A random skyline profile (1, W) spanning exactly 0..1."""
        line = _fbm1(self.rng, self.w, cells * self.aspect, octaves=octaves)
        return ((line - line.min()) / max(float(np.ptp(line)), 1e-6))[None, :]


def _sky(c: _Canvas) -> None:
    p = c.scene.palette
    t = np.clip(c.y / c.horizon, 0, 1) ** 0.9
    c.img[:] = _c(p.sky_top) + t[..., None] * (_c(p.sky_horizon) - _c(p.sky_top))


def _clouds(c: _Canvas) -> None:
    p, time = c.scene.palette, c.scene.time
    n = fbm(c.rng, (c.h, c.w), (3, 5 * c.aspect), octaves=5)
    fade = _smoothstep(0, 0.15, c.horizon - c.y)
    cover = _smoothstep(0.05, 0.45, n) * fade
    colour = {"day": (248, 248, 252), "sunset": mix(p.sun, p.sky_top, 0.35),
              "night": (55, 62, 85)}.get(time, p.far)
    shade = 1 - 0.15 * _smoothstep(0.2, 0.6, n)[..., None]
    _paint(c.img, cover * 0.85, _c(colour) * shade)


def _sun(c: _Canvas) -> None:
    p, time = c.scene.palette, c.scene.time
    sx, sy = c.sun
    d = np.sqrt(((c.x - sx) * c.aspect) ** 2 + (c.y - sy) ** 2)
    radius = 0.08 if time == "sunset" else 0.05
    glow = {"day": 0.35, "sunset": 0.65, "night": 0.2}.get(time, 0.2)
    _paint(c.img, glow * np.exp(-((d / (radius * 4)) ** 2)), _c(p.sun))
    _paint(c.img, np.clip((radius - d) * c.h / 1.5, 0, 1), _c(p.sun))


def _stars(c: _Canvas) -> None:
    n = int(c.w * c.h / (300 if c.scene.time == "space" else 650))
    ys = c.rng.integers(0, max(1, int(c.h * c.horizon)), n)
    xs = c.rng.integers(0, c.w, n)
    light = (0.25 + 0.75 * c.rng.random(n) ** 3).astype(np.float32)[:, None]
    c.img[ys, xs] = np.maximum(c.img[ys, xs], light * np.float32([1.0, 0.97, 0.9]))


def _nebula_and_planet(c: _Canvas) -> None:
    p = c.scene.palette
    n = fbm(c.rng, (c.h, c.w), (2, 2 * c.aspect), octaves=5)
    _paint(c.img, 0.55 * _smoothstep(0.0, 0.7, n), _c(p.accents[0]))
    px, radius = 0.25 + 0.5 * float(c.rng.random()), 0.32
    py = 1.05
    dx, dy = (c.x - px) * c.aspect / radius, (c.y - py) / radius
    r2 = dx * dx + dy * dy
    bands = 0.85 + 0.15 * np.sin(dy * 14 + 2 * fbm(c.rng, (c.h, c.w), (3, 3), octaves=2))
    light = np.clip(0.35 + 0.65 * (-(dx * 0.6) - dy * 0.8) / np.sqrt(r2 + 1e-6), 0.15, 1)
    surface = _c(mix(p.land, p.accents[-1], 0.5)) * (bands * light)[..., None]
    _paint(c.img, 0.5 * np.exp(-(((np.sqrt(r2) - 1) * 14) ** 2)), _c(p.sky_horizon))
    _paint(c.img, np.clip((1 - np.sqrt(r2)) * radius * c.h / 1.5, 0, 1), surface)


def _range(c: _Canvas, *, amp: float, cells: float, colour: RGB, snow: bool,
           octaves: int = 5) -> None:
    """One layer of mountains or hills standing on the horizon; ``amp`` in picture heights."""
    ridge = c.horizon - amp * (0.3 + 0.7 * c.ridge(cells, octaves=octaves))
    alpha = np.clip((c.y - ridge) * c.h, 0, 1)
    depth = np.clip((c.y - ridge) / (c.horizon - ridge + 1e-6), 0, 1)
    body = _c(colour) * (1 - 0.18 * depth)[..., None]
    if snow:
        line = c.horizon - amp * (0.72 + 0.08 * c.ridge(cells * 3, octaves=3))
        cap = np.clip((line - c.y) * c.h / 2, 0, 1)[..., None]
        body = body + cap * (_c((240, 244, 250)) * (1 - 0.12 * depth[..., None]) - body)
    _paint(c.img, alpha, body)


def _mountains(c: _Canvas) -> None:
    p = c.scene.palette
    snowy = "snow" in c.scene.features or c.rng.random() < 0.5
    for k in range(3):
        colour = mix(mix(p.far, p.land, 0.3 * k), p.sky_horizon, 0.5 - 0.2 * k)
        _range(c, amp=0.34 - 0.08 * k, cells=2 + 1.5 * k, colour=colour, snow=snowy and k < 2)


def _hills(c: _Canvas) -> None:
    p = c.scene.palette
    for k in range(2):
        colour = mix(mix(p.foliage, p.land, 0.5), p.sky_horizon, 0.35 - 0.25 * k)
        _range(c, amp=0.12 - 0.04 * k, cells=1.2 + k, colour=colour, snow=False, octaves=2)


def _city(c: _Canvas) -> None:
    p, time, rng = c.scene.palette, c.scene.time, c.rng
    widths = []
    while sum(widths) < c.w:
        widths.append(max(3, int(c.w * rng.uniform(0.025, 0.07))))
    n = len(widths)
    left = np.concatenate([[0], np.cumsum(widths)[:-1]])
    tall = rng.random(n) < 0.15
    height = np.where(tall, rng.uniform(0.3, 0.45, n), rng.uniform(0.06, 0.28, n))
    tone = rng.uniform(0.7, 1.15, n).astype(np.float32)
    cols = np.arange(c.w)
    idx = np.searchsorted(left, cols, side="right") - 1
    top = (c.horizon - height[idx])[None, :]
    inside = (c.y >= top) & (c.y < c.horizon + 0.002)
    body = _c(p.building) * tone[idx][None, :, None] * (1 - 0.2 * (c.y - top))[..., None]
    # windows: a grid inside each building, some lit
    pitch = max(3, round(0.014 * c.h))
    lx = cols - left[idx]
    ly = np.arange(c.h)[:, None] - np.round(top * c.h).astype(np.intp)
    wx = (lx % pitch >= 1) & (lx % pitch < max(2, pitch * 0.6)) & (lx >= pitch)
    wx &= lx < np.asarray(widths)[idx] - pitch // 2
    wy = (ly % pitch >= 1) & (ly % pitch < max(2, pitch * 0.6)) & (ly >= pitch)
    lit_share = {"night": 0.45, "sunset": 0.25}.get(time, 0.0)
    lit = rng.random((n, c.h // pitch + 2, c.w // pitch + 2)) < lit_share
    row = np.clip(ly // pitch, 0, lit.shape[1] - 1)
    window = wy & wx[None, :] & inside
    on = window & lit[idx[None, :], row, (lx // pitch)[None, :]]
    dark = _c(mix(p.building, (30, 40, 60), 0.5))
    body = np.where(window[..., None], dark, body)
    body = np.where(on[..., None], _c(p.window), body)
    _paint(c.img, inside.astype(np.float32), body)


def _ground(c: _Canvas) -> None:
    p, f = c.scene.palette, c.scene.features
    below = (c.y >= c.horizon).astype(np.float32) * np.ones((1, c.w), np.float32)
    gy = np.clip((c.y - c.horizon) / (1 - c.horizon), 0, 1)
    n = fbm(c.rng, (c.h, c.w), (4, 8 * c.aspect), octaves=4)
    shade = 1 + 0.1 * n
    if "field" in f:
        shade += 0.1 * fbm(c.rng, (c.h, c.w), (3, 60 * c.aspect), octaves=2)
    if "desert" in f:
        shade += 0.12 * np.sin(2 * np.pi * (gy * 6 + 0.5 * n))
    land = _c(p.land) * shade[..., None]
    land = land + (0.35 * (1 - gy) ** 3)[..., None] * (_c(p.sky_horizon) - land)
    _paint(c.img, below, land)


def _sea(c: _Canvas) -> None:
    p = c.scene.palette
    gy = np.clip((c.y - c.horizon) / (1 - c.horizon), 0, 1)
    below = (c.y >= c.horizon).astype(np.float32) * np.ones((1, c.w), np.float32)
    mirror = np.clip((2 * c.horizon - c.y) / c.horizon, 0, 1) ** 0.9
    sky = _c(p.sky_top) + mirror[..., None] * (_c(p.sky_horizon) - _c(p.sky_top))
    deep = _c(p.water) * (1 - 0.25 * gy)[..., None]
    water = deep + 0.35 * (sky - deep)
    n = fbm(c.rng, (c.h, c.w), (6, 3 * c.aspect), octaves=3)
    chop = fbm(c.rng, (c.h, c.w), (40, 6 * c.aspect), octaves=2)
    waves = np.sin(2 * np.pi * (np.sqrt(gy) * 45 + 2.5 * n + 0.6 * chop))
    water = water * (1 + 0.07 * waves)[..., None]
    if c.has_sun:
        sx = c.sun[0]
        column = np.abs(c.x - sx) * c.aspect < 0.02 + 0.12 * gy
        glint = column * _smoothstep(0.3, 0.9, waves) * (1 - 0.5 * gy)
        water = water + (0.7 * glint)[..., None] * (_c(p.sun) - water)
    _paint(c.img, below, water)
    if "beach" in c.scene.features:
        shore = 0.8 + 0.05 * c.ridge(1.5, octaves=3)
        sand = _c(mix((225, 200, 160), p.land, 0.2)) * (1 + 0.06 * n)[..., None]
        _paint(c.img, 0.8 * np.exp(-(((c.y - shore) * c.h / 3) ** 2)), _c((245, 248, 250)))
        _paint(c.img, np.clip((c.y - shore) * c.h, 0, 1), sand)


def _forest(c: _Canvas) -> None:
    p, rng = c.scene.palette, c.rng
    rows = [(c.horizon + 0.01, 0.06, 0.45)]
    if "sea" not in c.scene.features:
        rows.append((c.horizon + 0.45 * (1 - c.horizon), 0.16, 0.0))
    for base, size, haze in rows:
        colour = mix(p.foliage, p.sky_horizon, haze)
        x = 0.0
        while x < 1.0:
            height = size * rng.uniform(0.6, 1.4)
            x += height * rng.uniform(0.25, 0.5) / c.aspect
            _tree(c, x, base, height, mix(colour, (0, 0, 0), float(rng.uniform(0, 0.3))))


def _tree(c: _Canvas, cx: float, base: float, height: float, colour: RGB) -> None:
    """A conifer: stacked tiers narrowing to the top, drawn in its own bounding box."""
    half = height * 0.3
    y0, y1 = max(0, int((base - height) * c.h)), min(c.h, int(base * c.h) + 1)
    x0 = max(0, int((cx - half / c.aspect) * c.w))
    x1 = min(c.w, int((cx + half / c.aspect) * c.w) + 2)
    if y0 >= y1 or x0 >= x1:
        return
    u = np.clip((base - c.y[y0:y1]) / height, 0, 1)
    tiers = 0.65 + 0.35 * ((u * 4) % 1)
    width = half * (1 - u) * tiers
    dist = np.abs(c.x[:, x0:x1] - cx) * c.aspect
    alpha = np.clip((width - dist) * c.h + 0.5, 0, 1) * (c.y[y0:y1] <= base)
    block = c.img[y0:y1, x0:x1]
    _paint(block, alpha, _c(colour) * (0.85 + 0.3 * (1 - u))[..., None])


def _mood(c: _Canvas) -> None:
    m, img = c.scene.mood, c.img
    luma = img @ np.float32([0.299, 0.587, 0.114])
    img[:] = luma[..., None] + m.saturation * (img - luma[..., None])
    img *= m.brightness
    if m.haze:
        img += m.haze * (_c(c.scene.palette.sky_horizon) - img)
    r2 = ((c.x - 0.5) * 2) ** 2 + ((c.y - 0.5) * 2) ** 2
    img *= (1 - 0.12 * r2 / 2)[..., None]
    img += (c.rng.random((c.h, c.w, 1), np.float32) - 0.5) * (2.5 / 255)


def render_scene(scene: Scene, size: tuple[int, int], *,
                 subjects: list[Subject] | None = None) -> Array:
    """``scene`` painted at ``size`` (width, height) pixels: float32 (H, W, 3) in 0..1, with
    ``subjects`` (default none) drawn into it before the mood's colour pass; a sea gets a
    beach when a subject stands on the ground, and a subject of the water brings a sea."""
    places = {s.place for s in subjects or ()}
    if "water" in places and "sea" not in scene.features:
        scene = replace(scene, features=scene.features | {"sea"})
    elif "ground" in places and "sea" in scene.features:  # something to stand on
        scene = replace(scene, features=scene.features | {"beach"})
    c = _Canvas(scene, size)
    f, time = scene.features, scene.time
    _sky(c)
    if time == "space":
        _nebula_and_planet(c)
        _stars(c)
    else:
        if time == "night":
            _stars(c)
        if c.has_sun:
            _sun(c)
        if "clouds" in f or (time != "night" and c.rng.random() < 0.5):
            _clouds(c)
        if "mountains" in f:
            _mountains(c)
        if "hills" in f:
            _hills(c)
        if "city" in f:
            _city(c)
        _ground(c)
        if "sea" in f:
            _sea(c)
        if "forest" in f:
            _forest(c)
    if subjects:
        draw_subjects(c.img, subjects, horizon=min(c.horizon, 0.8), seed=scene.seed,
                      lit=time in ("sunset", "night"))
    _mood(c)
    return np.clip(c.img, 0, 1)


def text_to_image(prompt: str, *, size: tuple[int, int] = (512, 512)) -> Image.Image:
    """A landscape painted from ``prompt``'s words, ``size`` (width, height) pixels, RGB.

    The things the prompt names (see `find_subjects`) stand in it, and its
    style words (see `style_of`) choose the rendering of a scene seeded by
    the other words, so one subject in two styles is one picture rendered twice. When emoji
    were drawn, ``image.info["credit"]`` names their source, for the preview mark to show.
    """
    subject = without_style(prompt)  # the same scene in every style
    scene = describe(prompt, seed=seed_of(subject))
    subjects = find_subjects(subject)
    pixels = stylise(render_scene(scene, size, subjects=subjects), style_of(prompt),
                     seed=scene.seed)
    image = to_image(pixels)
    if any(s.glyph != "lighthouse" for s in subjects):
        image.info["credit"] = CREDIT
    return image


# -- textures and sketches ----------------------------------------------------------------

def _gradient_map(values: Array, colours: list[RGB]) -> Array:
    """``values`` (0..1) coloured along ``colours`` ordered dark to light."""
    ordered = sorted(colours, key=lambda c: 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])
    stops = np.linspace(0, 1, len(ordered))
    table = np.asarray(ordered, np.float32) / 255
    return np.stack([np.interp(values, stops, table[:, k]) for k in range(3)],
                    axis=-1).astype(np.float32)


def _texture_colours(scene: Scene) -> list[RGB]:
    p, f = scene.palette, scene.features
    if scene.named_colours:
        return region_colours(scene)
    if "sea" in f:
        return [mix(p.water, (0, 0, 0), 0.3), p.water, p.sky_horizon]
    if {"forest", "field", "hills"} & f:
        return [mix(p.foliage, (0, 0, 0), 0.3), p.foliage, p.land, mix(p.land, p.sun, 0.4)]
    if "city" in f:
        return [mix(p.building, (0, 0, 0), 0.4), p.building, mix(p.building, p.window, 0.4)]
    return region_colours(scene)[:3]


def texture(scene: Scene, size: tuple[int, int]) -> Array:
    """A pattern in ``scene``'s colours, ``size`` (width, height) pixels, float32 (H, W, 3).

    Its grain is about 64 pixels whatever the size; its kind follows the scene: ripples for
    water, vertical streaks for grass and forest, bricks for a city, dunes for a desert,
    specks of light at night, soft clouds otherwise.
    """
    w, h = size
    rng = np.random.default_rng(scene.seed ^ 0x7E47)
    f = scene.features
    cells = (max(1.0, h / 64), max(1.0, w / 64))
    n = fbm(rng, (h, w), cells, octaves=4)
    y = np.arange(h, dtype=np.float32)[:, None]
    x = np.arange(w, dtype=np.float32)[None, :]
    if "sea" in f:
        n = 0.5 * n + 0.5 * np.sin(y / 5 + 3 * n)
    elif {"forest", "field", "hills"} & f:
        n = 0.4 * n + 0.6 * fbm(rng, (h, w), (cells[0] / 2, cells[1] * 6), octaves=2)
    elif "city" in f:
        course = (y // 10) % 2
        joint = ((y % 10) < 1.5) | (((x + 12 * course) % 24) < 1.5)
        n = np.where(joint, -0.8, 0.3 + 0.3 * n)
    elif "desert" in f:
        n = 0.4 * n + 0.6 * np.sin(y / 9 + x / 40 + 4 * n)
    values = np.clip(0.5 + 0.6 * n, 0, 1)
    out = _gradient_map(values, _texture_colours(scene))
    if scene.time in ("night", "space"):
        stars = rng.random((h, w)) < 0.004
        out[stars] = 1.0
    return out


def _line_weight(sketch: Image.Image) -> Array:
    """How much of a line each pixel is (0..1): white on black, transparency read as black."""
    if has_alpha(sketch):
        rgba = sketch.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        sketch = Image.alpha_composite(black, rgba)
    return np.asarray(sketch.convert("L"), np.float32) / 255


def sketch_to_image(sketch: Image.Image, prompt: str) -> Image.Image:
    """The sketch coloured from ``prompt``: its white lines drawn as dark contours, and each
    region they enclose (a 4-connected component of the rest) filled with a colour from the
    prompt's palette, lit from the top left and shaded darker toward its edges, then rendered
    in the prompt's style (see `stylise`) when it names one. RGB, the sketch's
    size."""
    import cv2

    scene = describe(prompt)
    weight = _line_weight(sketch)
    h, w = weight.shape
    open_area = (weight < 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(open_area, connectivity=4)
    # label 0 is the lines; colour the regions largest first, from a seeded start
    colours = np.asarray(region_colours(scene), np.float32) / 255
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable") + 1
    fill = np.zeros((count, 3), np.float32)
    start = scene.seed % len(colours)
    fill[order] = colours[(start + np.arange(count - 1)) % len(colours)]
    # lighting: a diagonal gradient across each region's bounding box
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw = np.maximum(stats[:, cv2.CC_STAT_WIDTH], 1)
    bh = np.maximum(stats[:, cv2.CC_STAT_HEIGHT], 1)
    u = (np.arange(w)[None, :] - left[labels]) / bw[labels]
    v = (np.arange(h)[:, None] - top[labels]) / bh[labels]
    light = 1.15 - 0.3 * (0.5 * u + 0.5 * v)
    # soft edges: darker within a few pixels of a line
    dist = cv2.distanceTransform(open_area, cv2.DIST_L2, 3)
    edge = 0.78 + 0.22 * np.clip(dist / max(3.0, 0.015 * max(h, w)), 0, 1)
    grain = 1 + 0.04 * fbm(np.random.default_rng(scene.seed), (h, w), (h / 48, w / 48),
                           octaves=3)
    img = fill[labels] * (light * edge * grain)[..., None].astype(np.float32)
    ink = _c(mix(scene.palette.accents[0], (0, 0, 0), 0.88))
    _paint(img, weight, ink)
    style = style_of(prompt)
    return to_image(img if style == "photo" else stylise(img, style, seed=scene.seed))
