"""``timeout`` bounds the whole call: a wait the server asks for that would pass it is not
slept through; the error says the wait at once."""

from __future__ import annotations

import time

import pytest
from fault_server import Action, FaultServer

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import Client, RateLimitError, ServerError


@pytest.fixture
def sleeps(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(client_module, "_sleep", calls.append)
    return calls


def test_a_retry_after_past_the_timeout_raises_rate_limit_error_at_once(sleeps):
    with FaultServer(default=Action.error(429, "Too many requests",
                                          Retry_After="100000")) as server:
        client = Client("k", base_url=server.url, timeout=10, requests_per_minute=6000)
        started = time.monotonic()
        with pytest.raises(RateLimitError) as info:
            client.text_to_image("a cat")
        took = time.monotonic() - started
    assert sleeps == []  # it used to sleep 60 s, twice
    assert len(server.seen) == 1 and took < 5
    text = str(info.value)
    assert "100000 s" in text and "timeout=10" in text and "not retried" in text
    assert info.value.status_code == 429 and info.value.message == "Too many requests"


def test_a_wait_that_fits_the_timeout_is_waited_then_retried(sleeps):
    with FaultServer() as server:
        # 2 s, not 4: the pace waits the Retry-After out too, in real time
        server.script(Action.error(429, "Too many requests", Retry_After="2"))
        client = Client("k", base_url=server.url, timeout=10, requests_per_minute=6000)
        assert client.text_to_image("a cat").width == 8
    assert sleeps == [2.0] and len(server.seen) == 2


def test_the_time_left_counts_what_the_first_attempt_took(sleeps):
    """A 2.5 s answer, then Retry-After 8: 10.5 s in all would pass timeout=10."""
    with FaultServer() as server:
        slow_429 = Action.error(429, "Too many requests", Retry_After="8")
        original = server._handle

        def handle(h):
            time.sleep(2.5)  # the service takes seconds to answer
            original(h)

        server._handle = handle  # the handler looks it up on each request
        server.script(slow_429)
        client = Client("k", base_url=server.url, timeout=10, requests_per_minute=6000)
        with pytest.raises(RateLimitError, match="wait 8 s"):
            client.text_to_image("a cat")
    assert sleeps == [] and len(server.seen) == 1


def test_a_5xx_retry_after_past_a_pair_timeout_is_raised_at_once(sleeps):
    with FaultServer(default=Action.error(503, "busy", Retry_After="30")) as server:
        client = Client("k", base_url=server.url, timeout=(2, 5), requests_per_minute=6000)
        with pytest.raises(ServerError, match="wait 30 s"):
            client.text_to_image("a cat")
    assert sleeps == [] and len(server.seen) == 1


def test_the_wait_for_the_pace_is_within_the_timeout():
    """Six threads on one ``Client(timeout=2)`` paced at 60 a minute: the calls took up to
    5 s, all of them queued for the pace outside the bound (findings 20b #3). Now a call
    whose turn would come past its timeout raises at once, and nothing of it is sent."""
    from concurrent.futures import ThreadPoolExecutor

    from clipdrop_widgets import APITimeoutError

    with FaultServer() as server:
        client = Client("pace-deadline-key", base_url=server.url, timeout=2,
                        requests_per_minute=60)

        def call(_: int) -> tuple[float, object]:
            started = time.monotonic()
            try:
                outcome: object = client.text_to_image("a cat")
            except APITimeoutError as exc:
                outcome = exc
            return time.monotonic() - started, outcome

        with ThreadPoolExecutor(6) as pool:
            runs = list(pool.map(call, range(6)))
        seen = len(server.seen)
    late = [outcome for _, outcome in runs if isinstance(outcome, APITimeoutError)]
    assert 2 <= len(runs) - len(late) <= 3 and len(late) >= 3  # 0 s, 1.02 s (and 2.04 s)
    assert seen == len(runs) - len(late)  # nothing of a late call was sent
    for exc in late:
        assert exc.sent is False and "nothing was sent" in str(exc) and "rate limit" in str(exc)
    assert max(took for took, _ in runs) < 3.5  # the bound, not 5 s
