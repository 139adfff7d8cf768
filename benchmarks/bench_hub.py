"""What a hub token costs the gateway beside a seat key: one check with a real JupyterHub.

    .venv/bin/python benchmarks/bench_hub.py [--requests 200]

The hub of ``tests/hub`` (JupyterHub from PyPI, its proxy from npm, the gateway as a managed
service with ``--hub --hub-group workshop``, all on loopback). ``GET /gateway/v1/seat`` (free,
no upstream) is asked ``--requests`` times with a seat key and as many times with alice's hub
token, alternating, one at a time on kept-alive connections: the difference is what checking
the token with the hub (``GET /hub/api/user``, no cache) and reading her groups adds to every
request. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hub"))
from hubsetup import running_hub

from clipdrop_widgets import Ledger


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder:
        root = Path(folder)
        (root / "data").mkdir()
        started = time.monotonic()
        with running_hub(root, root / "data") as hub:
            startup = time.monotonic() - started
            with Ledger(hub.db) as ledger:
                [(_, seat_key)] = ledger.create_seats(1, 10, label="bench")
            token = hub.call("POST", "/users/alice/tokens", {"expires_in": 3600})["token"]  # type: ignore[index]
            timings: dict[str, list[float]] = {"seat key": [], "hub token": []}
            with requests.Session() as session:
                for i in range(args.requests + 10):
                    for kind, key in (("seat key", seat_key), ("hub token", token)):
                        began = time.perf_counter()
                        answer = session.get(hub.gateway + "/gateway/v1/seat",
                                             headers={"x-api-key": key}, timeout=30)
                        spent = time.perf_counter() - began
                        answer.raise_for_status()
                        if i >= 10:  # the first ten warm connections and caches up
                            timings[kind].append(spent * 1000)
    print(f"hub, proxy and gateway ready in {startup:.1f} s\n")
    print("| key | p50 ms | p95 ms | mean ms |\n| --- | --- | --- | --- |")
    for kind, values in timings.items():
        print(f"| {kind} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} | "
              f"{statistics.fmean(values):.1f} |")
    extra = [percentile(timings["hub token"], q) - percentile(timings["seat key"], q)
             for q in (50, 95)]
    print(f"\nhub token check adds {extra[0]:.1f} ms (p50), {extra[1]:.1f} ms (p95) a request")


if __name__ == "__main__":
    main()
