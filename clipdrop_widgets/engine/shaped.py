"""A service-shaped upstream: the local engine behind the service's limits, latency and faults.

What a gateway or a sweep meets in a real room is not the local engine's instant answers: the
service limits each key (or each operation: `Shape.scope`), answers in 1 to 5 s, says 402 when
the account is empty, 429 with ``Retry-After`` past its limit, fails now and then (5xx) and
drops connections. `ShapedService` serves the engine's contract on loopback with all of that,
reproducibly (seeded), and counts what it charged, so tests and benchmarks can hold a gateway's
ledger against it. Time can be scaled down (`Shape.window`, `Shape.latency`) so a five-minute
room runs in one.

Rules, in order, for each POST: the key (401 none, 403 another); the rate in its scope over
a sliding window (429 with ``Retry-After``, whole seconds until the oldest call leaves it);
the account's credits (402); a share of calls answered 500 (nothing charged); the latency,
drawn uniformly; the engine's answer, charged; a share of connections dropped after the work
was charged (the worst case for a caller's ledger). Not part of the public API.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from ..contract.endpoints import endpoint_for_path
from ..contract.errors import ConfigurationError
from .answers import EngineResponse
from .core import LocalEngine
from .forms import FormError, parse_form

__all__ = ["Shape", "ShapedService", "Call"]


def _stock_png() -> bytes:
    """What ``Shape(render=False)`` answers: a small PNG that decodes (a client checks)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(out, "PNG")
    return out.getvalue()


_STOCK_PNG = _stock_png()


@dataclass(frozen=True)
class Shape:
    """How the service behaves. Rates are calls per ``window`` seconds (the service's 60);
    ``rates`` gives paths a further limit of their own (text inpainting 30, as documented);
    ``latency`` is the (shortest, longest) answer time in seconds; ``error_rate`` and
    ``drop_rate`` the shares of calls failing with a 500 or a dropped connection; ``render``
    whether the engine makes each image."""

    scope: str = "key"
    rate: float = 60
    rates: dict[str, float] = field(default_factory=lambda: {"/text-inpainting/v1": 30})
    window: float = 60.0
    latency: tuple[float, float] = (1.0, 5.0)
    error_rate: float = 0.0
    drop_rate: float = 0.0
    credits: float = 1_000_000
    seed: int = 0
    #: Run the engine for each answer (default); ``False`` answers a small stock PNG, so a
    #: benchmark on a busy machine measures the caller, not the engine's CPU time.
    render: bool = True


@dataclass(frozen=True)
class Call:
    """One request as the service saw it: monotonic ``at``, path, status, credits charged and
    the text fields (a prompt tells whose call it was)."""

    at: float
    path: str
    status: int
    charged: float
    texts: dict[str, str]


