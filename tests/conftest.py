"""Shared fixtures: the local engine served on loopback, closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clipdrop_widgets.engine import LocalEngine, ServerHandle, serve


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
