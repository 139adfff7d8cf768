"""The workshop gateway under a room's load: rate use, fairness, overhead, a kill -9.

    .venv/bin/python benchmarks/bench_gateway.py [--seconds 70] [--rate 600] [--scopes ...]

The service-shaped upstream (``clipdrop_widgets.engine.shaped``, in its own process: only the
room's key, ``--rate`` calls per minute in a sliding 60 s window for the whole key (scope
``key``) or for each endpoint (scope ``operation``), text inpainting half of it on its own,
429 with ``Retry-After`` past it, a stock PNG as each answer) and the gateway as a subprocess
(``clipdrop-widgets gateway serve --requests-per-minute RATE --upstream-limit-scope SCOPE``),
once per scope. The rate is 10x the documented 60/min so a run takes about two minutes per
scope; the pacing is the same code at any rate.

1. Overhead: one request at a time (the lane idle, so no pacing wait), a direct call to the
   upstream with the room's key beside the same call through the gateway with a seat key;
   text to image (no file) and cleanup (a 256x256 photo and mask, parsed and validated).
2. A room: 100 seats, each with two calls outstanding at all times, cycling through the five
   operations in proportion to their rates (no two requests identical, so no cache hit), for
   ``--seconds``, the upstream taking 0.3 s per call. Upstream use = calls it served / what its
   limits allow over the measured span; Jain's fairness index over the seats' served calls;
   429s at the upstream.
3. kill -9 of the gateway with the room still sending; restart on the same ledger: the
   ledger's total (settled + reserved, orphans closed on restart) against the credits the
   upstream charged.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from urllib3 import encode_multipart_formdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from gateway_fake import ROOM_KEY, Seen

from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.gateway import Ledger

SEATS = 100
OUTSTANDING = 2  # calls each seat keeps in flight
WARMUP = 5.0  # seconds before the measured span starts
#: Each seat's cycle of operations: two of each, one text inpainting (it has half the rate).
CYCLE = ["text_to_image", "sketch_to_image", "cleanup", "replace_background"] * 2 + [
    "text_inpainting"]


def _png(size: tuple[int, int], color: object, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def body(operation: str, n: int) -> tuple[str, bytes, str]:
    """Path, multipart body and its type for call ``n`` (every call's bytes differ)."""
    text = f"call {n}"
    photo = _png((48, 32), (n % 256, (n // 256) % 256, 90))
    mask = _png((48, 32), 0, "L")
    fields: dict[str, list] = {
        "text_to_image": [("prompt", text)],
        "sketch_to_image": [("sketch_file", ("s.png", _png((32, 32), 0, "L"), "image/png")),
                            ("prompt", text)],
        "cleanup": [("image_file", ("p.png", photo, "image/png")),
                    ("mask_file", ("m.png", mask, "image/png"))],
        "replace_background": [("image_file", ("p.png", photo, "image/png")), ("prompt", text)],
        "text_inpainting": [("image_file", ("p.png", photo, "image/png")),
                            ("mask_file", ("m.png", mask, "image/png")), ("text_prompt", text)],
    }
    data, kind = encode_multipart_formdata(fields[operation])
    return ENDPOINTS[operation].path, data, kind


class Fake:
    """The service-shaped upstream (``engine/shaped.py``) in its own process, so its clock
    readings do not wait on the room: ``rate`` calls a minute in ``scope`` (text inpainting
    half of it, on its own), answers taking ``latency`` seconds, a stock PNG each."""

    def __init__(self, rate: float, scope: str, latency: float = 0.0):
        shape = {"scope": scope, "rate": rate, "rates": {"/text-inpainting/v1": rate / 2},
                 "latency": [latency, latency], "render": False}
        code = ("import json, sys; from clipdrop_widgets.engine.shaped import Shape, "
                "ShapedService; s = json.loads(sys.argv[2]); s['latency'] = tuple(s['latency']); "
                "u = ShapedService(sys.argv[1], Shape(**s)).start(); print(u.url, flush=True); "
                "u._thread.join()")
        self.process = subprocess.Popen([sys.executable, "-c", code, ROOM_KEY, json.dumps(shape)],
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def _stats(self) -> dict:
        return requests.get(self.url + "/_stats", timeout=30).json()

    def seen(self) -> list[Seen]:
        return [Seen(at, path, "", texts, status) for at, path, status, _, texts in
                self._stats()["calls"]]

    @property
    def charged(self) -> float:
        return float(self._stats()["charged"])

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


class Gateway:
    """``clipdrop-widgets gateway serve`` in a subprocess."""

    def __init__(self, db: Path, upstream: str, rate: float, scope: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDROP_")}
        env["CLIPDROP_API_KEY"] = ROOM_KEY
        self.log = db.with_suffix(f".{time.monotonic_ns()}.log")
        self._file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clipdrop_widgets", "gateway", "serve", "--db", str(db),
             "--port", "0", "--upstream", upstream, "--requests-per-minute", str(rate),
             "--upstream-limit-scope", scope, "--seat-parallel", str(OUTSTANDING),
             "--log-level", "warning"], stdout=self._file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while not (found := re.search(r"listening on (http://\S+) ", self.log.read_text())):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the gateway did not start:\n" + self.log.read_text())
            time.sleep(0.05)
        self.url = found.group(1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self._file.close()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def overhead(fake: Fake, gateway: Gateway, seat: str, rate: float,
             rounds: int = 100) -> tuple[dict[str, tuple[float, float, float, float]], float]:
    """Per operation: direct p50, p95 and through-the-gateway p50, p95 (ms); and the credits
    the direct calls cost (they are the room's key's, not a seat's)."""
    session = requests.Session()
    numbers = itertools.count(10_000_000)
    results = {}
    direct_credits = 0.0
    for operation in ("text_to_image", "cleanup"):
        direct, through = [], []
        for _ in range(rounds):
            for url, key, times in ((fake.url, ROOM_KEY, direct), (gateway.url, seat, through)):
                path, data, kind = body(operation, next(numbers))
                if key != ROOM_KEY:
                    time.sleep(60 / rate * 1.2)  # the gateway's lane is idle: no pacing wait
                start = time.perf_counter()
                answer = session.post(url + path, data=data, timeout=30,
                                      headers={"x-api-key": key, "Content-Type": kind})
                times.append(1000 * (time.perf_counter() - start))
                assert answer.status_code == 200, answer.text
                if key == ROOM_KEY:
                    direct_credits += float(answer.headers["x-credits-consumed"])
        results[operation] = (percentile(direct, 50), percentile(direct, 95),
                              percentile(through, 50), percentile(through, 95))
    return results, direct_credits


async def room(url: str, keys: list[str], seconds: float, stop: asyncio.Event) -> int:
    """100 seats sending until ``seconds`` pass or ``stop`` is set; returns non-200 answers."""
    client = AsyncHTTPClient(force_instance=True, max_clients=SEATS * OUTSTANDING + 10)
    numbers = itertools.count()
    failures = 0
    deadline = time.monotonic() + seconds

    async def worker(seat: int, key: str, offset: int) -> None:
        nonlocal failures
        for step in itertools.count(offset):
            if stop.is_set() or time.monotonic() > deadline:
                return
            path, data, kind = body(CYCLE[(seat + step) % len(CYCLE)], next(numbers))
            try:
                response = await client.fetch(HTTPRequest(
                    url + path, method="POST", body=data, request_timeout=600,
                    headers={"x-api-key": key, "Content-Type": kind}), raise_error=False)
                code = response.code
            except (OSError, HTTPClientError):  # the connection dropped: the kill
                code = 599
            if stop.is_set():
                return  # the gateway was killed under this call
            if code != 200:
                failures += 1

    await asyncio.gather(*(worker(i, key, j * 4) for i, key in enumerate(keys)
                           for j in range(OUTSTANDING)))
    client.close()
    return failures


def upstream_use(seen: list[Seen], start: float, end: float, rate: float,
                 scope: str) -> tuple[float, dict[str, float]]:
    """Calls the upstream served in [start, end) (monotonic s) as % of what its limits allow:
    ``rate`` a minute for the key (scope key) or for each endpoint (scope operation)."""
    served = [s for s in seen if s.status == 200 and start <= s.at < end]
    minutes = (end - start) / 60
    per_lane = {}
    for e in ENDPOINTS.values():
        got = sum(1 for s in served if s.path == e.path)
        per_lane[e.name] = 100 * got / (e.requests_per_minute * rate / 60 * minutes)
    if scope == "key":
        return 100 * len(served) / (rate * minutes), per_lane
    allowed = sum(e.requests_per_minute * rate / 60 for e in ENDPOINTS.values()) * minutes
    return 100 * len(served) / allowed, per_lane


def fairness(db: Path, start: float, end: float) -> tuple[float, list[int]]:
    """Jain's index over the seats' upstream calls in [start, end) (Unix s), from the ledger."""
    with sqlite3.connect(db) as conn:
        counts = [row[0] for row in conn.execute(
            "SELECT COUNT(*) FROM charges WHERE state IN ('settled', 'reserved') AND "
            "created >= ? AND created < ? GROUP BY seat_id", (start, end))]
    return sum(counts) ** 2 / (len(counts) * sum(c * c for c in counts)), counts


def ledger_total(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        return float(conn.execute("SELECT SUM(spent + reserved) FROM seats").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=70.0, help="the room's run")
    parser.add_argument("--rate", type=float, default=600.0, help="upstream calls per minute")
    parser.add_argument("--scopes", default="operation,key", help="upstream limit scopes")
    args = parser.parse_args()
    for scope in args.scopes.split(","):
        print(f"## scope {scope}", flush=True)
        run_scope(scope, args.rate, args.seconds)


def run_scope(scope: str, rate: float, seconds: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))

    # 1. Overhead, on an upstream and a ledger of their own (the room must not share its window).
    fake = Fake(rate, scope)
    with Ledger(workdir / "overhead.db") as ledger:
        [(_, seat)] = ledger.create_seats(1, 1_000_000)
    gateway = Gateway(workdir / "overhead.db", fake.url, rate, scope)
    lat, _ = overhead(fake, gateway, seat, rate)
    gateway.stop()
    fake.close()
    for operation, (d50, d95, g50, g95) in lat.items():
        print(f"overhead {operation}: direct p50 {d50:.1f} ms p95 {d95:.1f} ms | gateway "
              f"p50 {g50:.1f} ms p95 {g95:.1f} ms | overhead p50 {g50 - d50:.1f} ms "
              f"p95 {g95 - d95:.1f} ms")

    # 2. and 3. The room, then the kill; the service takes a while, so calls overlap.
    fake = Fake(rate, scope, latency=0.3)
    db = workdir / "room.db"
    with Ledger(db) as ledger:
        keys = [key for _, key in ledger.create_seats(SEATS, 1_000_000)]
    gateway = Gateway(db, fake.url, rate, scope)
    stop = asyncio.Event()
    started, wall = time.monotonic(), time.time()

    async def run_and_kill() -> int:
        task = asyncio.ensure_future(room(gateway.url, keys, seconds + 30, stop))
        await asyncio.sleep(seconds)
        stop.set()
        gateway.kill()  # mid-run: calls queued, in flight upstream, being settled
        return await task

    failures = asyncio.run(run_and_kill())
    measured = seconds - WARMUP - 1.0
    time.sleep(1.0)  # let the upstream finish what it was answering
    seen = fake.seen()
    used, per_lane = upstream_use(seen, started + WARMUP, started + WARMUP + measured, rate,
                                  scope)
    jain, per_seat = fairness(db, wall + WARMUP, wall + WARMUP + measured)

    gateway.stop()
    restarted = Gateway(db, fake.url, rate, scope)
    total = ledger_total(db)
    restarted.stop()
    through_gateway = fake.charged
    fake.close()
    limit = "for the key" if scope == "key" else "per endpoint"
    print(f"room: {SEATS} seats x {OUTSTANDING} outstanding, {seconds:.0f} s, rate "
          f"{rate:.0f}/min {limit} (text inpainting {rate / 2:.0f}/min)")
    print(f"upstream use {used:.1f} % of its rate over {measured:.0f} s (per endpoint: "
          + ", ".join(f"{k} {v:.1f} %" for k, v in per_lane.items()) + ")")
    too_many = sum(1 for s in seen if s.status == 429)
    print(f"429s at the upstream: {too_many}; non-200 answers to seats before the kill: "
          f"{failures}")
    print(f"Jain's fairness index over {len(per_seat)} active seats: {jain:.4f} "
          f"(upstream calls per seat {min(per_seat)}-{max(per_seat)})")
    print(f"after kill -9 and restart: ledger total {total:g} credits; the upstream charged "
          f"{through_gateway:g} credits for calls through the gateway "
          f"({'equal' if total == through_gateway else 'DIFFERENT'})", flush=True)


if __name__ == "__main__":
    main()
