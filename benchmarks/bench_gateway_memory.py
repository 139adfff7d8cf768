"""The gateway's memory with a room of big uploads, and a light seat's latency meanwhile.

    .venv/bin/python benchmarks/bench_gateway_memory.py [--seats 16] [--baseline PATH]

16 seats each send one cleanup of 59 MB (a 9.9 MP photo of noise, 29.7 MB as an uncompressed
PNG, and a mask of the same size, both at the contract's 30 MB limit) at once, through
``gateway serve --no-shared-cache`` in a subprocess, to the strict fake of the service
(``tests/gateway_fake.py``, 3 s per answer) at 120 calls a minute, so the uploads wait their
turn in the gateway, as in a room where the service is the bottleneck. The light seat's text to
image has its own lane (``--upstream-limit-scope operation``), so its latency shows what the
uploads cost it inside the gateway (reading, parsing, memory), not its turn in the rotation.
The gateway's resident memory is sampled every 20 ms (``/proc/PID/status``: VmRSS, and VmHWM
at the end). A light seat sends a text to image call ten times with the gateway idle and ten
times while the uploads run; its latency is compared. ``--baseline PATH`` runs the same
against another checkout of the package (for instance ``git archive`` of an older commit
unpacked at PATH) for the "before" figure.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from gateway_fake import ROOM_KEY, FakeService, multipart_body

from clipdrop_widgets.gateway import Ledger

SIZE = (3000, 3300)  # 9.9 MP; 29.7 MB uncompressed, under the 30 MB limit


def _png_uncompressed(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


def big_body() -> tuple[bytes, str]:
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    mask = np.repeat((rng.integers(0, 2, (SIZE[1], SIZE[0], 1), dtype=np.uint8) * 255), 3, 2)
    return multipart_body([("image_file", _png_uncompressed(photo)),
                           ("mask_file", _png_uncompressed(mask))], "bench-boundary")


def _rss(pid: int, field: str = "VmRSS") -> int:
    """Bytes of the process's ``field``; 0 once it has died."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(rf"{field}:\s+(\d+) kB", text)
    return int(found.group(1)) * 1024 if found else 0


def run(seats: int, baseline: str | None) -> dict[str, float]:
    fake = FakeService(room_key=ROOM_KEY, delay=3.0, rate=10_000).start()
    body, kind = big_body()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "room.db"
        with Ledger(db) as ledger:
            keys = [k for _, k in ledger.create_seats(seats + 1, 1000)]
        env = {**os.environ, "CLIPDROP_API_KEY": ROOM_KEY}
        if baseline:
            env["PYTHONPATH"] = baseline
        log = Path(tmp) / "gateway.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "clipdrop_widgets", "gateway", "serve", "--db", str(db),
             "--port", "0", "--upstream", fake.url, "--requests-per-minute", "120",
             # (a baseline from before issue 19 paces each operation apart by itself)
             *([] if baseline else ["--upstream-limit-scope", "operation"]),
             "--no-shared-cache", "--log-level", "warning"], stdout=log.open("w"),
            stderr=subprocess.STDOUT, env=env, cwd=tmp)  # not the repository: -m imports
        # from the working directory first, which would hide a --baseline checkout
        try:
            while not (found := re.search(r"listening on (http://\S+) ", log.read_text())):
                time.sleep(0.05)
            url = found.group(1)
            light = keys[-1]

            def ask(n: int) -> float:
                started = time.monotonic()
                try:
                    answer = requests.post(url + "/text-to-image/v1",
                                           headers={"x-api-key": light},
                                           files={"prompt": (None, f"light {n}")}, timeout=600)
                except requests.RequestException:
                    return float("nan")  # the gateway died
                return time.monotonic() - started if answer.status_code == 200 else float("nan")

            idle = [ask(n) for n in range(10)]
            start_rss = _rss(process.pid)
            peak = [start_rss]
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak.append(_rss(process.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()

            def upload(key: str) -> int:
                try:
                    return requests.post(url + "/cleanup/v1", headers={"x-api-key": key,
                                                                       "Content-Type": kind},
                                         data=body, timeout=900).status_code
                except requests.RequestException:
                    return 0

            with ThreadPoolExecutor(seats) as pool:
                uploads = [pool.submit(upload, key) for key in keys[:seats]]
                time.sleep(1.0)  # the uploads are under way
                busy = [ask(100 + n) for n in range(10)]
                statuses = [u.result() for u in uploads]
            done.set()
            sampler.join()
            hwm = _rss(process.pid, "VmHWM")
            after = _rss(process.pid)
            died = process.poll() is not None
        finally:
            process.terminate()
            process.wait(30)
            fake.close()
    return {"body_mb": len(body) / 1e6, "uploads_ok": statuses.count(200), "died": died,
            "start_mb": start_rss / 1e6, "peak_sampled_mb": max(peak) / 1e6,
            "hwm_mb": hwm / 1e6, "after_mb": after / 1e6,
            "light_idle_p50": statistics.median(idle), "light_busy_p50": statistics.median(busy),
            "light_idle_max": max(idle), "light_busy_max": max(busy),
            "light_busy_failed": sum(1 for b in busy if b != b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=16)
    parser.add_argument("--baseline", help="a checkout of the package to compare against")
    parser.add_argument("--only-baseline", action="store_true")
    args = parser.parse_args()
    for name, path in (("this tree", None), ("baseline", args.baseline)):
        if (name == "baseline" and not path) or (name == "this tree" and args.only_baseline):
            continue
        figures = run(args.seats, path)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
