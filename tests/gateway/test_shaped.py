"""The service-shaped upstream (engine/shaped.py), and the gateway held against it.

The shaped service is the local engine behind the service's limits (per key or per operation),
latency, 402, 429 with Retry-After, 5xx and dropped connections; the gateway's ledger must
equal what it charged, whatever it did.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from gateway_fake import ROOM_KEY, post

from clipdrop_widgets.engine.shaped import Shape, ShapedService


@pytest.fixture
def shaped():
    services: list[ShapedService] = []

    def make(**shape) -> ShapedService:
        service = ShapedService(ROOM_KEY, Shape(**shape)).start()
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def _ask(url: str, key: str, prompt: str, path: str = "/text-to-image/v1") -> requests.Response:
    return post(url, path, key, files={"prompt": (None, prompt)})


def test_it_limits_per_key_or_per_operation_and_says_when_to_come_back(shaped):
    # In scope operation the sketch call has its own window: the engine's 400 (no sketch file).
    for scope, expected in (("key", [200, 200, 429]), ("operation", [200, 200, 400])):
        service = shaped(scope=scope, rate=2, window=30, latency=(0, 0))
        # Two text to image calls fill the window; the third call is another operation.
        answers = [_ask(service.url, ROOM_KEY, "a"), _ask(service.url, ROOM_KEY, "b"),
                   post(service.url, "/sketch-to-image/v1/sketch-to-image", ROOM_KEY,
                        files={"prompt": (None, "c")})]
        assert [a.status_code for a in answers] == expected
        if scope == "key":
            assert 1 <= int(answers[2].headers["Retry-After"]) <= 30
    assert _ask(service.url, "sk-other", "x").status_code == 403
    assert _ask(service.url, None, "x").status_code == 401


def test_the_gateways_ledger_equals_the_services_charges_through_faults(shaped, make_gateway,
                                                                        ledger):
    service = shaped(scope="key", rate=600, latency=(0.05, 0.3), error_rate=0.2,
                     drop_rate=0.2, seed=3)
    gateway = make_gateway(service.url, requests_per_minute=600, upstream_timeout=30)
    seats = [key for _, key in ledger.create_seats(4, 100)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: _ask(gateway.url, seats[n % 4], f"call {n}"),
                                range(40)))
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 502} and 502 in statuses and 200 in statuses
    dropped = [a for a in answers if "may have reached it" in a.text]
    failed = [a for a in answers if "failed with 500" in a.text]
    assert dropped and failed, [a.text for a in answers]
    assert service.count(599) == len(dropped) and service.count(500) == len(failed)
    assert len(service.calls) == gateway.gateway.stats.upstream_calls == 40
    assert ledger.total_charged() == service.charged
    assert sum(s.spent for s in ledger.seats()) == service.charged


def test_an_empty_account_is_a_402_the_gateway_turns_into_a_503(shaped, make_gateway, ledger):
    service = shaped(credits=2, latency=(0, 0))
    gateway = make_gateway(service.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    assert _ask(gateway.url, seat, "one").status_code == 200
    refused = _ask(gateway.url, seat, "two")
    assert refused.status_code == 503 and "not your key" in refused.json()["error"]
    assert ledger.seats()[0].spent == 2 == service.charged


def test_without_rendering_it_answers_an_image_a_client_can_read(shaped):
    """Its stock answer was 70 bytes that were not a PNG: every sweep item against it failed
    with InvalidResponseError, so a sweep benchmark measured nothing but failures."""
    from clipdrop_widgets import Client, Sweep

    service = shaped(render=False, latency=(0, 0))
    client = Client(ROOM_KEY, base_url=service.url, requests_per_minute=6000)
    records = Sweep(client, "text_to_image", prompts=["a", "b"]).run(progress=False)
    assert [r["status"] for r in records] == ["ok", "ok"], records
    assert service.charged == 2 * 2  # text to image costs 2 (the seed's price)
