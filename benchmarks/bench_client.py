"""Client overhead and import time, measured side by side in one run.

    .venv/bin/python benchmarks/bench_client.py

1. ``Client.cleanup`` against a bare ``requests.post`` of the same pre-encoded bytes to the
   same loopback server (which answers at once with a same-size PNG), interleaved so both see
   the same machine state. Target: at most 1.1x.
2. ``import clipdrop_widgets`` in a fresh interpreter (target < 300 ms), and the import of the
   client module alone, against ``import requests, PIL.Image`` as the floor.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_server import Action, FaultServer

from clipdrop_widgets import Client

ROUNDS = 200


def encoded(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def overhead(size: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    photo = encoded(Image.fromarray(rng.integers(0, 256, (size, size, 3), np.uint8)), "JPEG")
    mask_array = np.zeros((size, size), np.uint8)
    mask_array[size // 4: size // 2, size // 4: size // 2] = 255
    mask = encoded(Image.fromarray(mask_array, "L"))
    answer = encoded(Image.fromarray(rng.integers(0, 256, (size, size, 3), np.uint8)))
    with FaultServer(default=Action.image(answer)) as server:
        # The limiter is on (its bookkeeping is part of the cost) but never has to wait.
        client = Client("bench-key", base_url=server.url, requests_per_minute=10**9)
        session = requests.Session()
        files = {"image_file": ("image.jpg", photo, "image/jpeg"),
                 "mask_file": ("mask.png", mask, "image/png")}

        def bare() -> None:
            r = session.post(server.url + "/cleanup/v1", files=files,
                             headers={"x-api-key": "bench-key"}, timeout=10)
            r.raise_for_status()
            _ = r.content

        def ours() -> None:
            client.cleanup(photo, mask)

        def checks() -> None:  # what the client does before sending: every input rule
            client.prepare("cleanup", {}, {"image_file": photo, "mask_file": mask})

        for f in (bare, ours, checks):  # warm up connections and caches
            for _ in range(5):
                f()
        times: dict[str, list[float]] = {"bare": [], "client": [], "checks": []}
        for _ in range(ROUNDS):
            for name, f in (("bare", bare), ("client", ours), ("checks", checks)):
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
    return (statistics.median(times["bare"]), statistics.median(times["client"]),
            statistics.median(times["checks"]))


def import_time(statement: str, repeats: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [float(subprocess.check_output([sys.executable, "-c", code]).decode())
            for _ in range(repeats)]
    return statistics.median(runs)


def main() -> None:
    print("| measurement | ours | reference | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    for size in (256, 1024):
        bare, ours, checks = overhead(size)
        print(f"| `Client.cleanup` vs bare `requests.post`, {size}x{size} JPEG + mask, "
              f"median of {ROUNDS} | {ours * 1000:.2f} ms | {bare * 1000:.2f} ms | "
              f"{ours / bare:.2f}x | <= 1.1x |")
        print(f"| the same without the input checks (`client.prepare`: {checks * 1000:.2f} ms)"
              f" | {(ours - checks) * 1000:.2f} ms | {bare * 1000:.2f} ms | "
              f"{(ours - checks) / bare:.2f}x | |")
    floor = import_time("import requests, PIL.Image")
    package = import_time("import clipdrop_widgets")
    client = import_time("import clipdrop_widgets.api.client")
    print(f"| `import clipdrop_widgets` (fresh interpreter, median of 7) | {package * 1000:.0f} ms"
          f" | {floor * 1000:.0f} ms (`import requests, PIL.Image`) | "
          f"{package / floor:.2f}x | < 300 ms |")
    print(f"| `import clipdrop_widgets.api.client` | {client * 1000:.0f} ms"
          f" | {floor * 1000:.0f} ms | {client / floor:.2f}x | < 300 ms |")


if __name__ == "__main__":
    main()
