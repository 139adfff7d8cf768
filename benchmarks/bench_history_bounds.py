"""What the history keeps while it is used: widget models and messages per page turn, memory of
Download all.

    .venv/bin/python benchmarks/bench_history_bounds.py [--turns 10] [--images 24]
        [--before-code DIR]

In a fresh Python process per code (this checkout, and with ``--before-code`` another
checkout's ``clipdrop_widgets``, side by side in one run):

* a 600-result session (20 distinct 64x64 pictures, the rest log lines naming them again)
  opened in a `HistoryStrip` of 50-result pages, then **Older** clicked ``--turns`` times:
  ipywidgets' registry of open widget models (``ipywidgets.widgets.widget._instances``, the
  models the kernel and the page's widget manager hold) counted before and after, and the
  widget messages the turns send to the page (``comm_open``, ``comm_msg``, ``comm_close``,
  counted where ipywidgets hands them to its comm). jupyter_server forwards a page's
  ``comm_msg`` and ``comm_close`` up to 1,000 a second (3,000 in its 3 s window) and drops
  the rest until the kernel is idle;
* a session of ``--images`` distinct 820x820 pictures (2.0 MB each, stored uncompressed as
  the service's are about that size): **Download all** with the downloader's messages
  dropped (no kernel here), and Python's allocations traced (``tracemalloc``): the peak
  against the session's bytes. zmq's own copies of messages in a real kernel are not Python
  allocations: they are bounded by `download_all.DOWNLOAD_ALL_LIMIT`.

Counts and bytes, reported, not asserted (the tests assert the bounds). Results:
``benchmarks/results/history_bounds.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHILD = r"""
import io, json, sys, tempfile, tracemalloc, warnings
from pathlib import Path
import numpy as np, ipywidgets, comm
from PIL import Image
warnings.simplefilter("ignore")
import clipdrop_widgets
from clipdrop_widgets.api.result import Result
from clipdrop_widgets.api.session import LOG_NAME, Session
from clipdrop_widgets.widgets import HistoryStrip

turns, images, tmp = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
rng = np.random.default_rng(1)

def png(side, compress=6):
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(
        buf, "PNG", compress_level=compress)
    return buf.getvalue()

session = Session(tmp / "pages")
lines = [session.add(Result(png(64), "image/png", "text_to_image", {"prompt": f"p {i}"},
                            created=1.7e9 + i)) for i in range(20)]
with open(tmp / "pages" / LOG_NAME, "a", encoding="utf-8") as f:
    f.write("".join(json.dumps({**lines[i % 20], "created": 1.7e9 + i}) + "\n"
                    for i in range(20, 600)))
instances = ipywidgets.widgets.widget._instances
strip = HistoryStrip(max_items=50, session_dir=tmp / "pages")
strip.wait_thumbnails(60)
opened = len(instances)
sent = {}
publish = comm.DummyComm.publish_msg
def count(self, msg_type, *args, **kwargs):
    sent[msg_type] = sent.get(msg_type, 0) + 1
comm.DummyComm.publish_msg = count
for _ in range(turns):
    strip.pager.older.click()
    strip.wait_thumbnails(60)
comm.DummyComm.publish_msg = publish
print(json.dumps({"code": str(Path(clipdrop_widgets.__file__).parent.parent),
                  "opened": opened, "after": len(instances), "sent": sent}))

big = Session(tmp / "big")
for i in range(images):
    big.add(Result(png(820, 0), "image/png", "text_to_image", {"prompt": f"b {i}"},
                   created=1.7e9 + i))
total = sum(p.stat().st_size for p in (tmp / "big").rglob("*") if p.is_file())
strip = HistoryStrip(session_dir=tmp / "big")
strip.wait_thumbnails(60)
strip.downloader.send = lambda content, buffers=None: None
tracemalloc.start()
strip.download()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"total": total, "peak": peak}))
"""


def measure(code: Path, turns: int, images: int) -> tuple[dict, dict]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory(prefix="bench-bounds-") as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, str(turns), str(images), tmp],
                             env=env, cwd=tmp, capture_output=True, text=True,
                             check=True).stdout
    first, second = (json.loads(line) for line in out.strip().splitlines()[-2:])
    return first, second


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--before-code", type=Path, default=None,
                        help="a checkout whose clipdrop_widgets is measured the same way")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    codes = [("now", HERE)] + ([("before", args.before_code)] if args.before_code else [])
    for label, code in codes:
        pages, download = measure(code, args.turns, args.images)
        grown = pages["after"] - pages["opened"]
        sent = pages["sent"]
        per_turn = {k: sent.get(k, 0) / args.turns for k in ("comm_open", "comm_msg",
                                                              "comm_close")}
        print(f"{label} ({pages['code']}): {pages['opened']} widget models with a page shown, "
              f"{pages['after']} after {args.turns} page turns (+{grown}, "
              f"{grown / args.turns:.0f} per turn); messages a turn: "
              + ", ".join(f"{v:.0f} {k}" for k, v in per_turn.items())
              + f" ({per_turn['comm_msg'] + per_turn['comm_close']:.0f} rate-limited); "
              f"Download all of "
              f"{download['total']:,} bytes: peak {download['peak']:,} bytes traced "
              f"({download['peak'] / download['total']:.3f} of the session)")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
