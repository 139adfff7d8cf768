"""A class's first calls at once on a slow hub: all seated, and how long the last one waits.

    .venv/bin/python benchmarks/bench_hub_burst.py [--users 150] [--hub-delay 0.5]

A stand-in of the hub's REST API on loopback answers every request (``GET /hub/api/user``,
``GET /hub/api/users/NAME``) after ``--hub-delay`` seconds, as a hub busy spawning the class
would. The gateway (``--hub-group workshop``, then without the group: ``--hub``) gets
``--users`` new users' first ``GET /gateway/v1/seat`` all at once. Before issue 25's fix the
group lookups went 10 at a time through tornado's shared client and 40 of 150 got a false
"the hub did not answer within 5 s" 502. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from clipdrop_widgets import serve_gateway
from clipdrop_widgets.gateway.hub import HubPolicy

SERVICE = "svc-token-0123456789"
SCOPES = ["access:services!service=clipdrop-gateway"]


class _User(RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(self.settings["delay"])
        name = self.request.headers.get("Authorization", "").partition(" ")[2].removeprefix("tok-")
        self.finish({"kind": "user", "name": name, "scopes": SCOPES})


class _Users(RequestHandler):
    async def get(self, name: str) -> None:
        await asyncio.sleep(self.settings["delay"])
        self.finish({"kind": "user", "name": name, "groups": ["workshop"], "admin": False})


def fake_hub(delay: float) -> str:
    """Start the stand-in hub in a thread; its API URL."""
    sockets = bind_sockets(0, "127.0.0.1")
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        app = Application([(r"/hub/api/user", _User), (r"/hub/api/users/([^/]+)", _Users)],
                          delay=delay)
        HTTPServer(app).add_sockets(sockets)
        ready.set()
        asyncio.get_event_loop().run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait()
    return f"http://127.0.0.1:{sockets[0].getsockname()[1]}/hub/api"


def burst(url: str, names: list[str]) -> list[tuple[int, float]]:
    async def run() -> list[tuple[int, float]]:
        client = AsyncHTTPClient(force_instance=True, max_clients=len(names))

        async def one(name: str) -> tuple[int, float]:
            started = time.monotonic()
            answer = await client.fetch(url + "/gateway/v1/seat", raise_error=False,
                                        headers={"x-api-key": f"tok-{name}"},
                                        request_timeout=60)
            return answer.code, time.monotonic() - started

        try:
            return list(await asyncio.gather(*(one(name) for name in names)))
        finally:
            client.close()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--hub-delay", type=float, default=0.5)
    args = parser.parse_args()
    os.environ.update(JUPYTERHUB_API_URL=fake_hub(args.hub_delay), JUPYTERHUB_API_TOKEN=SERVICE,
                      JUPYTERHUB_SERVICE_NAME="clipdrop-gateway")
    os.environ.pop("CLIPDROP_API_KEY", None)
    os.environ.pop("CLIPDROP_API_URL", None)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{args.users} new users at once, hub answering in {args.hub_delay:g} s; load {load}\n")
    print("| gateway | 200 | 502 | p50 s | max s |\n| --- | --- | --- | --- | --- |")
    for flag, group in (("--hub-group workshop", "workshop"), ("--hub", None)):
        with tempfile.TemporaryDirectory() as room, \
                serve_gateway(Path(room) / "room.db", port=0, background=True,
                              hub=HubPolicy(group=group)) as gateway:
            answers = burst(gateway.url, [f"s{i:03d}" for i in range(args.users)])
        codes = Counter(code for code, _ in answers)
        seconds = sorted(s for _, s in answers)
        print(f"| `{flag}` | {codes[200]} | {codes[502]} | {seconds[len(seconds) // 2]:.2f} | "
              f"{seconds[-1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
