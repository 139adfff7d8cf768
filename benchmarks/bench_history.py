"""Reopening a 5,000-result session in the Studio: seconds and the kernel's peak memory.

    .venv/bin/python benchmarks/bench_history.py [--results 5000] [--distinct 50]

Builds a session folder like a long day's: ``--distinct`` 1024x1024 PNG results of a photo's
texture (about 2 MB each, the service's size) added with `Session.add` (so each carries its
record), and log lines up to ``--results`` naming them again (written in one go, as appends
would have left them). Then, in a fresh Python process each (the kernel's situation):

* ``Studio(session_dir=...)`` the first time (no thumbnails kept yet: a session written by
  `Session.add` alone, or by a version before the thumbnail cache), then again (the usual
  reopen: the history made the thumbnails when it showed the results), side by side in each
  of ``--rounds`` rounds (the thumbnails removed before each first reopen). Timed twice: to
  the Studio built (the page's cards up, placeholders where a thumbnail is not kept yet),
  and to the page's thumbnails all in (`HistoryStrip.wait_thumbnails`);
* with ``--before``, ``Session(folder).results()[-50:]``: what the history did before issue
  24 (every result's bytes read to show the last 50), once: it needs about 10 GB.

The reopen is timed from after the package's imports (printed apart) to the Studio built.
Peak memory is the process's maximum resident set size (``ru_maxrss``), imports included.
Reported, not asserted. Results: ``benchmarks/results/history.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from clipdrop_widgets.api.result import Result
from clipdrop_widgets.api.session import LOG_NAME, Session
from clipdrop_widgets.widgets.thumbnails import THUMBNAILS as THUMBNAILS_DIR

MEASURE = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
from clipdrop_widgets import Studio
from clipdrop_widgets.api.session import Session
Studio.__init__  # the lazy import done
imported = time.perf_counter()
{body}
done = time.perf_counter()
{after}
filled = time.perf_counter()
print(filled - imported, imported - t0, done - imported,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
NOW = "studio = Studio(session_dir=sys.argv[1])"
THUMBNAILS = "studio.history.wait_thumbnails()"  # the page's pictures, made after it is shown
BEFORE = "shown = Session(sys.argv[1]).results()[-50:]"


def photo_like(seed: int, size: int = 1024) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size // 64, size // 64, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 6, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=float) + grain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def build(folder: Path, results: int, distinct: int) -> int:
    session = Session(folder)
    lines = [session.add(Result(photo_like(i), "image/png", "text_to_image",
                                {"prompt": f"a lighthouse, take {i}"}, credits_consumed=1,
                                created=time.time() - results + i))
             for i in range(distinct)]
    with open(folder / LOG_NAME, "a", encoding="utf-8") as f:
        for i in range(distinct, results):
            line = {**lines[i % distinct], "prompt": f"a lighthouse, take {i}"}
            f.write(json.dumps(line) + "\n")
    return sum(p.stat().st_size for p in (folder / "images").iterdir())


def measure(body: str, folder: Path, after: str = "") -> tuple[float, float, float, float]:
    """(reopen s, peak MB, import s, s until the page's thumbnails are all in)."""
    out = subprocess.run([sys.executable, "-c", MEASURE.format(body=body, after=after),
                          str(folder)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "CLIPDROP_API_KEY": ""}).stdout.split()
    return float(out[-2]), float(out[-1]), float(out[-3]), float(out[-4])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=5000)
    parser.add_argument("--distinct", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", action="store_true",
                        help="also measure the old read-everything path (about 10 GB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        folder = Path(tmp) / "session"
        size = build(folder, args.results, args.distinct)
        per_image = size / args.distinct
        print(f"{args.results} results, images {per_image / 1e6:.1f} MB each "
              f"({args.distinct} distinct files, {size / 1e6:.0f} MB on disk); "
              f"load average {os.getloadavg()[0]:.1f}")
        firsts, laters = [], []
        for _ in range(args.rounds):  # side by side: a first reopen, then a later one
            shutil.rmtree(folder / THUMBNAILS_DIR, ignore_errors=True)
            firsts.append(measure(NOW, folder, THUMBNAILS))
            laters.append(measure(NOW, folder, THUMBNAILS))
        for words, runs in (("first reopen (no thumbnails kept: made after the page is up)",
                             firsts), ("later reopen (the thumbnails kept)", laters)):
            seconds = sorted(r[0] for r in runs)
            filled = sorted(r[3] for r in runs)
            print(f"Studio {words}: {seconds[len(seconds) // 2]:.2f} s median "
                  f"({seconds[0]:.2f}-{seconds[-1]:.2f}), the page's thumbnails all in at "
                  f"{filled[len(filled) // 2]:.2f} s ({filled[0]:.2f}-{filled[-1]:.2f}), "
                  f"peak RSS {max(r[1] for r in runs):.0f} MB, "
                  f"imports {statistics.median(r[2] for r in runs):.2f} s")
        print(f"load average after the runs {os.getloadavg()[0]:.1f}")
        if args.before:
            old = measure(BEFORE, folder)
            print(f"history before issue 24 (every result read): {old[0]:.2f} s, "
                  f"peak RSS {old[1]:.0f} MB")

if __name__ == "__main__":
    main()
