"""The engine server's memory under concurrent heavy uploads; prints markdown, asserts nothing.

    .venv/bin/python benchmarks/bench_engine_memory.py [--rounds 10] [--baseline REV]

Starts ``python -m clipdrop_widgets serve`` as a subprocess (default pool: one worker per core,
a queue of twice that) and measures, from ``/proc/PID/status``:

1. 16 concurrent cleanups of a 16 MP photo (4000x4000 JPEG, 8.6 MB, with a PNG mask): the
   server's peak resident size (``VmHWM``), the 503s the clients got, and the wall time. Each
   client retries a 503 after its ``Retry-After``, as :class:`clipdrop_widgets.Client` does,
   until it gets its image.
2. ``--rounds`` rounds of mixed load, 16 concurrent requests each (two 16 MP cleanups, three
   10 MP text inpaintings, three 2048x1536 background replacements, four text to image, three
   sketch to image, one invalid mask): each round's peak (``VmHWM``, reset between rounds
   through ``/proc/PID/clear_refs``) and the resident size once the round is over.

``--baseline REV`` runs the same load against the engine of git revision ``REV`` first
(exported to a temporary folder), for a side-by-side comparison; ``--workers``/``--queue``
pass through to ``serve``. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key"
GB = 1024**3
CONCURRENCY = 16
TIMEOUT = 600  # seconds for any one request


# -- inputs ------------------------------------------------------------------------------------

def _photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG (quality 90) of a gradient with noise: about 0.5 bytes per pixel."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(ramp, (height, width, 3)) + rng.integers(0, 55, (height, width, 3),
                                                                      dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def _mask(width: int, height: int, *, value: int = 255) -> bytes:
    mask = Image.new("L", (width, height), 0)
    mask.paste(value, (width // 3, height // 3, width // 2, height // 2))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


def _sketch() -> bytes:
    sketch = Image.new("RGB", (1024, 1024), "black")
    ImageDraw.Draw(sketch).ellipse((100, 100, 900, 900), outline="white", width=6)
    out = io.BytesIO()
    sketch.save(out, "PNG")
    return out.getvalue()


Files = dict[str, tuple[str | None, bytes | str]]


@dataclass
class Call:
    path: str
    files: Files
    expected: int = 200


def _calls() -> dict[str, Call]:
    big, big_mask = _photo(4000, 4000, 1), _mask(4000, 4000)
    mid, mid_mask = _photo(3800, 2600, 2), _mask(3800, 2600)
    return {
        "cleanup 16 MP": Call("/cleanup/v1", {"image_file": ("p.jpg", big),
                                              "mask_file": ("m.png", big_mask)}),
        "text inpainting 10 MP": Call("/text-inpainting/v1", {
            "image_file": ("p.jpg", mid), "mask_file": ("m.png", mid_mask),
            "text_prompt": (None, "a red hat")}),
        "replace background 3 MP": Call("/replace-background/v1", {
            "image_file": ("p.jpg", _photo(2048, 1536, 3)), "prompt": (None, "a kitchen")}),
        "text to image": Call("/text-to-image/v1", {"prompt": (None, "a fox in the snow")}),
        "sketch to image": Call("/sketch-to-image/v1/sketch-to-image", {
            "sketch_file": ("s.png", _sketch()), "prompt": (None, "an owl")}),
        "invalid mask": Call("/cleanup/v1", {"image_file": ("p.jpg", mid),
                                             "mask_file": ("m.png", _mask(3800, 2600, value=9))},
                             expected=400),
    }


MIX = {"cleanup 16 MP": 2, "text inpainting 10 MP": 3, "replace background 3 MP": 3,
       "text to image": 4, "sketch to image": 3, "invalid mask": 1}


# -- the server --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m clipdrop_widgets serve`` in a subprocess, from ``source`` (a folder)."""

    def __init__(self, source: Path, extra: list[str]):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(source)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clipdrop_widgets", "serve", "--port", str(self.port),
             "--credits", "1000000", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=source)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if self.url not in line:
            self.process.kill()
            raise RuntimeError(f"serve did not start: {line!r}")

    def status(self, field_name: str) -> int:
        """A ``/proc/PID/status`` size in bytes (``VmRSS``, ``VmHWM``)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field_name)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


# -- load --------------------------------------------------------------------------------------

@dataclass
class Tally:
    ok: int = 0
    busy: int = 0  # 503 answers (each retried)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _post_until_answered(url: str, call: Call, tally: Tally) -> None:
    with requests.Session() as session:
        while True:
            r = session.post(url + call.path, files=call.files, headers={"x-api-key": KEY},
                             timeout=TIMEOUT)
            if r.status_code == 503:
                with tally.lock:
                    tally.busy += 1
                time.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            with tally.lock:
                if r.status_code == call.expected:
                    tally.ok += 1
                else:
                    tally.wrong.append(f"{call.path}: {r.status_code} {r.text[:100]}")
            return


def _burst(server: Server, calls: list[Call]) -> tuple[Tally, float]:
    tally = Tally()
    start = time.perf_counter()
    with ThreadPoolExecutor(len(calls)) as pool:
        for future in [pool.submit(_post_until_answered, server.url, c, tally) for c in calls]:
            future.result()
    return tally, time.perf_counter() - start


@dataclass
class Measured:
    label: str
    burst_peak: int = 0
    burst_busy: int = 0
    burst_seconds: float = 0.0
    round_peaks: list[int] = field(default_factory=list)
    round_after: list[int] = field(default_factory=list)
    idle: int = 0
    errors: list[str] = field(default_factory=list)


def measure(label: str, source: Path, extra: list[str], calls: dict[str, Call], rounds: int,
            log: Callable[[str], None]) -> Measured:
    server = Server(source, extra)
    result = Measured(label)
    try:
        time.sleep(1)
        result.idle = server.status("VmRSS")
        server.reset_peak()
        tally, seconds = _burst(server, [calls["cleanup 16 MP"]] * CONCURRENCY)
        result.burst_peak, result.burst_busy = server.status("VmHWM"), tally.busy
        result.burst_seconds = seconds
        result.errors += tally.wrong
        log(f"{label}: 16 x 16 MP cleanup: peak {result.burst_peak / GB:.2f} GiB, "
            f"{tally.busy} x 503, {seconds:.0f} s")
        mix = [calls[name] for name, count in MIX.items() for _ in range(count)]
        for n in range(rounds):
            server.reset_peak()
            tally, seconds = _burst(server, mix)
            result.errors += tally.wrong
            result.round_peaks.append(server.status("VmHWM"))
            result.round_after.append(server.status("VmRSS"))
            log(f"{label}: round {n + 1}: peak {result.round_peaks[-1] / GB:.2f} GiB, after "
                f"{result.round_after[-1] / GB:.2f} GiB, {tally.busy} x 503, {seconds:.0f} s")
    finally:
        server.stop()
    return result


def _export(rev: str, into: Path) -> Path:
    """The package as of git revision ``rev``, extracted under ``into``."""
    archive = subprocess.run(["git", "archive", rev, "clipdrop_widgets"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _gib(n: int) -> str:
    return f"{n / GB:.2f}"


def report(results: list[Measured], rounds: int) -> str:
    lines = ["| engine | 16 x 16 MP cleanup: peak RSS (GiB) | 503s retried | wall (s) | "
             f"{rounds} mixed rounds: peak per round (GiB) | RSS after each round (GiB) | "
             "idle RSS (GiB) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        peaks = ", ".join(_gib(p) for p in r.round_peaks)
        after = ", ".join(_gib(p) for p in r.round_after)
        lines.append(f"| {r.label} | {_gib(r.burst_peak)} | {r.burst_busy} | "
                     f"{r.burst_seconds:.0f} | {peaks} | {after} | {_gib(r.idle)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--baseline", metavar="REV", help="also measure this git revision")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--queue", type=int)
    args = parser.parse_args()
    extra = [f"--{name}={value}" for name in ("workers", "queue")
             if (value := getattr(args, name)) is not None]

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    calls = _calls()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            source = _export(args.baseline, Path(tmp))
            results.append(measure(f"`{args.baseline}`", source, [], calls, args.rounds, log))
        pool = f"workers {args.workers or os.cpu_count()}, queue {args.queue or 'default'}"
        results.append(measure(f"this tree ({pool})", ROOT, extra, calls, args.rounds, log))
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print(report(results, args.rounds))
    for r in results:
        for error in r.errors:
            print(f"\n{r.label}: unexpected answer: {error}")


if __name__ == "__main__":
    main()
