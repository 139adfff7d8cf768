"""A workshop room through the gateway, against the service-shaped upstream, in both scopes.

    .venv/bin/python benchmarks/bench_room.py [--scale 6] [--minutes 5]

The upstream is `clipdrop_widgets.engine.shaped.ShapedService` (the local engine behind the
service's limits): 60 calls per window per key (scope ``key``) or per operation (scope
``operation``), text inpainting 30 of its own, answers in 1-5 s, 1 % of calls failing with a
500 and 1 % of connections dropped after the work was charged, 429 with ``Retry-After`` past
the limit; it answers a stock PNG (``Shape(render=False)``) so the engine's CPU time on a
shared machine is not what is measured. Time is scaled down ``--scale`` times (window
60 / scale s, latency and human pace too; the gateway is told ``--requests-per-minute
60 * scale``), so five minutes of a room run in ``5 / scale``. The gateway runs as
``clipdrop-widgets gateway serve`` in a subprocess.

For each scope, two rooms of ``--minutes`` (scaled):

* 9 seats calling at human pace (one call every 10-20 s, a random one of four operations);
* the same 9 seats and a 10th running 8 threads flat out.

Figures: the 9 seats' p95 wait for an upstream slot (the gateway's request log), with and
without the flooder; upstream use while demand exceeds the rate (calls the upstream accepted
over the measured span against its limit); 429s at the upstream. At the end of the flooded room,
the gateway is killed with SIGKILL mid-run and restarted on the same ledger: each seat's
ledger total against what the upstream charged for that seat's calls (prompts carry the label).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from PIL import Image

from clipdrop_widgets.engine.shaped import Shape, ShapedService
from clipdrop_widgets.gateway import Ledger

ROOM_KEY = "sk-room-bench-never-shown"
TOKEN = "bench-admin-token"
HUMANS = 9
FLOOD_THREADS = 8
WARMUP = 0.1  # share of the run before the measured span


def _png(mode: str, color: object, size: tuple[int, int] = (64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


PHOTO, SKETCH = _png("RGB", (30, 120, 200)), _png("L", 0)
MASK = Image.new("L", (64, 64), 0)
MASK.paste(255, (10, 10, 30, 30))
_MASK = io.BytesIO()
MASK.save(_MASK, "PNG")
MASK_BYTES = _MASK.getvalue()
OPERATIONS = {
    "/text-to-image/v1": lambda p: {"prompt": (None, p)},
    "/replace-background/v1": lambda p: {"image_file": ("p.png", PHOTO), "prompt": (None, p)},
    "/sketch-to-image/v1/sketch-to-image": lambda p: {"sketch_file": ("s.png", SKETCH),
                                                      "prompt": (None, p)},
    "/text-inpainting/v1": lambda p: {"image_file": ("p.png", PHOTO),
                                      "mask_file": ("m.png", MASK_BYTES),
                                      "text_prompt": (None, p)},
}


class Gateway:
    """``gateway serve`` in a subprocess."""

    def __init__(self, db: Path, upstream: str, rate: float, scope: str):
        token = db.parent / "admin-token"
        token.write_text(TOKEN)
        self.log = db.parent / f"gateway-{time.monotonic_ns()}.log"
        env = {**os.environ, "CLIPDROP_API_KEY": ROOM_KEY}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clipdrop_widgets", "gateway", "serve", "--db", str(db),
             "--port", "0", "--upstream", upstream, "--requests-per-minute", str(rate),
             "--upstream-limit-scope", scope, "--admin-token-file", str(token),
             "--log-level", "warning"], stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+) ", self.log.read_text())
            if found:
                self.url = found.group(1)
                return
            time.sleep(0.05)
        raise RuntimeError(self.log.read_text())

    def requests_log(self) -> list[dict[str, str]]:
        answer = requests.get(f"{self.url}/gateway/admin/log.csv?token={TOKEN}", timeout=30)
        return list(csv.DictReader(io.StringIO(answer.text)))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def _call(url: str, key: str, label: str, n: int, rng: random.Random) -> None:
    path = rng.choice(list(OPERATIONS))
    try:
        requests.post(url + path, headers={"x-api-key": key}, timeout=120,
                      files=OPERATIONS[path](f"{label}#{n}"))
    except requests.RequestException:
        pass  # the gateway was killed


def _human(url: str, key: str, label: str, pace: tuple[float, float], stop: threading.Event,
           seed: int) -> None:
    rng = random.Random(seed)
    n = 0
    while not stop.wait(rng.uniform(*pace)):
        n += 1
        _call(url, key, label, n, rng)


def _flooder(url: str, key: str, label: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    n = seed * 100_000
    while not stop.is_set():
        n += 1
        _call(url, key, label, n, rng)


def room(scope: str, flood: bool, scale: float, minutes: float, workdir: Path,
         kill: bool) -> dict[str, object]:
    window = 60.0 / scale
    shape = Shape(scope=scope, rate=60, window=window, latency=(1.0 / scale, 5.0 / scale),
                  error_rate=0.01, drop_rate=0.01, seed=7, render=False)
    service = ShapedService(ROOM_KEY, shape).start()
    db = workdir / f"{scope}-{'flood' if flood else 'calm'}.db"
    with Ledger(db) as ledger:
        seats = ledger.create_seats(HUMANS + (1 if flood else 0), 1_000_000)
    gateway = Gateway(db, service.url, 60 * scale, scope)
    stop = threading.Event()
    threads = [threading.Thread(target=_human, args=(gateway.url, key, label,
                                                     (10 / scale, 20 / scale), stop, i))
               for i, (label, key) in enumerate(seats[:HUMANS])]
    if flood:
        label, key = seats[HUMANS]
        threads += [threading.Thread(target=_flooder, args=(gateway.url, key, label, stop, t + 1))
                    for t in range(FLOOD_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    span = minutes * 60 / scale
    time.sleep(span)
    end = time.monotonic()
    log = gateway.requests_log()
    result: dict[str, object] = {}
    if kill:
        gateway.kill()
    stop.set()
    for thread in threads:
        thread.join()
    if not kill:
        gateway.stop()
    while service.in_progress:  # the upstream finishes what it was given
        time.sleep(0.05)
    humans = {label for label, _ in seats[:HUMANS]}
    waits = [float(r["waited_s"]) for r in log if r["seat"] in humans and r["waited_s"]]
    calls = service.snapshot()
    measured = [c for c in calls if started + WARMUP * span <= c.at <= end]
    accepted = [c for c in measured if c.status != 429]
    limit = 60 * (end - started - WARMUP * span) / window
    result.update(scope=scope, flood=flood, human_calls=len(waits),
                  human_wait_p50=statistics.median(waits) if waits else None,
                  human_wait_p95=_p95(waits), too_many=service.count(429),
                  upstream_use=len(accepted) / limit if scope == "key" else None,
                  upstream_calls=len(calls), errors=service.count(500),
                  dropped=service.count(599))
    if kill:
        restarted = Gateway(db, service.url, 60 * scale, scope)  # recovers the orphans
        restarted.stop()
        result["ledger_vs_upstream"] = _seat_by_seat(db, calls)
    service.close()
    return result


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _seat_by_seat(db: Path, calls: list) -> list[tuple[str, float, float]]:
    charged: dict[str, float] = {}
    for call in calls:
        said = call.texts.get("prompt") or call.texts.get("text_prompt") or ""
        label = said.split("#")[0]
        charged[label] = charged.get(label, 0.0) + call.charged
    with Ledger(db) as ledger:
        return [(s.label, s.spent + s.reserved, charged.get(s.label, 0.0))
                for s in ledger.seats()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=6.0, help="time scaling (default 6)")
    parser.add_argument("--minutes", type=float, default=5.0, help="room length, unscaled")
    parser.add_argument("--scopes", default="key,operation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for scope in args.scopes.split(","):
            calm = room(scope, False, args.scale, args.minutes, Path(tmp), kill=False)
            flooded = room(scope, True, args.scale, args.minutes, Path(tmp), kill=True)
            _report(calm, flooded, args.scale)


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value * 1:.2f}" if isinstance(value, float) else str(value)


def _report(calm: dict[str, object], flooded: dict[str, object], scale: float) -> None:
    def real(seconds: object) -> str:  # back to unscaled seconds
        return "-" if seconds is None else f"{float(seconds) * scale:.2f} s"  # type: ignore[arg-type]

    print(f"\n## scope {calm['scope']} (time scaled {scale:g}x; waits shown unscaled)")
    print("| room | human calls | human wait p50 | human wait p95 | upstream use | 429s | "
          "500s | drops |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in (("9 seats", calm), ("9 seats + flooder (8 threads)", flooded)):
        use = r["upstream_use"]
        print(f"| {name} | {r['human_calls']} | {real(r['human_wait_p50'])} | "
              f"{real(r['human_wait_p95'])} | "
              f"{'-' if use is None else f'{100 * float(use):.1f} %'} | {r['too_many']} | "  # type: ignore[arg-type]
              f"{r['errors']} | {r['dropped']} |")
    rows = flooded["ledger_vs_upstream"]
    equal = all(abs(a - b) < 1e-9 for _, a, b in rows)  # type: ignore[union-attr]
    print(f"\nkill -9 mid-run, restart: ledger {'equals' if equal else 'DIFFERS FROM'} the "
          "upstream, seat by seat: " + ", ".join(f"{label} {_fmt(a)}={_fmt(b)}"
                                                   for label, a, b in rows))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
