"""Sweep throughput at the rate limit, against a naive loop; and the cost of resuming.

    .venv/bin/python benchmarks/bench_sweep.py

Setting: the documented limit (60 requests in a 60 s window) with time scaled down 12x, so
a run stays under a minute: the loopback server enforces 60 requests in any 5 s sliding
window (``requests_per_minute=720`` on the client, ``RATE_WINDOW=5``) and takes a fixed
service latency per request (0, 0.25 or 0.5 s, i.e. 0, 3 or 6 s unscaled).

1. Sustained throughput, from the server's arrival times ``a``: a sliding-window server
   forces ``a[i + L] >= a[i] + W``, so the fastest schedule it allows puts request ``k*L`` at
   ``a[0] + k*W``. The sweep's rate is ``k*L / (a[k*L] - a[0])`` over ``k = 2`` windows
   (121 items), shown as a fraction of the limit ``L / W`` (target >= 95 %), with the
   server's 429 count (target 0). The client's limiter spaces requests ``60 / R`` s apart
   plus 2 % (:data:`~clipdrop_widgets.api.ratelimit.SAFETY_MARGIN`), from the moment each
   body went out, so no caller can beat ``1 / 1.02`` of the limit; that bound is shown.
2. The same client called in a plain sequential ``for`` loop against the same server, rated
   the same way (over fewer items when it is slow: about 6 s of it), and the ratio.
3. Resume: a finished sweep of N items made again with its ``run_dir`` and run: the time per
   item (validation, reading the log, checking the images are there) and requests sent.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_server import Action, FaultServer

from clipdrop_widgets import Client, Sweep
from clipdrop_widgets.api import ratelimit

WINDOW = 5.0  # seconds: the documented 60 s, scaled 12x
LIMIT = 60  # requests per window, as documented
RPM = LIMIT * 60 / WINDOW  # what the client is told: 720 "per minute" = 60 per 5 s
WINDOWS = 2  # windows measured after the first request
SWEEP_ITEMS = WINDOWS * LIMIT + 1
NAIVE_SECONDS = 6.0  # how long the naive loop runs at most (seconds, roughly)
RESUME_ITEMS = 500


class SlowServer(FaultServer):
    """A FaultServer that takes ``latency`` seconds per answer (after counting the arrival)."""

    def __init__(self, latency: float, **options) -> None:
        super().__init__(**options)
        self.latency = latency

    def _next(self) -> Action:
        time.sleep(self.latency)
        return super()._next()


def sustained(arrivals: list[float]) -> float:
    """Requests per second over whole windows: ``k*L / (a[k*L] - a[0])``.

    With no more than ``L`` requests (a loop slower than the limit) it is the plain rate
    ``(n - 1) / (a[-1] - a[0])``.
    """
    a = sorted(arrivals)
    k = (len(a) - 1) // LIMIT
    if k == 0:
        return (len(a) - 1) / (a[-1] - a[0])
    return k * LIMIT / (a[k * LIMIT] - a[0])


def client_for(server: FaultServer) -> Client:
    return Client("bench-key", base_url=server.url, requests_per_minute=RPM, max_retries=0)


def throughput(latency: float) -> dict[str, float]:
    prompts = [f"a lighthouse at dusk, take {i}" for i in range(SWEEP_ITEMS)]
    with SlowServer(latency, rate=(LIMIT, WINDOW)) as server:
        sweep = Sweep(client_for(server), "text_to_image", prompts=prompts)
        records = sweep.run(progress=False)
        sweep_rate = sustained([s.time for s in server.seen])
        rejected = server.rejected_for_rate
        failed = sum(r["status"] != "ok" for r in records)
    with SlowServer(latency, rate=(LIMIT, WINDOW)) as server:
        client = client_for(server)
        naive_items = SWEEP_ITEMS if latency == 0 else max(10, int(NAIVE_SECONDS / latency))
        for prompt in prompts[:naive_items]:
            client.text_to_image(prompt)
        naive_rate = sustained([s.time for s in server.seen])
        rejected += server.rejected_for_rate
    return {"latency": latency, "sweep": sweep_rate, "naive": naive_rate,
            "rejected": rejected, "failed": failed}


def resume_cost(operation: str, inputs: dict) -> dict[str, float]:
    prompts = [f"a {i}th kite over the dunes" for i in range(RESUME_ITEMS)]
    with FaultServer() as server, tempfile.TemporaryDirectory() as run_dir:
        client = Client("bench-key", base_url=server.url, requests_per_minute=10**9)
        Sweep(client, operation, prompts=prompts, inputs=inputs, run_dir=run_dir).run()
        sent = len(server.seen)
        start = time.perf_counter()
        made = Sweep(client, operation, prompts=prompts, inputs=inputs, run_dir=run_dir)
        built = time.perf_counter()
        records = made.run()
        ran = time.perf_counter()
        start_open = time.perf_counter()
        Sweep.open(run_dir).records  # noqa: B018 - the read is what is timed
        opened = time.perf_counter()
        assert all(r["status"] == "ok" for r in records)
        return {"build_ms": (built - start) * 1e3 / RESUME_ITEMS,
                "run_ms": (ran - built) * 1e3 / RESUME_ITEMS,
                "open_ms": (opened - start_open) * 1e3 / RESUME_ITEMS,
                "requests": len(server.seen) - sent}


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"Limit: {LIMIT} requests per {WINDOW:g} s window (the documented 60 per 60 s, "
          f"time scaled 12x); sweep of {SWEEP_ITEMS} items (default workers).\n")
    print("| service latency (unscaled) | sweep, % of limit | limiter bound 1/(1+margin) "
          "| 429s | naive loop, % of limit | sweep / naive |")
    print("|---|---|---|---|---|---|")
    for latency in (0.0, 0.25, 0.5, 1.0):
        r = throughput(latency)
        limit_rate = LIMIT / WINDOW
        print(f"| {latency:g} s ({latency * 12:g} s) | {r['sweep'] / limit_rate:.1%} "
              f"| {1 / (1 + ratelimit.SAFETY_MARGIN):.1%} "
              f"| {r['rejected']:.0f} "
              f"| {r['naive'] / limit_rate:.1%} | {r['sweep'] / r['naive']:.2f}x |")
    ramp = np.linspace(0, 255, 512, dtype=np.uint8)
    photo = np.dstack([np.tile(ramp, (512, 1)), np.tile(ramp[:, None], (1, 512)),
                       np.full((512, 512), 90, np.uint8)])  # a 512x512 photo stand-in
    print(f"\nResume of a finished {RESUME_ITEMS}-item sweep (same run_dir):\n")
    print("| operation | make Sweep, ms/item | run(), ms/item | Sweep.open, ms/item "
          "| requests sent |")
    print("|---|---|---|---|---|")
    for operation, inputs in (("text_to_image", {}),
                              ("replace_background", {"image": photo})):
        r = resume_cost(operation, inputs)
        print(f"| {operation} | {r['build_ms']:.3f} | {r['run_ms']:.3f} | {r['open_ms']:.3f} "
              f"| {r['requests']:.0f} |")


if __name__ == "__main__":
    main()
