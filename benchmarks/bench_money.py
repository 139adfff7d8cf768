"""The money path (issue 11): pacing against unknown windows, and calls bounded in time and bytes.

    .venv/bin/python benchmarks/bench_money.py            # about four minutes

1. Pacing. Servers that allow 60 requests a minute but count them in sliding windows of 1 s,
   6 s or 60 s (1, 6 and 60 requests per window). For the 6 s and 60 s windows time is scaled
   2x so a run takes a minute: the client is told 120 requests a minute and the windows are
   3 s and 30 s; a sweep of 121 items (16 workers, default) runs against each. The 1 s window
   runs unscaled (60 a minute, 61 items), one after the other. Throughput is
   ``(n - 1) / (last - first arrival)`` as a share of the limit, with the server's 429 count
   and the closest two arrivals. Then, unscaled, 8 concurrent callers at 60 a
   minute: how many requests the server sees in the first second.
2. Time past the timeout. Each slow fault of the test matrix (``tests/fault_server.py``),
   three times, with ``timeout=1.0`` (and ``(5, 1.0)`` for the trickle): how long each call
   ran past its timeout; the worst is the figure.
3. Memory of refused answers: peak Python allocations (tracemalloc) while refusing a 500 MB
   answer and a gzip body that inflates to 1 GiB, beside the endpoint's cap.
"""

from __future__ import annotations

import itertools
import sys
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fault_server import (
    FaultServer,
    RawServer,
    continue_flood,
    gzip_bomb_bytes,
    head,
    never_answer,
    oversized_chunked,
    stall_after_head,
    trickle_body,
    trickle_head,
)

from clipdrop_widgets import Client, Sweep
from clipdrop_widgets.contract.endpoints import endpoint

SCALE = 2.0  # time runs 2x faster than the documented minute
RPM = 60 * SCALE
ITEMS = 121
WINDOWS = (1.0, 6.0, 60.0)  # unscaled seconds
TIMEOUT = 1.0
ROUNDS = 3


def pacing(window: float, out: dict[float, dict[str, float]]) -> None:
    scale = SCALE if window > 1 else 1.0  # the 1 s window at its real size: 61 items
    items = ITEMS if window > 1 else 61
    rpm = 60 * scale
    limit = round(60 * window / 60)
    with FaultServer(rate=(limit, window / scale)) as server:
        client = Client("bench", base_url=server.url, requests_per_minute=rpm, max_retries=0)
        sweep = Sweep(client, "text_to_image", prompts=[f"a kite, take {i}" for i in range(items)])
        records = sweep.run(progress=False)
        arrivals = sorted(s.time for s in server.seen)
        rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        out[window] = {"share": rate / (rpm / 60), "rejected": server.rejected_for_rate,
                       "failed": sum(r["status"] != "ok" for r in records),
                       "seconds": arrivals[-1] - arrivals[0], "items": items,
                       "scale": scale, "min_gap": min(gaps) * scale}


def first_second() -> int:
    with FaultServer() as server:
        client = Client("bench", base_url=server.url, requests_per_minute=60, max_retries=0)
        stop = time.monotonic() + 2.5

        def caller(i: int) -> None:
            while time.monotonic() < stop:
                client.text_to_image(f"a fox {i} {time.monotonic()}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(caller, range(8)))
        arrivals = sorted(s.time for s in server.seen)
        return sum(t < arrivals[0] + 1.0 for t in arrivals)


def overrun(behave, timeout) -> float:
    limit = timeout if not isinstance(timeout, tuple) else timeout[1]
    with RawServer(behave) as server:
        client = Client("bench", base_url=server.url, timeout=timeout, max_retries=2)
        start = time.monotonic()
        try:
            client.text_to_image("a cat")
        except Exception:  # noqa: BLE001 - the timeout is what is measured
            pass
        seconds = time.monotonic() - start
        assert server.posts == 1
    return seconds - limit


def refused_peak(behave) -> int:
    tracemalloc.start()
    try:
        with RawServer(behave) as server:
            try:
                Client("bench", base_url=server.url, timeout=60).text_to_image("a cat")
            except Exception:  # noqa: BLE001 - the refusal is expected
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bomb_1gib(server, conn, _request) -> None:
    body = gzip_bomb_bytes(1 << 30)
    conn.sendall(head(Content_Type="image/png", Content_Encoding="gzip",
                      Content_Length=str(len(body))) + body)


def huge_declared_nothing_checked(server, conn, _request) -> None:
    """500 MB sent as a close-delimited body (no length declared, no chunks): counted only."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n")
    block = bytes(1 << 20)
    for _ in range(500):
        conn.sendall(block)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"## Pacing: 60 requests a minute, windows of 1, 6 and 60 s (the 6 s and 60 s ones "
          f"with time scaled {SCALE:g}x: {RPM:g}/min, windows 3 and 30 s, {ITEMS} items; the "
          "1 s one unscaled, 61 items), one after the other\n")
    results: dict[float, dict[str, float]] = {}
    for w in WINDOWS:
        pacing(w, results)
    print("| window (unscaled) | limit in it | time scale | items | throughput, % of the limit "
          "| 429s | failed items | closest arrivals, unscaled s | run, s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in WINDOWS:
        r = results[w]
        print(f"| {w:g} s | {round(w):d} | {r['scale']:g}x | {r['items']:.0f} "
              f"| {r['share']:.1%} | {r['rejected']:.0f} | {r['failed']:.0f} "
              f"| {r['min_gap']:.3f} | {r['seconds']:.1f} |")
    print(f"\nRequests in the first second, 8 concurrent callers at 60/min (unscaled): "
          f"{first_second()}\n")

    print(f"## Time past the timeout ({ROUNDS} rounds each, timeout {TIMEOUT:g} s)\n")
    print("| fault | worst s past the timeout | mean |")
    print("|---|---|---|")
    cases = [(trickle_body, TIMEOUT), (trickle_head, TIMEOUT), (stall_after_head, TIMEOUT),
             (never_answer, TIMEOUT), (continue_flood, TIMEOUT), (trickle_body, (5.0, TIMEOUT))]
    worst = 0.0
    for behave, timeout in cases:
        past = [overrun(behave, timeout) for _ in range(ROUNDS)]
        worst = max(worst, *past)
        name = behave.__name__ + ("" if timeout == TIMEOUT else f", timeout={timeout}")
        print(f"| {name} | {max(past):.3f} | {sum(past) / len(past):.3f} |")
    print(f"\nWorst: {worst:.3f} s past the timeout.\n")

    cap = endpoint("text_to_image").max_answer_bytes
    gzip_bomb_bytes(1 << 30)  # made before measuring
    print(f"## Refused answers: peak Python allocations (text_to_image's cap: {cap / 1e6:.0f} MB)"
          "\n")
    print("| answer | peak MB |")
    print("|---|---|")
    for name, behave in (("500 MB, chunked", oversized_chunked),
                         ("500 MB, no length (close-delimited)", huge_declared_nothing_checked),
                         ("gzip, ~1 MB inflating to 1 GiB", bomb_1gib)):
        print(f"| {name} | {refused_peak(behave) / 1e6:.0f} |")


if __name__ == "__main__":
    main()
