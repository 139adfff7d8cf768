"""The engine's bounded work: past its pool and queue a request gets 503 with Retry-After.

Over loopback (a real tornado server in this process, or ``serve`` as a subprocess) and
through the in-process adapter, which share one bounded pool per engine. The operation is
held on an event where a test needs a request to stay in progress: that is the engine's own
work, not the HTTP layer, which is never mocked.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image

from clipdrop_widgets import Client
from clipdrop_widgets.engine import LocalEngine, LocalEngineAdapter, ServerHandle, operations
from clipdrop_widgets.engine.work import WorkPool

KEY = "load-key"
AUTH = {"x-api-key": KEY}
TIMEOUT = 60  # seconds; a hang fails the test instead of stalling the suite
GB = 1024**3


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None]
    pixels = np.broadcast_to(ramp, (height, width, 3)) + rng.integers(0, 55, (height, width, 3),
                                                                      dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def png_mask(width: int, height: int) -> bytes:
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (width // 3, height // 3, width // 2, height // 2))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Operations wait for this event before running (set at the end in any case)."""
    release = threading.Event()
    real = operations.run

    def waiting(*args: Any) -> Image.Image:
        assert release.wait(TIMEOUT), "the test never released the operation"
        return real(*args)

    monkeypatch.setattr(operations, "run", waiting)
    yield release
    release.set()


def test_pool_defaults_to_the_cores_and_twice_as_many_waiting() -> None:
    pool = WorkPool()
    assert pool.workers == (os.cpu_count() or 1)
    assert pool.capacity == 3 * pool.workers
    with pytest.raises(ValueError, match="workers must be a positive int"):
        WorkPool(workers=0)
    with pytest.raises(ValueError, match="queue must be an int >= 0"):
        LocalEngine(queue=-1)


def test_seventeen_concurrent_heavy_uploads_past_a_small_queue(
        make_served_engine: Callable[..., ServerHandle], held: threading.Event) -> None:
    """One worker, two waiting: of 17 concurrent 1 MP cleanups three are admitted and the
    other 14 get 503 with Retry-After at once; the three then succeed, and the 14, retried
    by the Client after the delay the server asked for, succeed too."""
    handle = make_served_engine(workers=1, queue=2)
    photo, mask = jpeg(1024, 1024), png_mask(1024, 1024)
    files = {"image_file": ("p.jpg", photo), "mask_file": ("m.png", mask)}
    start = threading.Barrier(17)

    def post(_: int) -> requests.Response:
        with requests.Session() as session:
            start.wait(timeout=TIMEOUT)
            return session.post(handle.url + "/cleanup/v1", files=files, headers=AUTH,
                                timeout=TIMEOUT)

    answers: list[requests.Response] = []
    with ThreadPoolExecutor(17) as pool:
        futures = [pool.submit(post, i) for i in range(17)]
        for future in as_completed(futures, timeout=TIMEOUT):
            answers.append(future.result())
            if len(answers) == 14:
                held.set()  # every refusal is in: let the admitted three run
    busy = [r for r in answers if r.status_code == 503]
    done = [r for r in answers if r.status_code == 200]
    assert len(busy) == 14 and len(done) == 3
    assert answers[-3:] == [r for r in answers if r.status_code == 200]  # refusals came first
    for r in busy:
        assert r.headers["Content-Type"] == "application/json"
        assert "busy" in r.json()["error"]
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    for r in done:
        assert Image.open(io.BytesIO(r.content)).size == (1024, 1024)
    assert handle.engine.pool.peak == 3
    assert handle.engine.remaining_credits == 100 - 3

    client = Client(KEY, base_url=handle.url, max_retries=20)
    with ThreadPoolExecutor(14) as pool:
        results = list(pool.map(lambda _: client.cleanup(photo, mask), range(14)))
    assert all(result.image.size == (1024, 1024) for result in results)
    assert handle.engine.remaining_credits == 100 - 17
    assert handle.engine.pool.peak == 3
    assert handle.engine.pool.in_use == 0


def test_the_in_process_adapter_shares_the_bound(held: threading.Event) -> None:
    engine = LocalEngine(workers=1, queue=0)
    photo, mask = jpeg(64, 64), png_mask(64, 64)
    with requests.Session() as session, ThreadPoolExecutor(1) as pool:
        session.mount("local://", LocalEngineAdapter(engine))

        def post() -> requests.Response:
            return session.post("local://engine/cleanup/v1", headers=AUTH,
                                files={"image_file": ("p.jpg", photo),
                                       "mask_file": ("m.png", mask)})

        first = pool.submit(post)
        deadline = time.monotonic() + TIMEOUT
        while engine.pool.in_use == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = post()
        assert busy.status_code == 503
        assert int(busy.headers["Retry-After"]) >= 1
        held.set()
        assert first.result(timeout=TIMEOUT).status_code == 200
        assert post().status_code == 200
    assert [status for _, status in engine.log] == [503, 200, 200]


def test_a_client_mid_body_holds_no_place(
        make_served_engine: Callable[..., ServerHandle]) -> None:
    """One worker, no queue: a body still arriving takes no place (it used to, and others
    got 503); it takes one only once read, and leaving mid-body frees what it held."""
    handle = make_served_engine(workers=1, queue=0)
    request = (b"POST /text-to-image/v1 HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n"
               b"Content-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 100\r\n\r\nprompt=")
    with socket.create_connection((handle.host, handle.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + TIMEOUT
        while handle.engine.pool.receiving == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert handle.engine.pool.receiving == 1 and handle.engine.pool.in_use == 0
        assert requests.post(handle.url + "/text-to-image/v1", data={"prompt": "a fox"},
                             headers=AUTH, timeout=TIMEOUT).status_code == 200
    deadline = time.monotonic() + TIMEOUT
    while handle.engine.pool.receiving and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handle.engine.pool.receiving == 0 and handle.engine.pool.in_use == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _peak_rss(pid: int) -> int:
    """The process's peak resident size in bytes (``VmHWM``, kept by the kernel)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_serve_peak_memory_stays_bounded_under_concurrent_16_mp_uploads() -> None:
    """6 concurrent 16 MP cleanups against ``serve --workers 2 --queue 1``: retried 503s until
    all succeed, and the server's peak RSS stays far below what 6 at once would take (the
    benchmark gives the precise figure: benchmarks/bench_engine_memory.py)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "clipdrop_widgets", "serve", "--port", str(port),
         "--workers", "2", "--queue", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None and url in process.stdout.readline()
        photo, mask = jpeg(4000, 4000), png_mask(4000, 4000)
        files = {"image_file": ("p.jpg", photo), "mask_file": ("m.png", mask)}
        refused = 0

        def upload(_: int) -> requests.Response:
            nonlocal refused
            with requests.Session() as session:
                while True:
                    r = session.post(url + "/cleanup/v1", files=files, headers=AUTH,
                                     timeout=240)
                    if r.status_code != 503:
                        return r
                    refused += 1
                    time.sleep(int(r.headers["Retry-After"]))

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(upload, range(6)))
        peak = _peak_rss(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
    assert [r.status_code for r in answers] == [200] * 6
    assert Image.open(io.BytesIO(answers[0].content)).size == (4000, 4000)
    assert refused > 0  # the queue was full at some point: the bound was exercised
    assert peak < 2.5 * GB, f"peak RSS {peak / GB:.2f} GiB"
