"""Fixtures of the gateway's room tests: a strict fake of the service, a gateway in this process
on a fresh ledger, and the teacher's own connection to that ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gateway_fake import ROOM_KEY, FakeService

from clipdrop_widgets.gateway import GatewayHandle, Ledger, serve_gateway


@pytest.fixture
def make_fake() -> Iterator[Callable[..., FakeService]]:
    fakes: list[FakeService] = []

    def make(**options: Any) -> FakeService:
        fake = FakeService(room_key=ROOM_KEY, **options).start()
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.close()


@pytest.fixture
def make_gateway(tmp_path) -> Iterator[Callable[..., GatewayHandle]]:
    handles: list[GatewayHandle] = []

    def make(upstream: str, **options: Any) -> GatewayHandle:
        options.setdefault("upstream_key", ROOM_KEY)
        handle = serve_gateway(tmp_path / "room.db", port=0, upstream=upstream,
                               background=True, **options)
        assert handle is not None
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.close()


@pytest.fixture
def ledger(tmp_path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "room.db") as opened:
        yield opened