class ShapedService:
    """The local engine shaped like the service, for the room's key ``key``; `start` serves
    it on loopback from a daemon thread (``url``), `close` stops it."""

    def __init__(self, key: str, shape: Shape | None = None):
        self.key = key
        self.shape = shape or Shape()
        if self.shape.scope not in ("key", "operation"):
            raise ConfigurationError(f"scope is 'key' or 'operation', got {self.shape.scope!r}")
        self.engine = LocalEngine(require_key=False, practice=True, workers=2, queue=256)
        self.calls: list[Call] = []
        self.credits = self.shape.credits
        self._random = random.Random(self.shape.seed)
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="shaped-engine")
        self.url = ""
        self.in_progress = 0
        """Calls admitted and not yet answered (a benchmark waits for 0 before counting)."""

    # -- what a test reads ----------------------------------------------------------------
    @property
    def charged(self) -> float:
        """Credits charged so far."""
        with self._lock:
            return sum(c.charged for c in self.calls)

    def count(self, status: int) -> int:
        """Calls answered (or dropped: 599) with ``status``."""
        with self._lock:
            return sum(1 for c in self.calls if c.status == status)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    # -- the rules ------------------------------------------------------------------------
    def _limits(self, path: str) -> list[tuple[str, float]]:
        counted = [("key" if self.shape.scope == "key" else path, self.shape.rate)]
        if path in self.shape.rates:
            counted.append((f"own:{path}", self.shape.rates[path]))
        return counted

    def admit(self, path: str, key: str, cost: float) -> tuple[int, dict[str, str]]:
        """Status and headers before any work: 401, 403, 404, 429, 402, 500 or 200."""
        if endpoint_for_path(path) is None:
            return 404, {}
        if not key:
            return 401, {}
        if key != self.key:
            return 403, {}
        now = time.monotonic()
        with self._lock:
            windows = []
            for name, limit in self._limits(path):
                times = self._windows.setdefault(name, deque())
                while times and times[0] <= now - self.shape.window:
                    times.popleft()
                if len(times) >= limit:
                    wait = max(1, math.ceil(times[0] + self.shape.window - now))
                    return 429, {"Retry-After": str(wait)}
                windows.append(times)
            for times in windows:
                times.append(now)
            if self.credits < cost:
                return 402, {}
            if self._random.random() < self.shape.error_rate:
                return 500, {}
            self.credits -= cost
            return 200, {}

    def latency(self) -> float:
        with self._lock:
            return self._random.uniform(*self.shape.latency)

    def dropped(self) -> bool:
        with self._lock:
            return self._random.random() < self.shape.drop_rate

    def record(self, path: str, status: int, charged: float, texts: dict[str, str]) -> None:
        with self._lock:
            self.calls.append(Call(time.monotonic(), path, status, charged, texts))

    # -- serving --------------------------------------------------------------------------
    def start(self) -> ShapedService:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            sockets = bind_sockets(0, "127.0.0.1")
            app = Application([(r"/_stats", _Stats, {"service": self}),
                               (r"/.*", _Handler, {"service": self})],
                              log_function=lambda handler: None)  # its faults are on purpose
            server = HTTPServer(app, max_body_size=200 * 1024 * 1024)
            server.add_sockets(sockets)
            self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.stop()
                loop.close()

        self._thread = threading.Thread(target=run, name="shaped-service", daemon=True)
        self._thread.start()
        ready.wait()
        return self

    def close(self) -> None:
        if getattr(self, "_thread", None) is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _texts(path: str, content_type: str | None, body: bytes) -> dict[str, str]:
    endpoint = endpoint_for_path(path)
    if endpoint is None:
        return {}
    try:
        return dict(parse_form(endpoint, content_type, io.BytesIO(body), len(body)).texts)
    except FormError:
        return {}


class _Handler(RequestHandler):
    def initialize(self, service: ShapedService) -> None:
        self.service = service

    def _error(self, status: int, headers: dict[str, str]) -> None:
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": f"shaped service: {status}"}))

    async def post(self) -> None:
        service, path = self.service, self.request.path
        endpoint = endpoint_for_path(path)
        cost = float(endpoint.credits) if endpoint is not None else 0.0
        texts = _texts(path, self.request.headers.get("Content-Type"), self.request.body)
        status, headers = service.admit(path, self.request.headers.get("x-api-key", ""), cost)
        if status != 200:
            service.record(path, status, 0.0, texts)
            self._error(status, headers)
            return
        service.in_progress += 1
        try:
            await asyncio.sleep(service.latency())
            answer = await self._work()
        finally:
            service.in_progress -= 1
        if answer.status != 200:  # the engine refused the input: nothing charged
            service.credits += cost
            service.record(path, answer.status, 0.0, texts)
            self._error(answer.status, {})
            return
        if service.dropped():  # the work is done and paid; the caller never hears of it
            service.record(path, 599, cost, texts)
            self.request.connection.stream.close()  # type: ignore[union-attr]
            return
        service.record(path, 200, cost, texts)
        self.set_header("Content-Type", answer.headers.get("Content-Type", "image/png"))
        self.set_header("x-credits-consumed", f"{cost:g}")
        self.set_header("x-remaining-credits", f"{service.credits:g}")
        self.finish(answer.body)


    async def _work(self) -> EngineResponse:
        if not self.service.shape.render:
            return EngineResponse(200, {"Content-Type": "image/png"}, _STOCK_PNG)
        headers = {k: v for k, v in self.request.headers.items()
                   if k.lower() in ("accept", "content-type")}
        return await asyncio.get_running_loop().run_in_executor(
            self.service._pool, self.service.engine.handle, "POST", self.request.path, headers,
            io.BytesIO(self.request.body), len(self.request.body))


class _Stats(RequestHandler):
    def initialize(self, service: ShapedService) -> None:
        self.service = service

    def get(self) -> None:
        calls: list[Any] = [[c.at, c.path, c.status, c.charged, c.texts]
                            for c in self.service.snapshot()]
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"charged": self.service.charged, "calls": calls}))
