"""Shared fixtures: the local engine served on loopback, closed after each test; one loopback
`FaultServer` for the whole run (``server``, reset before each test) and an unpaced ``client``
of it; the data folder (sessions) under pytest's temporary folder for the whole run."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import UNPACED, FaultServer

from clipdrop_widgets import Client
from clipdrop_widgets.api.session import DATA_DIR_ENV
from clipdrop_widgets.engine import LocalEngine, ServerHandle, serve


def _ours_in_system_temp(since: float) -> set[str]:
    """Entries named clipdrop* in the system temporary folder made since ``since``."""
    found = set()
    for entry in Path(tempfile.gettempdir()).iterdir():
        try:
            if entry.name.lower().startswith("clipdrop") and entry.stat().st_ctime >= since:
                found.add(entry.name)
        except OSError:
            pass
    return found


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test (and every server or kernel a test starts) writes its sessions under
    pytest's temporary folder, never in the user's data folder; and the run leaves no
    clipdrop* entry in the system temporary folder."""
    folder = tmp_path_factory.mktemp("data")
    started = time.time() - 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(folder))
        yield folder
    left = _ours_in_system_temp(started)
    assert not left, f"the tests left these in {tempfile.gettempdir()}: {sorted(left)}"


@pytest.fixture
def served_engine() -> Iterator[ServerHandle]:
    """A default engine (any key, 100 credits, no rate limit) on a free loopback port."""
    with serve(port=0, background=True) as handle:
        yield handle


@pytest.fixture
def make_served_engine() -> Iterator[Callable[..., ServerHandle]]:
    """Factory: ``make_served_engine(api_key=..., credits=..., rate_limit=...)`` serves a
    :class:`LocalEngine` made with those options on a free port; all are closed after the test.
    """
    handles: list[ServerHandle] = []

    def make(**options: Any) -> ServerHandle:
        handle = serve(port=0, background=True, engine=LocalEngine(**options))
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.close()


@pytest.fixture(scope="session")
def _one_fault_server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def server(_one_fault_server: FaultServer) -> FaultServer:
    """The loopback `FaultServer` every test of the wire shares, reset before each test: its
    default image answer, no scripted actions, nothing seen, no rate limit."""
    _one_fault_server.reset()
    return _one_fault_server


@pytest.fixture
def client(server: FaultServer) -> Iterator[Client]:
    """A client of ``server`` (key ``test-key``, timeout 5 s, no retries, :data:`UNPACED`)."""
    with Client("test-key", base_url=server.url, timeout=5, max_retries=0,
                requests_per_minute=UNPACED) as c:
        yield c
