"""The engine server under the attacks of issue 20; prints markdown, asserts nothing.

    .venv/bin/python benchmarks/bench_engine_attack.py [--baseline REV] [--density 0.05]

Starts ``python -m clipdrop_widgets serve`` as a subprocess (default pool: one worker per core,
a queue of twice that), as `bench_engine_memory` does, and measures:

1. Worst-case memory: 16 concurrent cleanups of a 16 MP photo sent as a 26 MB PNG, with a
   noisy mask (``--density`` of the pixels, scattered, so the hole's box is the whole photo):
   the server's peak resident size (``VmHWM``), how many finished, the 503s (each retried
   after its ``Retry-After``, as `clipdrop_widgets.Client` does) and the wall time.
2. Trickling: 8 sockets send a cleanup body at 1 byte/s while 4 callers send 32 small
   cleanups (256x256) one after another, without retrying: the 503s those callers got, and
   what the trickling sockets were answered.

``--baseline REV`` runs the same against the engine of git revision ``REV`` first. Linux
only (``/proc``).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from bench_engine_memory import GB, KEY, ROOT, Server, _export
from PIL import Image

CONCURRENCY = 16
TIMEOUT = 3600  # seconds for any one request: "finished" means answered, however late
TRICKLERS = 8
NORMAL_CALLS = 32


def photo_png(width: int = 4000, height: int = 4000, seed: int = 0) -> bytes:
    """A gradient with fine noise as a PNG: 26 MB at 4000x4000."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(ramp, (height, width, 3)) + rng.integers(
        0, 8, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=1)
    return out.getvalue()


def noisy_mask(width: int = 4000, height: int = 4000, *, density: float, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    mask = (rng.random((height, width)) < density).astype(np.uint8) * 255
    out = io.BytesIO()
    Image.fromarray(mask, "L").save(out, "PNG")
    return out.getvalue()


@dataclass
class Worst:
    peak: int = 0
    finished: int = 0
    busy: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def worst_case(server: Server, files: dict[str, tuple[str, bytes]]) -> Worst:
    result = Worst()
    lock = threading.Lock()

    def one(_: int) -> None:
        with requests.Session() as session:
            while True:
                try:
                    r = session.post(server.url + "/cleanup/v1", files=files,
                                     headers={"x-api-key": KEY}, timeout=TIMEOUT)
                except requests.RequestException as exc:
                    with lock:
                        result.errors.append(type(exc).__name__)
                    return
                if r.status_code == 503:
                    with lock:
                        result.busy += 1
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                with lock:
                    if r.status_code == 200:
                        result.finished += 1
                    else:
                        result.errors.append(f"{r.status_code} {r.text[:100]}")
                return

    server.reset_peak()
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, range(CONCURRENCY)))
    result.seconds = time.perf_counter() - start
    result.peak = server.status("VmHWM")
    return result


@dataclass
class Trickle:
    statuses: dict[int, int] = field(default_factory=dict)
    tricklers: dict[str, int] = field(default_factory=dict)


def trickling(server: Server) -> Trickle:
    result = Trickle()
    socks = []
    for _ in range(TRICKLERS):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"POST /cleanup/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.encode() +
                     b"\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
                     b"Content-Length: 100000\r\n\r\n")
        socks.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock in socks:
                try:
                    sock.sendall(b"-")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(2)
    small = io.BytesIO()
    Image.new("RGB", (256, 256), (90, 120, 200)).save(small, "PNG")
    mask = io.BytesIO()
    Image.new("L", (256, 256), 255).crop((0, 0, 256, 256)).save(mask, "PNG")
    files = {"image_file": ("p.png", small.getvalue()), "mask_file": ("m.png", mask.getvalue())}
    lock = threading.Lock()

    def normal(_: int) -> None:
        r = requests.post(server.url + "/cleanup/v1", files=files, headers={"x-api-key": KEY},
                          timeout=120)
        with lock:
            result.statuses[r.status_code] = result.statuses.get(r.status_code, 0) + 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(normal, range(NORMAL_CALLS)))
    stop.set()
    thread.join(5)
    for sock in socks:
        sock.settimeout(15)
        try:
            data = sock.recv(200)
            status = data.split(b"\r\n")[0].decode("latin-1") or "closed"
        except OSError as exc:
            status = f"no answer ({type(exc).__name__})"
        result.tricklers[status] = result.tricklers.get(status, 0) + 1
        sock.close()
    return result


def measure(label: str, source: Path, files: dict[str, tuple[str, bytes]],
            log: Callable[[str], None]) -> tuple[str, Worst, Trickle]:
    server = Server(source, [])
    try:
        time.sleep(1)
        trickle = trickling(server)
        log(f"{label}: trickling: {trickle}")
        worst = worst_case(server, files)
        log(f"{label}: worst case: {worst}")
    finally:
        server.stop()
    return label, worst, trickle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", metavar="REV", help="also measure this git revision")
    parser.add_argument("--density", type=float, default=0.05,
                        help="fraction of the mask's pixels set, scattered (default 0.05)")
    args = parser.parse_args()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    photo, mask = photo_png(), noisy_mask(density=args.density)
    files = {"image_file": ("p.png", photo), "mask_file": ("m.png", mask)}
    log(f"photo {len(photo) / 1e6:.1f} MB, mask {len(mask) / 1e6:.1f} MB")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            rows.append(measure(f"`{args.baseline}`", _export(args.baseline, Path(tmp)), files,
                                log))
        rows.append(measure("this tree", ROOT, files, log))
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end; photo {len(photo) / 1e6:.1f} MB PNG "
          f"(4000x4000), mask {len(mask) / 1e6:.1f} MB ({args.density:.0%} of pixels set)\n")
    print("| engine | 16 x 16 MP noisy cleanups: peak RSS (GiB) | finished | 503s retried | "
          "wall (s) | 8 trickling sockets: answers to 32 normal calls | the tricklers got |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, worst, trickle in rows:
        normal = ", ".join(f"{n} x {s}" for s, n in sorted(trickle.statuses.items()))
        tricklers = ", ".join(f"{n} x {s}" for s, n in sorted(trickle.tricklers.items()))
        print(f"| {label} | {worst.peak / GB:.2f} | {worst.finished} of {CONCURRENCY} | "
              f"{worst.busy} | {worst.seconds:.0f} | {normal} | {tricklers} |")
        for error in worst.errors:
            print(f"\n{label}: unexpected answer: {error}")


if __name__ == "__main__":
    main()
