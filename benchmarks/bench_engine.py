"""Benchmark the local engine's image algorithms; prints markdown tables, asserts nothing.

    .venv/bin/python benchmarks/bench_engine.py

1. Cleanup candidates on 1024x1024 photos from ``skimage.data`` with three kinds of mask
   covering about 10% each (one large disc, five blobs, brush strokes): OpenCV Telea and
   Navier-Stokes at radius 3 and 5, their average, and scikit-image's biharmonic method.
   Time is the median over repeats on the astronaut; quality is the mean absolute error
   (0..255 per channel) against the untouched photo inside the mask, per photo and averaged.
2. The five operations through ``operations.run`` (with the preview mark) at typical sizes.

Needs scikit-image (the ``examples`` extra). Times are wall-clock medians on this machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw
from skimage import data
from skimage.restoration import inpaint_biharmonic

from clipdrop_widgets.engine import inpaint, operations

SIDE = 1024
PHOTOS = ("astronaut", "coffee", "chelsea")
REPEATS = 7
SLOW_REPEATS = 3


def median_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up: lazy imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def photo(name: str, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def masks(side: int) -> dict[str, np.ndarray]:
    """Three masks of about 10% of a ``side`` x ``side`` image."""
    s = side / 1024
    disc = np.zeros((side, side), np.uint8)
    cv2.circle(disc, (int(600 * s), int(420 * s)), int(183 * s), 255, -1)
    blobs = np.zeros((side, side), np.uint8)
    for i, (cx, cy) in enumerate([(200, 200), (700, 300), (300, 750), (800, 800), (520, 520)]):
        cv2.ellipse(blobs, (int(cx * s), int(cy * s)), (int(118 * s), int(56 * s)), i * 30, 0,
                    360, 255, -1)
    strokes = np.zeros((side, side), np.uint8)
    path = (np.array([[100, 100], [900, 200], [150, 500], [900, 620], [120, 950]]) * s)
    cv2.polylines(strokes, [path.astype(np.int32)], False, 255, thickness=int(32 * s))
    return {"disc": disc, "blobs": blobs, "strokes": strokes}


def cv_method(flags: list[int], radius: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def fill(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        outs = [cv2.inpaint(rgb, mask, radius, f).astype(np.float32) for f in flags]
        return (sum(outs) / len(outs) + 0.5).astype(np.uint8)
    return fill


def biharmonic(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = inpaint_biharmonic(rgb, mask > 0, channel_axis=-1)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


METHODS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], int]] = {
    "OpenCV Telea r3": (cv_method([cv2.INPAINT_TELEA], 3), REPEATS),
    "OpenCV Telea r5": (cv_method([cv2.INPAINT_TELEA], 5), REPEATS),
    "OpenCV Navier-Stokes r3": (cv_method([cv2.INPAINT_NS], 3), REPEATS),
    "OpenCV Navier-Stokes r5": (cv_method([cv2.INPAINT_NS], 5), REPEATS),
    "mean of Telea and NS r5": (cv_method([cv2.INPAINT_TELEA, cv2.INPAINT_NS], 5), REPEATS),
    "scikit-image biharmonic": (biharmonic, SLOW_REPEATS),
}


def engine_ms(rgb: np.ndarray, hole: np.ndarray, mode: str) -> str:
    return f"{median_ms(lambda: inpaint.inpaint_pixels(rgb, hole, mode=mode)):.0f}"


def cleanup_table() -> None:
    shapes = masks(SIDE)
    photos = {name: photo(name, (SIDE, SIDE)) for name in PHOTOS}
    share = " / ".join(f"{name} {100 * (m > 0).mean():.1f}%" for name, m in shapes.items())
    print(f"### Cleanup, {SIDE}x{SIDE}, masks: {share}\n")
    print("Time: median ms on astronaut. Error: mean absolute error inside the mask, "
          "averaged over " + ", ".join(PHOTOS) + ".\n")
    head = " | ".join(f"{m} ms | {m} error" for m in shapes)
    print(f"| method | {head} | mean error |")
    print("| --- |" + " ---: |" * (2 * len(shapes) + 1))
    for label, (fill, repeats) in METHODS.items():
        cells, errors = [], []
        for mask in shapes.values():
            ms = median_ms(lambda f=fill, m=mask: f(photos["astronaut"], m), repeats)
            hole = mask > 0
            err = statistics.mean(
                float(np.abs(fill(rgb, mask).astype(np.float32) - rgb)[hole].mean())
                for rgb in photos.values())
            errors.append(err)
            cells += [f"{ms:.0f}", f"{err:.1f}"]
        print(f"| {label} | " + " | ".join(cells) + f" | {statistics.mean(errors):.1f} |")
    print()
    print("The engine's modes (bounding-box crop, paste inside the mask), astronaut:\n")
    print("| mode | method | " + " | ".join(f"{m} ms" for m in shapes) + " |")
    print("| --- | --- |" + " ---: |" * len(shapes))
    rgb = photos["astronaut"]
    for mode, (method, radius) in inpaint.METHODS.items():
        cells = [engine_ms(rgb, mask > 0, mode) for mask in shapes.values()]
        print(f"| {mode} | {method} r{radius} | " + " | ".join(cells) + " |")
    print()


def operations_table() -> None:
    print("### The five operations through `operations.run` (preview mark included)\n")
    print("| operation | input | median ms |")
    print("| --- | --- | ---: |")
    sketch = Image.new("L", (512, 512), 0)
    draw = ImageDraw.Draw(sketch)
    draw.ellipse((100, 100, 300, 300), outline=255, width=3)
    draw.rectangle((250, 260, 460, 460), outline=255, width=3)
    draw.line((0, 400, 512, 350), fill=255, width=2)
    cases: list[tuple[str, str, dict[str, str], dict[str, Image.Image]]] = [
        ("text_to_image", "prompt, 512x512 out", {"prompt": "snowy mountains by a lake"}, {}),
        ("text_to_image", "night city prompt", {"prompt": "a city skyline at night"}, {}),
        ("sketch_to_image", "512x512 sketch", {"prompt": "red and blue"},
         {"sketch_file": sketch}),
        ("sketch_to_image", "1024x1024 sketch", {"prompt": "red and blue"},
         {"sketch_file": sketch.resize((1024, 1024))}),
    ]
    shapes = masks(SIDE)
    big = Image.fromarray(photo("astronaut", (SIDE, SIDE)))
    for mode in ("fast", "quality"):
        cases.append(("cleanup", f"1024x1024, 10% blobs, mode={mode}", {"mode": mode},
                      {"image_file": big, "mask_file": Image.fromarray(shapes["blobs"])}))
    wide = Image.fromarray(photo("coffee", (1024, 768)))
    wide_mask = Image.fromarray(masks(1024)["blobs"][:768])
    cases.append(("text_inpainting", "1024x768, blobs mask", {"text_prompt": "green grass"},
                  {"image_file": wide, "mask_file": wide_mask}))
    for size in ((512, 512), (1024, 768), (2048, 1536)):
        image = Image.fromarray(photo("astronaut", size))
        cases.append(("replace_background", f"{size[0]}x{size[1]}",
                      {"prompt": "a beach at sunset"}, {"image_file": image}))
    cases.append(("replace_background", "1024x768, empty prompt", {"prompt": ""},
                  {"image_file": Image.fromarray(photo("astronaut", (1024, 768)))}))
    for name, label, texts, images in cases:
        ms = median_ms(lambda n=name, t=texts, i=images: operations.run(n, t, i), 5)
        print(f"| {name} | {label} | {ms:.0f} |")
    print()


def load() -> str:
    """The 1-minute load average: other work on a shared machine inflates every time."""
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, OpenCV "
          f"{cv2.__version__}, NumPy {np.__version__}; load average at start {load()}\n")
    cleanup_table()
    operations_table()
    print(f"Load average at the end: {load()}")


if __name__ == "__main__":
    main()
