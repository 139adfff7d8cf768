"""Request bodies held within a room-wide budget, spooled to disk, sent whole every time.

Before issue 19, 16 seats' 58 MB uploads were each held in memory (several copies) until sent:
1.3 GB. The figures are in benchmarks/README.md; here the rules that bound them.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import time
import urllib.parse

import numpy as np
import pytest
import requests
from gateway_fake import post
from PIL import Image

from clipdrop_widgets.gateway.bodies import SPOOL_AT, BodyBudget, spool

MB = 1024 * 1024


def test_big_bodies_wait_for_the_budget_in_order_and_small_ones_never_wait():
    async def run() -> list[str]:
        budget = BodyBudget(10 * MB)
        order: list[str] = []
        first_in = asyncio.Event()
        release_first = asyncio.Event()

        async def body(name: str, size: int, hold: asyncio.Event | None = None) -> None:
            async with budget.hold(size):
                order.append(name)
                if name == "big-1":
                    first_in.set()
                if hold is not None:
                    await hold.wait()

        first = asyncio.create_task(body("big-1", 8 * MB, release_first))
        await first_in.wait()
        second = asyncio.create_task(body("big-2", 8 * MB))
        await asyncio.sleep(0.01)
        assert budget.waiting == 1 and budget.used == 10 * MB  # 4x its size, capped
        await body("small", 100_000)  # a prompt goes straight through
        release_first.set()
        await asyncio.gather(first, second)
        assert budget.used == 0
        return order

    assert asyncio.run(run()) == ["big-1", "small", "big-2"]


def test_a_spool_moves_to_disk_past_a_megabyte():
    file = spool()
    file.write(b"x" * (SPOOL_AT + 1))
    assert file._rolled  # type: ignore[attr-defined]  # on disk, not on the heap
    file.close()


def _noise_png(size: tuple[int, int]) -> bytes:
    pixels = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


def test_a_large_upload_reaches_the_service_whole_even_when_sent_twice(make_fake, make_gateway,
                                                                     ledger):
    tried: list[int] = []

    def script(path, texts):  # a 429 first: the spooled body is read again from its start
        if not tried:
            tried.append(1)
            return 429, {"Retry-After": "0"}, b'{"error": "slow down"}', 0
        return None

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url, requests_per_minute=600, body_memory=4 * MB)
    [(_, seat)] = ledger.create_seats(1, 10)
    photo = _noise_png((1600, 1200))  # 5.8 MB, over the budget: it waits for it alone
    mask = Image.new("L", (1600, 1200), 0)
    mask.paste(255, (100, 100, 400, 300))
    mask_bytes = io.BytesIO()
    mask.save(mask_bytes, "PNG")
    answer = post(gateway.url, "/cleanup/v1", seat,
                  files={"image_file": ("p.png", photo), "mask_file": ("m.png",
                                                                       mask_bytes.getvalue())})
    assert answer.status_code == 200, answer.text
    sizes = [s.size for s in fake.seen]
    assert len(sizes) == 2 and sizes[0] == sizes[1] > len(photo)
    assert gateway.gateway.bodies.used == 0


def test_gateway_serve_takes_the_rooms_body_memory_in_megabytes(tmp_path, monkeypatch, capsys):
    import pytest

    from clipdrop_widgets.cli import build_parser
    from clipdrop_widgets.contract.errors import ConfigurationError
    from clipdrop_widgets.gateway import server
    from clipdrop_widgets.gateway.core import Gateway

    db = str(tmp_path / "room.db")
    for bad in ("0", "-5", "1.5", "lots"):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(["gateway", "serve", "--db", db, "--body-memory", bad])
        assert exited.value.code == 2
        assert "whole number of megabytes >= 1" in capsys.readouterr().err
    with pytest.raises(ConfigurationError, match="body_memory must be a positive"):
        Gateway(ledger=None, upstream=None, body_memory=0)  # type: ignore[arg-type]

    served: dict[str, object] = {}
    serve = server.serve_gateway

    def serve_in_background(path, **options):  # the CLI's options, served for real
        options.update(port=0, background=True)
        served["handle"] = serve(path, **options)

    monkeypatch.setattr(server, "serve_gateway", serve_in_background)
    monkeypatch.setattr("signal.signal", lambda *_: None)  # the CLI's SIGTERM handler
    monkeypatch.setattr("logging.basicConfig", lambda **_: None)  # and its root logger
    args = build_parser().parse_args(["gateway", "serve", "--db", db, "--upstream",
                                      "local://engine", "--body-memory", "16"])
    assert args.run(args) == 0
    handle = served["handle"]
    try:
        assert handle.gateway.bodies.limit == 16 * MB
    finally:
        handle.close()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gateway", "serve", "--help"])
    assert "--body-memory MB" in capsys.readouterr().out


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_an_upload_abandoned_mid_body_closes_its_spool(make_fake, make_gateway, ledger):
    # Before the fix each upload the participant abandoned kept its temp file (the bytes
    # received so far) and its descriptor until the gateway stopped (findings19c F4).
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    host, port = urllib.parse.urlsplit(gateway.url).netloc.split(":")
    requests.get(gateway.url + "/gateway/v1/seat", headers={"x-api-key": seat}, timeout=10)
    baseline = _open_fds()
    for _ in range(4):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST /cleanup/v1 HTTP/1.1\r\nHost: {host}\r\nx-api-key: {seat}\r\n"
                         "Content-Type: multipart/form-data; boundary=b\r\n"
                         "Content-Length: 9000000\r\n\r\n".encode())
            sock.sendall(b"--b\r\n" + b"x" * 2_500_000)  # on disk: past the spool's megabyte
            time.sleep(0.3)
    deadline = time.monotonic() + 10
    while _open_fds() > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _open_fds() <= baseline
