"""A session of many lines naming one image (issue 20 review, F6); prints markdown, asserts
nothing.

    .venv/bin/python benchmarks/bench_session_lines.py [--baseline REV] [--lines 10000]

Writes a session of one 300x300 PNG (270 KB, written by `Session.add`) whose line is then
repeated ``--lines`` times, as a hand-edited or hostile log can be, and reopens it in a new
process with ``Session(folder).results()``: the wall time and the process's peak resident
size (``ru_maxrss``). ``--baseline REV`` measures the package of git revision ``REV`` first
(before the fix: every line held its own copy of the image's bytes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_engine_memory import ROOT, _export

MAKE = """
import io, sys
import numpy as np
from PIL import Image
from pathlib import Path
from clipdrop_widgets import Result
from clipdrop_widgets.api.session import LOG_NAME, Session
folder, lines = Path(sys.argv[1]), int(sys.argv[2])
buf = io.BytesIO()
Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)
                ).save(buf, "PNG")
Session(folder).add(Result(buf.getvalue(), "image/png", "text_to_image", {"prompt": "x"}))
(folder / LOG_NAME).write_bytes((folder / LOG_NAME).read_bytes() * lines)
"""
OPEN = """
import resource, sys, time, warnings
from clipdrop_widgets import ClipdropNotice
from clipdrop_widgets.api.session import Session
warnings.simplefilter("ignore", ClipdropNotice)
start = time.monotonic()
n = len(Session(sys.argv[1]).results())
print(n, round(time.monotonic() - start, 2), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(package: Path, folder: Path) -> tuple[int, float, float]:
    """``(results, seconds, peak MB)`` of reopening ``folder`` with the package in ``package``."""
    out = subprocess.run([sys.executable, "-c", OPEN, str(folder)], capture_output=True,
                         text=True, check=True, cwd=folder.parent,  # not this checkout
                         env={"PYTHONPATH": str(package), "PATH": ""})
    n, seconds, kb = out.stdout.split()
    return int(n), float(seconds), int(kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="also measure this git revision")
    parser.add_argument("--lines", type=int, default=10_000, help="lines (default: 10000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "session"
        subprocess.run([sys.executable, "-c", MAKE, str(folder), str(args.lines)], check=True,
                       cwd=tmp, env={"PYTHONPATH": str(ROOT), "PATH": ""})
        rows = []
        if args.baseline:
            baseline = _export(args.baseline, Path(tmp) / "baseline")  # not the cwd
            rows.append((f"`{args.baseline}`", measure(baseline, folder)))
        rows.append(("this checkout", measure(ROOT, folder)))
    print(f"| package | results of {args.lines} lines, one image | seconds | peak RSS (MB) |")
    print("| --- | --- | --- | --- |")
    for name, (n, seconds, mb) in rows:
        print(f"| {name} | {n} | {seconds:.1f} | {mb:.0f} |")


if __name__ == "__main__":
    main()
