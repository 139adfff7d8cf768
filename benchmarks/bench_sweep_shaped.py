"""Sweeps against the service-shaped upstream, in both scopes of its limit (issue 19).

    .venv/bin/python benchmarks/bench_sweep_shaped.py [--scale 6]      # about 2.5 minutes

The upstream is `clipdrop_widgets.engine.shaped.ShapedService`: 60 calls per window per key
(scope ``key``) or per operation (scope ``operation``), answers in 1-5 s, 1 % of calls failing
with a 500 and 1 % of connections dropped after the work was charged, 429 with
``Retry-After`` past the limit; it answers a stock PNG (``Shape(render=False)``) so the
engine's CPU time on a shared machine is not what is measured. Time is scaled down
``--scale`` times (window ``60 / scale`` s, latency too; the client is told
``requests_per_minute = 60 * scale``, and the service's scope as its ``limit_scope``: the
default ``"key"`` for the first, ``"operation"`` for the second).

For each scope, two cases with one key:

* one sweep of 121 text to image prompts (two windows and one);
* two sweeps at once, text to image and replace background, 61 items each, the way a
  notebook with two cells running, or two notebooks, would use one key.

A fifth row is the control, the client's pacing before issue 19's fix: two sweeps against
the per-key service from a client told ``limit_scope="operation"`` (a pace per operation).

Figures: calls the upstream accepted per second, from its first to its last, as a share of
the key's limit in that scope (60 per window; in scope ``operation`` each operation has its
own, so two sweeps may use 2 x 60); 429s; items not ``ok`` at the end (the 500s and dropped
connections, which a sweep reports rather than pays twice).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import threading
import warnings
from pathlib import Path

from PIL import Image

from clipdrop_widgets import Client, Sweep
from clipdrop_widgets.engine.shaped import Shape, ShapedService

KEY = "bench-shaped-key"
ITEMS = 121
PAIR_ITEMS = 61


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _sweep(client: Client, operation: str, items: int, tag: str,
           failed: list[int]) -> None:
    prompts = [f"{tag} {i}" for i in range(items)]
    inputs = {"image": _photo()} if operation == "replace_background" else None
    records = Sweep(client, operation, prompts=prompts, inputs=inputs).run(progress=False)
    failed.append(sum(r["status"] != "ok" for r in records))


def case(scope: str, pair: bool, scale: float,
         client_scope: str | None = None) -> dict[str, object]:
    window = 60.0 / scale
    shape = Shape(scope=scope, rate=60, window=window, latency=(1.0 / scale, 5.0 / scale),
                  error_rate=0.01, drop_rate=0.01, seed=11, render=False)
    service = ShapedService(KEY, shape).start()
    client = Client(KEY, base_url=service.url, requests_per_minute=60 * scale,
                    limit_scope=client_scope or scope)
    failed: list[int] = []
    jobs = ([("text_to_image", PAIR_ITEMS, "text"), ("replace_background", PAIR_ITEMS, "bg")]
            if pair else [("text_to_image", ITEMS, "text")])
    threads = [threading.Thread(target=_sweep, args=(client, op, n, tag, failed))
               for op, n, tag in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = service.snapshot()
    service.close()
    accepted = sorted(c.at for c in calls if c.status != 429)
    rate = (len(accepted) - 1) / (accepted[-1] - accepted[0])
    limit = 60 / window
    name = "two sweeps" if pair else "one sweep"
    if client_scope not in (None, scope):
        name += f", client paced per {client_scope}"
    return {"scope": scope, "case": name,
            "items": sum(n for _, n, _ in jobs), "use": rate / limit,
            "allowed": 2.0 if pair and scope == "operation" else 1.0,
            "too_many": sum(c.status == 429 for c in calls),
            "errors": sum(c.status == 500 for c in calls),
            "dropped": sum(c.status == 599 for c in calls), "not_ok": sum(failed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=6.0, help="time scaling (default 6)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as pacers:
        os.environ["CLIPDROP_PACER_DIR"] = pacers  # no other run's pace on this machine
        load = Path('/proc/loadavg').read_text().split()[:3]
        print(f"load average {' '.join(load)}; time scaled "
              f"{args.scale:g}x\n")
        print("| scope | case | items | accepted calls, % of the key's limit | the scope "
              "allows | 429s | 500s / drops | items not ok |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        runs = [(scope, pair, None) for scope in ("key", "operation") for pair in (False, True)]
        for scope, pair, client_scope in [*runs, ("key", True, "operation")]:
            r = case(scope, pair, args.scale, client_scope)
            print(f"| {r['scope']} | {r['case']} | {r['items']} | {100 * r['use']:.1f} % "
                  f"| {100 * r['allowed']:.0f} % | {r['too_many']} | {r['errors']} / "
                  f"{r['dropped']} | {r['not_ok']} |", flush=True)
        load = Path('/proc/loadavg').read_text().split()[:3]
        print(f"\nload average at the end {' '.join(load)}")


if __name__ == "__main__":
    main()
