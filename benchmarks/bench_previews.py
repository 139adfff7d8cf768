"""Benchmark the offline previews (issue 16); prints markdown, asserts nothing.

    .venv/bin/python benchmarks/bench_previews.py            # figures
    .venv/bin/python benchmarks/bench_previews.py --sheet    # and the contact sheet PNG

1. Cut-out IoU: :func:`clipdrop_widgets.engine.background.foreground` (> 0.5) against the
   known alpha of 24 composites (``composites.py``: 4 scikit-image photos cut by drawn shapes,
   over textures, a sky and blurred photos); mean and worst.
2. Inpainting PSNR inside the mask: the engine's ``fast`` and ``quality`` fills beside OpenCV's
   Telea and Navier-Stokes at radius 3, on 5 scikit-image photos (512 px) x 4 random masks of
   strokes and blobs (about 6% of the picture each); median time per fill.
   Also a picture grid (benchmarks/results/inpainting_grid.png) and text to image's time at
   1024x1024 with and without subjects and styles.
3. ``--sheet``: a ``{animal} in {style}`` sweep on the local engine through the project's own
   Sweep and contact sheet, saved as docs/images/offline_previews_sweep.png.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from composites import composites

from clipdrop_widgets.engine import background, inpaint

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
SIDE = 512


def cutout() -> None:
    ious = []
    print("| composite | IoU |\n| --- | --- |")
    for name, photo, alpha in composites():
        fg = background.foreground(Image.fromarray(photo)) > 0.5
        truth = alpha > 0.5
        iou = float((fg & truth).sum() / max(1, (fg | truth).sum()))
        ious.append(iou)
        print(f"| {name} | {iou:.3f} |")
    print(f"\n**cut-out IoU: mean {np.mean(ious):.3f}, worst {min(ious):.3f}** "
          f"(targets 0.93 and 0.85; {len(ious)} composites)\n")


def random_mask(rng: np.random.Generator, side: int) -> np.ndarray:
    """Strokes and blobs covering about 6% of a ``side`` square."""
    mask = np.zeros((side, side), np.uint8)
    while (mask > 0).mean() < 0.06:
        if rng.random() < 0.5:
            pts = np.cumsum(rng.integers(-30, 31, (6, 2)), axis=0) + rng.integers(40, side - 40, 2)
            cv2.polylines(mask, [pts.astype(np.int32)], False, 255, int(rng.integers(6, 18)))
        else:
            centre = tuple(int(v) for v in rng.integers(30, side - 30, 2))
            cv2.circle(mask, centre, int(rng.integers(8, 26)), 255, -1)
    return mask > 0


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    err = np.mean((a[where].astype(np.float64) - b[where].astype(np.float64)) ** 2)
    return float(10 * np.log10(255 ** 2 / max(err, 1e-9)))


def inpainting() -> None:
    from skimage import data

    methods = {
        "engine fast (NS r3)": lambda rgb, hole: inpaint.inpaint_pixels(rgb, hole, mode="fast"),
        "engine quality (Telea+NS r5)":
            lambda rgb, hole: inpaint.inpaint_pixels(rgb, hole, mode="quality"),
        "OpenCV Telea r3": lambda rgb, hole: cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 3,
                                                          cv2.INPAINT_TELEA),
        "OpenCV NS r3": lambda rgb, hole: cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 3,
                                                       cv2.INPAINT_NS),
    }
    rng = np.random.default_rng(16)
    scores = {k: [] for k in methods}
    times = {k: [] for k in methods}
    for name in PHOTOS:
        img = getattr(data, name)()
        img = np.dstack([img] * 3) if img.ndim == 2 else img[..., :3]
        rgb = np.ascontiguousarray(cv2.resize(img, (SIDE, SIDE), interpolation=cv2.INTER_AREA))
        for _ in range(4):
            hole = random_mask(rng, SIDE)
            for k, fn in methods.items():
                t = time.perf_counter()
                out = fn(rgb, hole)
                times[k].append(time.perf_counter() - t)
                scores[k].append(psnr(out, rgb, hole))
    print("| fill | PSNR in the mask (dB), mean | worst | median ms |\n| --- | --- | --- | --- |")
    for k in methods:
        print(f"| {k} | {np.mean(scores[k]):.2f} | {min(scores[k]):.2f} | "
              f"{1000 * statistics.median(times[k]):.1f} |")
    print()
    grid(methods)


def grid(methods: dict) -> None:
    """A picture grid: two photos with a random mask (shown red), then each fill."""
    from skimage import data

    rng = np.random.default_rng(7)
    rows = []
    for name in ("astronaut", "chelsea"):
        rgb = np.ascontiguousarray(cv2.resize(getattr(data, name)()[..., :3], (SIDE, SIDE),
                                              interpolation=cv2.INTER_AREA))
        hole = random_mask(rng, SIDE)
        shown = rgb.copy()
        shown[hole] = (230, 30, 30)
        rows.append(np.hstack([shown] + [fn(rgb, hole) for fn in methods.values()]))
    out = ROOT / "benchmarks/results/inpainting_grid.png"
    size = ((len(methods) + 1) * 256, 2 * 256)
    Image.fromarray(np.vstack(rows)).resize(size, Image.Resampling.LANCZOS).save(out)
    print("columns: mask, " + ", ".join(methods) + f"; saved {out.relative_to(ROOT)}\n")


def timing() -> None:
    from clipdrop_widgets.engine import generate

    print("| text to image, 1024x1024 | median ms |\n| --- | --- |")
    for prompt in ("misty mountains", "a red fox in the snow", "three boats at dusk",
                   "a red fox in watercolour", "a red fox in oil painting",
                   "a red fox in pixel art", "a red fox in pencil"):
        generate.text_to_image(prompt, size=(1024, 1024))
        times = []
        for _ in range(3):
            t = time.perf_counter()
            generate.text_to_image(prompt, size=(1024, 1024))
            times.append(time.perf_counter() - t)
        print(f"| {prompt} | {1000 * statistics.median(times):.0f} |")
    print()


def sheet() -> None:
    import clipdrop_widgets as cw

    animals = ["fox", "cat", "owl", "horse", "whale"]
    styles = ["photo", "pixel art", "watercolour", "oil painting", "ink", "linocut", "pencil"]
    sweep = cw.Sweep(cw.Client(), "text_to_image", template="a {animal} in {style}",
                     variables={"animal": animals, "style": styles})
    sweep.run(progress=False)
    fig = sweep.contact_sheet(rows="animal", cols="style")
    out = ROOT / "docs/images/offline_previews_sweep.png"
    fig.savefig(out, dpi=60)
    print(f"contact sheet: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    cutout()
    inpainting()
    timing()
    if "--sheet" in sys.argv:
        sheet()
