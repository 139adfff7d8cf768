"""Benchmark the local engine's previews of the six later operations (issue 23); prints
markdown, asserts nothing.

    .venv/bin/python benchmarks/bench_photo_operations.py

1. Engine time per preview (`operations.run`: the operation and its offline-preview mark; no
   HTTP, no encoding) on a 1 MP (1000x1000) and a 4 MP (2000x2000) photo, the median of 3
   runs after one warm-up: the CPU time of this process with OpenCV on one thread (what one
   quiet core would take; wall time on the shared 2 cores is given beside it). Targets
   (issue 23): remove background < 300 ms at 1 MP, the rest
   < 500 ms. Uncrop extends by a quarter on the left and the top; upscale doubles each side.
2. Cut-out IoU: remove background's alpha (> 127) against the known alpha of 24 composites
   made from photos of kinds the tests never use (a motorcycle, stained tissue, a retina, a
   colour wheel, cut by the drawn shapes of ``composites.py``) over a galaxy field, the moon,
   a clock, cells and blurred photos; mean and worst.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

sys.path.insert(0, str(Path(__file__).parent))
from composites import SHAPES, _fit, shape

from clipdrop_widgets.engine import cutout, operations

SIDE = 384
SUBJECTS = ("motorcycle", "immunohistochemistry", "retina", "colorwheel")
BACKGROUNDS = ("hubble_deep_field", "moon", "clock", "cell", "motorcycle_blur",
               "retina_blur")


def _photo(name: str) -> np.ndarray:
    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    img = getattr(data, name)()
    return np.dstack([img] * 3) if img.ndim == 2 else img[..., :3]


def _background(name: str, size: tuple[int, int]) -> np.ndarray:
    if name.endswith("_blur"):
        return cv2.GaussianBlur(_fit(_photo(name[:-5]), size), (0, 0), 6)
    return _fit(_photo(name), size)


def composites() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(23)
    size = (SIDE, SIDE)
    for i, subject in enumerate(SUBJECTS):
        fill = _fit(_photo(subject), size).astype(np.float32)
        for j, back_name in enumerate(BACKGROUNDS):
            if back_name.startswith(subject):
                back_name = "immunohistochemistry_blur"
            name = SHAPES[(i + j) % len(SHAPES)]
            alpha = shape(name, size, rng)
            back = _background(back_name, size).astype(np.float32)
            photo = back + alpha[..., None] * (fill - back)
            yield (f"{subject}/{name} over {back_name}",
                   np.clip(photo + 0.5, 0, 255).astype(np.uint8), alpha)


def iou() -> None:
    print("| composite | IoU |\n| --- | --- |")
    ious = []
    for name, photo, alpha in composites():
        cut = np.asarray(cutout.remove_background(Image.fromarray(photo)).getchannel("A")) > 127
        truth = alpha > 0.5
        ious.append(float((cut & truth).sum() / max(1, (cut | truth).sum())))
        print(f"| {name} | {ious[-1]:.3f} |")
    print(f"\n**remove background cut-out IoU: mean {statistics.mean(ious):.3f}, worst "
          f"{min(ious):.3f}** ({len(ious)} composites)\n")


CALLS = {
    "remove_background": lambda w, h: {},
    "uncrop": lambda w, h: {"extend_left": str(w // 4), "extend_up": str(h // 4), "seed": "1"},
    "upscale": lambda w, h: {"target_width": str(2 * w), "target_height": str(2 * h)},
    "reimagine": lambda w, h: {},
    "portrait_depth": lambda w, h: {},
    "portrait_normals": lambda w, h: {},
}


def timing() -> None:
    portrait = data.astronaut()
    cv2.setNumThreads(1)
    print("| preview | 1 MP median CPU ms | 4 MP median CPU ms | target at 1 MP |\n"
          "| --- | --- | --- | --- |")
    for name, texts in CALLS.items():
        row = []
        for side in (1000, 2000):
            image = Image.fromarray(cv2.resize(portrait, (side, side),
                                               interpolation=cv2.INTER_CUBIC))
            args = texts(side, side)
            operations.run(name, args, {"image_file": image})
            cpu, wall = [], []
            for _ in range(3):
                t, c = time.perf_counter(), time.process_time()
                operations.run(name, args, {"image_file": image})
                cpu.append(time.process_time() - c)
                wall.append(time.perf_counter() - t)
            row.append(f"{1000 * statistics.median(cpu):.0f} "
                       f"({1000 * statistics.median(wall):.0f} wall)")
        target = "< 300 ms" if name == "remove_background" else "< 500 ms"
        print(f"| {name} | {row[0]} | {row[1]} | {target} |")
    print(f"\nload average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")


if __name__ == "__main__":
    timing()
    iou()
