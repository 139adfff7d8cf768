"""Client-side rate limiting: a loop of calls never draws a 429 from a well-behaved server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fault_server import FaultServer

from clipdrop_widgets import Client
from clipdrop_widgets import _constants as C
from clipdrop_widgets.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limit_holds_slots_until_answers_age_out():
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    for t in (0.0, 1.0, 2.0):
        clock.now = t
        with limiter.slot():
            pass
    clock.now = 2.5
    assert limiter.delay() == pytest.approx(57.5)  # the first answer (t=0) ages out at 60
    clock.now = 60.0
    assert limiter.delay() == 0


def test_in_flight_requests_count():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    with limiter.slot(), limiter.slot():
        assert limiter.delay() == float("inf")  # wait for an answer, not a time
    assert limiter.delay() == pytest.approx(60.0)


def test_documented_rates_per_endpoint():
    c = Client("k", base_url="http://127.0.0.1:9")
    assert c._limiter(c_ep("text_inpainting")).limit == 30
    assert c._limiter(c_ep("cleanup")).limit == 60
    assert Client("k", base_url="http://127.0.0.1:9",
                  requests_per_minute=600)._limiter(c_ep("cleanup")).limit == 600


def c_ep(name):
    from clipdrop_widgets.endpoints import ENDPOINTS
    return ENDPOINTS[name]


def test_local_engine_is_not_throttled_unless_asked():
    assert Client()._limiter(c_ep("cleanup")) is None


def test_rejects_nonsense():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_concurrent_loop_draws_no_429_from_a_sliding_window_server(monkeypatch):
    """10 requests per 1 s window on both sides (the minute shortened so the test is short)."""
    monkeypatch.setattr(C, "RATE_WINDOW", 1.0)
    with FaultServer(rate=(10, 1.0)) as server:
        client = Client("k", base_url=server.url, requests_per_minute=600, max_retries=0)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: client.text_to_image(f"cat {i}"), range(25)))
        assert len(results) == 25
        assert server.rejected_for_rate == 0
        times = sorted(s.time for s in server.seen)
        assert times[-1] - times[0] >= 2.0  # 25 requests at 10 per second cannot be faster


def test_without_the_limiter_the_same_loop_draws_429s(monkeypatch):
    """The control: the server really enforces its rate, so the test above can fail."""
    with FaultServer(rate=(10, 1.0)) as server:
        client = Client("k", base_url=server.url, requests_per_minute=10**6, max_retries=0)
        errors = []
        lock = threading.Lock()

        def call(i):
            try:
                client.text_to_image(f"cat {i}")
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(exc)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(call, range(25)))
        assert server.rejected_for_rate > 0 and errors
