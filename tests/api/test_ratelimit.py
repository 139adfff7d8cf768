"""Client-side pacing: requests spaced 60/R s apart, so no server window draws a 429.

The servers here count requests in sliding windows of 1 s, 6 s and (time scaled) 60 s, as
nobody outside the service knows which window it uses; concurrent callers share the client.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import pytest
from fault_server import Action, FaultServer

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import CancelledError, Client
from clipdrop_widgets.api.notices import ClipdropNotice
from clipdrop_widgets.api.ratelimit import SAFETY_MARGIN, Cancelled, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


INTERVAL = 1.0 * (1 + SAFETY_MARGIN)  # at 60 requests a minute


def test_requests_go_out_an_interval_apart_and_never_start_during_an_upload():
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    assert limiter.delay() == 0  # the first goes at once
    with limiter.slot() as slot:
        assert limiter.delay() == float("inf")  # its body is going out: the next waits
        clock.now = 0.3
        slot.sent()
        assert limiter.delay() == pytest.approx(INTERVAL - 0.3)  # an interval after its start
        clock.now = 1.5  # a long upload ...
    with limiter.slot() as slot:
        clock.now = 2.0
        slot.sent()  # ... ends after the interval: the next goes when it has
    # The next starts so that, sent as fast as the fastest so far (0.3 s), its body goes out
    # an interval after this one's.
    assert limiter.delay() == pytest.approx(INTERVAL - 0.3)
    clock.now = 2.0 + INTERVAL - 0.3
    assert limiter.delay() == 0


def test_a_slow_answer_does_not_hold_the_next_request():
    """The service may take 10 s to make an image: the next request goes after one interval."""
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    with limiter.slot() as first:
        first.sent()
        clock.now = INTERVAL
        assert limiter.delay() == 0  # while the first still waits for its answer
        with limiter.slot() as second:
            second.sent()
            clock.now = 10.0
    assert limiter.delay() == 0


def test_a_request_that_never_sent_its_body_is_spaced_from_its_end():
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock)
    with limiter.slot():
        clock.now = 2.0  # e.g. the connection was refused
    assert limiter.delay() == pytest.approx(INTERVAL)


def test_concurrent_callers_take_turns_an_interval_apart():
    limiter = RateLimiter(1200)  # 50 ms apart, so the test is short
    sent: list[float] = []
    lock = threading.Lock()

    def one(_):
        with limiter.slot() as slot:
            slot.sent()
            with lock:
                sent.append(slot.sent_at)
            time.sleep(0.2)  # a slow answer: four more requests go meanwhile

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(12)))
    gaps = [b - a for a, b in itertools.pairwise(sorted(sent))]
    assert min(gaps) >= 60 / 1200  # never faster than the rate


def test_cancel_while_waiting_takes_no_turn():
    limiter = RateLimiter(1)
    cancel = threading.Event()
    with limiter.slot() as slot:
        slot.sent()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(Cancelled), limiter.slot(cancel=cancel):
        pytest.fail("must not get a slot")
    assert limiter._sending is None


def test_cancelled_call_sends_nothing():
    with FaultServer() as server:
        client = Client("k", base_url=server.url, requests_per_minute=1)
        client.text_to_image("first")  # the next turn is a minute away
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
    assert c.limiter("text_inpainting").interval == pytest.approx(2 * (1 + SAFETY_MARGIN))
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
    with pytest.raises(ValueError, match="positive"):
        Client("k", base_url="http://127.0.0.1:9", requests_per_minute=-5)


# -- against servers that count in windows of 1 s, 6 s and 60 s -------------------------------
def run_concurrently(client: Client, n: int, callers: int) -> None:
    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(lambda i: client.text_to_image(f"cat {i}"), range(n)))


@pytest.mark.parametrize("rpm,window,n", [
    (60, 1.0, 5),  # 60 a minute counted per second: never 2 within a second
    (60, 6.0, 9),  # ... counted per 6 s: never 7 within 6 s
    (600, 6.0, 70),  # 60 per 60 s, time scaled 10x: never 61 within the window
], ids=["1s-window", "6s-window", "60s-window-scaled"])
def test_no_window_sees_more_than_its_limit(rpm, window, n):
    limit = round(rpm * window / 60)
    with FaultServer(rate=(limit, window)) as server:
        client = Client("k", base_url=server.url, requests_per_minute=rpm, max_retries=0)
        run_concurrently(client, n, callers=8)
        assert len(server.seen) == n  # exactly one POST each
        assert server.rejected_for_rate == 0
        arrivals = sorted(s.time for s in server.seen)
    # In every window, at most its limit (the server's own rule, checked on what it saw).
    for i in range(len(arrivals) - limit):
        assert arrivals[i + limit] - arrivals[i] > window
    # No burst: one request, then one per interval (the old limiter sent ``limit`` at once).
    # One more is tolerated: on a loaded machine the first request can reach the server late,
    # next to the second one, sent on time (every window above still holds its limit).
    first_interval = sum(t < arrivals[0] + 60 / rpm for t in arrivals)
    assert first_interval <= min(2, limit)


def test_without_pacing_the_same_callers_draw_429s():
    """The control: the server really enforces its rate, so the tests above can fail."""
    with FaultServer(rate=(1, 1.0)) as server:
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
            list(pool.map(call, range(5)))
        assert server.rejected_for_rate > 0 and errors


def test_a_turn_past_the_deadline_raises_too_late_at_once_and_takes_no_turn():
    from clipdrop_widgets.api.ratelimit import TooLate

    now = [0.0]
    limiter = RateLimiter(60, margin=0, clock=lambda: now[0])
    with limiter.slot(deadline=5.0) as slot:
        slot.sent()
    late = r"is 1.00 s away, past the call's timeout \(0.50 s left\)"
    with pytest.raises(TooLate, match=late), limiter.slot(deadline=0.5):
        pass
    assert limiter.delay() == 1.0  # the late call took no turn
    now[0] = 1.0
    with limiter.slot(deadline=1.5) as slot:  # the turn comes in time
        slot.sent()


def test_a_pause_asked_by_a_429_is_told_apart_from_the_pace():
    clock = FakeClock()
    outer = RateLimiter(60, clock=clock)
    inner = RateLimiter(30, clock=clock, within=outer)
    assert inner.paused() == 0 and outer.paused() == 0
    with outer.slot() as slot:
        slot.sent()
    assert outer.paused() == 0 < outer.delay()  # the usual spacing is not a pause
    inner.slow_down(600)  # at most MAX_PAUSE (60 s), in the pace it is within too
    assert inner.paused() == outer.paused() == 60
    clock.now = 45
    assert inner.paused() == pytest.approx(15) and outer.delay() == pytest.approx(15)
    clock.now = 61
    assert inner.paused() == 0


def test_the_client_says_what_a_held_call_waits_for():
    with FaultServer(default=Action.image()) as srv:
        client = Client(base_url=srv.url, api_key="sk-test-held")
        assert client.waiting() is None
        client.limiter("text_to_image").slow_down(30)
        cancel = threading.Event()
        errors: list[BaseException] = []

        def call() -> None:
            try:
                client.text_to_image("a boat", cancel=cancel)
            except CancelledError as exc:
                errors.append(exc)
        worker = threading.Thread(target=call)
        worker.start()
        for _ in range(200):
            wait = client.waiting(worker.ident)
            if wait is not None:
                break
            time.sleep(0.01)
        assert wait is not None and wait.reason == "pause", wait
        assert 25 < wait.seconds <= 30
        assert client.waiting() is None  # this thread's own call: none
        cancel.set()
        worker.join(5)
        assert client.waiting(worker.ident) is None and srv.seen == []
        assert errors
