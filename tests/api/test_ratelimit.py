"""Client-side rate limiting: a loop of calls never draws a 429 from a well-behaved server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import pytest
from fault_server import Action, FaultServer

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import CancelledError, Client
from clipdrop_widgets.api import constants as C
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.ratelimit import SAFETY_MARGIN, Cancelled, RateLimiter


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


def test_a_slow_answer_does_not_hold_its_slot():
    """The window starts when the body went out (+ margin), not when the image came back."""
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    with limiter.slot() as slot:
        slot.sent()  # body sent at t=0
        clock.now = 10.0  # the service took 10 s to make the image
    assert limiter.delay() == pytest.approx(SAFETY_MARGIN + 60 - 10)


def test_a_fast_answer_bounds_the_margin():
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    with limiter.slot() as slot:
        slot.sent()
        clock.now = 0.2  # answered before the margin ran out: the answer time is the bound
    assert limiter.delay() == pytest.approx(60.0)  # ages from t=0.2, the answer


def test_cancel_while_waiting_takes_no_slot():
    limiter = RateLimiter(1)
    cancel = threading.Event()
    with limiter.slot():
        pass
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled), limiter.slot(cancel=cancel):
        pytest.fail("must not get a slot")
    assert limiter._in_flight == 0


def test_cancelled_call_sends_nothing():
    with FaultServer() as server:
        client = Client("k", base_url=server.url, requests_per_minute=1)
        client.text_to_image("first")  # uses the minute's only slot
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        with pytest.raises(CancelledError, match="cancelled before it was sent"):
            client.text_to_image("second", cancel=cancel)
        assert len(server.seen) == 1


def test_cancel_during_retry_wait():
    with FaultServer(default=Action.error(503, "busy", Retry_After="30")) as server:
        client = Client("k", base_url=server.url)
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        with pytest.raises(CancelledError, match="before its retry"):
            client.text_to_image("a cat", cancel=cancel)
        assert len(server.seen) == 1


def test_documented_rates_per_endpoint():
    c = Client("k", base_url="http://127.0.0.1:9")
    assert c.limiter("text_inpainting").limit == 30
    assert c.limiter("cleanup").limit == 60
    assert Client("k", base_url="http://127.0.0.1:9",
                  requests_per_minute=600).limiter("cleanup").limit == 600


def test_local_engine_is_not_throttled_unless_asked(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    with pytest.warns(ClipdropNotice) if not client_module._local_notice_shown else nullcontext():
        assert Client().limiter("cleanup") is None


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
