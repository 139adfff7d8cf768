"""The client paces per key unless told otherwise (issue 19; CONTRACT: "pace per key").

Against a loopback service that counts its limit per key (`engine.shaped`), two operations
running at once on one key must share one pace; told ``limit_scope="operation"``, each runs
at its own rate (what a service counting per API allows, and what draws 429s from one
counting per key: the control). Text inpainting keeps its own half of the key's pace. Time is
scaled: the key may make 30 calls in any 3 s (600 a minute).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator

import pytest
from fault_server import Action, FaultServer
from PIL import Image

from clipdrop_widgets import Client, ConfigurationError, RateLimitError
from clipdrop_widgets.engine.shaped import Shape, ShapedService

KEY = "sk-pace-scope-7f2e"
WINDOW = 3.0  # seconds the scaled service counts in
LIMIT = 30  # calls the key may make in a window
RPM = LIMIT * 60 / WINDOW  # what the client is told: 600 a minute
INPAINT = "/text-inpainting/v1"


def _png(mode: str = "RGB", color: object = (40, 90, 160)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (8, 8), color).save(out, "PNG")  # type: ignore[arg-type]
    return out.getvalue()


PHOTO, MASK = _png(), _png("L", 255)

OPERATIONS: dict[str, Callable[[Client, int], object]] = {
    "text_to_image": lambda c, i: c.text_to_image(f"cat {i}"),
    "replace_background": lambda c, i: c.replace_background(PHOTO, f"beach {i}"),
    "text_inpainting": lambda c, i: c.text_inpainting(PHOTO, MASK, f"a hat {i}"),
}


@pytest.fixture(autouse=True)
def _own_pacer_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CLIPDROP_PACER_DIR", str(tmp_path / "pacers"))


@pytest.fixture
def service() -> Iterator[Callable[[str], ShapedService]]:
    started: list[ShapedService] = []

    def start(scope: str) -> ShapedService:
        shape = Shape(scope=scope, rate=LIMIT, window=WINDOW, rates={INPAINT: LIMIT / 2},
                      latency=(0.01, 0.05), render=False)
        started.append(ShapedService(KEY, shape).start())
        return started[-1]

    yield start
    for s in started:
        s.close()


def _run(client: Client, jobs: dict[str, int]) -> list[Exception]:
    """Each operation ``n`` times in a thread of its own, all at once; what they raised."""
    failures: list[Exception] = []

    def calls(operation: str, n: int) -> None:
        for i in range(n):
            try:
                OPERATIONS[operation](client, i)
            except Exception as exc:  # noqa: BLE001 - a 429 is what is counted
                failures.append(exc)

    threads = [threading.Thread(target=calls, args=job) for job in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return failures


def _most_in_a_window(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + WINDOW) for i, start in enumerate(times))


@pytest.mark.parametrize("client_scope,service_scope,too_many", [
    ("key", "key", False),  # the default against the documented service: one pace, no 429
    ("operation", "operation", False),  # told the service counts per API: each at its rate
    ("operation", "key", True),  # the control: per-operation pacing overruns a per-key count
])
def test_two_operations_on_one_key(service, client_scope, service_scope, too_many):
    upstream = service(service_scope)
    client = Client(KEY, base_url=upstream.url, requests_per_minute=RPM,
                    limit_scope=client_scope, max_retries=0, timeout=30)
    failures = _run(client, {"text_to_image": 24, "replace_background": 24})
    rejected = upstream.count(429)
    if too_many:
        assert rejected > 0 and all(isinstance(f, RateLimitError) for f in failures)
        return
    assert (rejected, failures) == (0, [])
    calls = upstream.snapshot()
    assert len(calls) == 48 and {c.status for c in calls} == {200}
    busiest = _most_in_a_window([c.at for c in calls])
    if client_scope == "operation":  # the two ran side by side, each at the key's limit
        assert busiest > LIMIT
    else:
        assert busiest <= LIMIT


def test_text_inpainting_keeps_its_own_half_within_the_keys_pace(service):
    upstream = service("key")
    client = Client(KEY, base_url=upstream.url, requests_per_minute=RPM, max_retries=0,
                    timeout=30)
    # Text to image stops early: text inpainting alone could then take the whole key's pace.
    failures = _run(client, {"text_inpainting": 20, "text_to_image": 6})
    assert (upstream.count(429), failures) == (0, [])
    inpainting = [c.at for c in upstream.snapshot() if c.path == INPAINT]
    assert len(inpainting) == 20 and _most_in_a_window(inpainting) <= LIMIT / 2
    limiter = client.limiter("text_inpainting")
    assert limiter.within is client.limiter("text_to_image") is client.limiter("cleanup")
    assert limiter.requests_per_minute == RPM / 2


@pytest.mark.parametrize("scope", ["key", "operation"])
def test_a_429_makes_its_whole_scope_wait(scope):
    with FaultServer(default=Action.error(429, "slow down", Retry_After="30")) as server:
        client = Client(KEY + scope, base_url=server.url, limit_scope=scope, max_retries=0)
        with pytest.raises(RateLimitError):
            client.text_to_image("a cat")
        assert client.limiter("text_to_image").delay() > 20
        # Another operation of the key: held too in scope key, free in scope operation.
        other = client.limiter("replace_background").delay()
        assert other > 20 if scope == "key" else other == 0


def test_the_scope_is_checked_named_and_carried():
    with pytest.raises(ConfigurationError, match=r"limit_scope must be 'key' .* got 'user'"):
        Client(KEY, base_url="http://127.0.0.1:9", limit_scope="user")  # type: ignore[arg-type]
    client = Client(KEY, base_url="http://127.0.0.1:9", limit_scope="operation")
    assert client.copy().limit_scope == "operation"
    assert Client(KEY, base_url="http://127.0.0.1:9").limit_scope == "key"
    assert KEY not in repr(client.limiter("cleanup"))
