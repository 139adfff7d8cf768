"""Widget costs on the kernel side: Python time per stroke batch, bytes per stroke and per
divider move. Prints a markdown table (no assertions). Browser latency is measured by the
browser tests, not here.

    .venv/bin/python benchmarks/bench_widgets.py

Strokes are fed exactly as ``ink.js`` sends them (float32 batches of about a dozen points,
the last one final); bytes are counted where ipywidgets hands messages to the comm.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets
import numpy as np
from ipywidgets.widgets import widget as widget_module
from PIL import Image

from clipdrop_widgets.widgets import CompareSlider, MaskPainter, SketchPad

POINTS_PER_BATCH = 12  # ~100 ms of a fast drag at 8 ms per coalesced point
STROKE_POINTS = 200
REPEATS = 30


def nbytes(buffers: list | None) -> int:
    return sum(memoryview(b).nbytes for b in buffers or [])


@contextmanager
def counting_bytes() -> Iterator[list[int]]:
    """Bytes sent towards the browser inside the block (JSON content plus binary buffers)."""
    sizes: list[int] = []
    real_send = ipywidgets.Widget._send
    real_create = widget_module.comm.create_comm

    def send(self: ipywidgets.Widget, msg: dict, buffers: list | None = None) -> None:
        sizes.append(len(json.dumps(msg, default=str)) + nbytes(buffers))

    def create_comm(**kwargs: Any) -> Any:
        sizes.append(len(json.dumps(kwargs.get("data"), default=str))
                     + nbytes(kwargs.get("buffers")))
        return real_create(**kwargs)

    ipywidgets.Widget._send = send  # type: ignore[method-assign]
    widget_module.comm.create_comm = create_comm
    try:
        yield sizes
    finally:
        ipywidgets.Widget._send = real_send  # type: ignore[method-assign]
        widget_module.comm.create_comm = real_create


def stroke(n: int, *, x0: float, x1: float, y: float, amplitude: float,
           phase: float = 0.0) -> np.ndarray:
    t = np.linspace(0, 1, n)
    return np.c_[x0 + (x1 - x0) * t, y + amplitude * np.sin(6 * t + phase)].astype(np.float32)


def messages(points: np.ndarray, *, width: float, tool: str,
             stroke_id: str) -> list[tuple[dict[str, Any], list[memoryview]]]:
    chunks = [points[i : i + POINTS_PER_BATCH] for i in range(0, len(points), POINTS_PER_BATCH)]
    return [({"type": "points", "id": stroke_id, "tool": tool, "width": width,
              "final": i == len(chunks) - 1, "n": len(c)}, [memoryview(c.tobytes())])
            for i, c in enumerate(chunks)]


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def bench_painter(widget: Any, *, width: float, tool: str, area: tuple[float, float],
                  ) -> dict[str, float]:
    """Median times for one intermediate batch and a whole stroke; bytes per stroke."""
    w, h = area
    batch_times, stroke_times, stroke_bytes = [], [], []
    for i in range(REPEATS):
        pts = stroke(STROKE_POINTS, x0=0.05 * w, x1=0.95 * w, y=h * (0.2 + 0.6 * i / REPEATS),
                     amplitude=0.15 * h, phase=i)
        msgs = messages(pts, width=width, tool=tool, stroke_id=f"bench-{i}")
        with counting_bytes() as sizes:
            start = time.perf_counter()
            for content, buffers in msgs:
                t0 = time.perf_counter()
                widget._handle_ink_message(content, buffers)
                if not content["final"]:
                    batch_times.append(time.perf_counter() - t0)
            stroke_times.append(time.perf_counter() - start)
        stroke_bytes.append(sum(sizes))
    return {"batch_ms": median_ms(batch_times), "stroke_ms": median_ms(stroke_times),
            "bytes": statistics.median(stroke_bytes)}


def timed(action: Callable[[], object], repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        action()
        samples.append(time.perf_counter() - t0)
    return median_ms(samples)


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like test image: smooth colour fields plus sensor-like noise."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(base) + noise, 0, 255).astype(np.uint8))


def main() -> None:
    rows: list[tuple[str, str]] = []

    pad = SketchPad()
    sketch = bench_painter(pad, width=6, tool="pen", area=(512, 512))
    rows += [
        ("SketchPad 512x512: one ink batch (12 points)", f"{sketch['batch_ms']:.3f} ms"),
        ("SketchPad: whole 200-point stroke (17 messages)", f"{sketch['stroke_ms']:.2f} ms"),
        ("SketchPad: bytes sent per stroke", f"{sketch['bytes']:,.0f} B"),
        ("SketchPad: to_image() at 1024 (30 strokes)", f"{timed(pad.to_image):.1f} ms"),
    ]

    big = photo(4000, 3000, 1)
    t0 = time.perf_counter()
    painter = MaskPainter(big)
    open_ms = 1000 * (time.perf_counter() - t0)
    shown = painter.display_size
    mask = bench_painter(painter, width=24, tool="brush", area=shown)
    rows += [
        ("MaskPainter 4000x3000 (12 MP): open the photo", f"{open_ms:.0f} ms"),
        ("MaskPainter 12 MP: one ink batch (12 points)", f"{mask['batch_ms']:.3f} ms"),
        ("MaskPainter 12 MP: whole 200-point stroke (17 messages)",
         f"{mask['stroke_ms']:.2f} ms"),
        ("MaskPainter 12 MP: bytes sent per stroke", f"{mask['bytes']:,.0f} B"),
    ]
    with counting_bytes() as sizes:
        grow_ms = timed(lambda: (painter.grow(), painter.undo()), repeats=3)
    rows += [
        ("MaskPainter 12 MP: grow 15% + undo, with both redraws", f"{grow_ms:.0f} ms"),
        ("MaskPainter 12 MP: bytes per mask redraw (RGBA PNG, 768x576)",
         f"{statistics.median(s for s in sizes if s > 1000):,.0f} B"),
        ("MaskPainter 12 MP: .mask (native L image)",
         f"{timed(lambda: painter.mask):.1f} ms"),
    ]

    before, after = photo(1024, 1024, 2), photo(1024, 1024, 3)
    compare = CompareSlider(before, after)
    after_bytes = len(compare._sent["after"].view.value)
    positions = np.linspace(0.05, 0.95, 50)
    with counting_bytes() as sizes:
        for p in positions:
            compare._slider.value = float(p)
    move_bytes = sum(sizes) / len(positions)
    rows += [
        ("CompareSlider 1024² pair in a 768² frame: after image sent once",
         f"{after_bytes:,} B"),
        ("CompareSlider: bytes per divider move (draw command + slider echo)",
         f"{move_bytes:,.0f} B"),
        ("CompareSlider: re-sending the after image / one divider move",
         f"{after_bytes / move_bytes:,.0f}x"),
    ]

    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"median of {REPEATS} strokes\n")
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
