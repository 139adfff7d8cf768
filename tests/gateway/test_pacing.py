"""The gateway paces like the upstream limits: per key by default, slowed by 429s, fair per seat.

Each test here failed before the room's pacing was rebuilt (issue 19): per-operation lanes let
one key reach the service at several times its rate, a ``Retry-After: 3600`` stalled a path
for an hour, a 429 storm kept retrying for a participant who had left, and one seat's eight
threads held eight places in the queue.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from gateway_fake import png_bytes, post

from clipdrop_widgets.gateway.fairshare import RETRY_AFTER_CAP

PHOTO = png_bytes((40, 30))
MASK = png_bytes((40, 30), 0, "L")


def _call(url: str, key: str, operation: str, tag: str, **kwargs) -> requests.Response:
    if operation == "text":
        return post(url, "/text-to-image/v1", key, files={"prompt": (None, tag)}, **kwargs)
    if operation == "cleanup":
        return post(url, "/cleanup/v1", key, files={"image_file": ("p.png", PHOTO),
                                                     "mask_file": ("m.png", MASK),
                                                     "mode": (None, tag)}, **kwargs)
    return post(url, "/replace-background/v1", key,
                files={"image_file": ("p.png", PHOTO), "prompt": (None, tag)}, **kwargs)


def test_by_default_every_operation_shares_the_rooms_key_rate(make_fake, make_gateway, ledger):
    # The service counts per key: 3 calls a second for the whole key. The room paces at 2 a
    # second; per-operation pacing sent 2 a second on each of three operations.
    fake = make_fake(scope="key", rate=3, window=1.0)
    gateway = make_gateway(fake.url, requests_per_minute=120, shared_cache=False)
    seats = [key for _, key in ledger.create_seats(3, 100)]
    operations = ["text", "cleanup", "background"]
    with ThreadPoolExecutor(6) as pool:
        answers = [pool.submit(_call, gateway.url, seats[i], operations[i],
                               "fast" if operations[i] == "cleanup" else f"p{n}")
                   for i in range(3) for n in range(4)]
        statuses = [a.result().status_code for a in answers]
    assert statuses == [200] * 12
    assert fake.too_many == 0
    assert list(gateway.gateway.lanes) == ["key", "/text-inpainting/v1"]


def test_a_long_retry_after_is_capped_and_stalls_only_its_operation(make_fake, make_gateway,
                                                                    ledger):
    def script(path, texts):
        if path == "/cleanup/v1":
            return 429, {"Retry-After": "3600", "Content-Type": "application/json"}, \
                b'{"error": "too many"}', 0
        return None

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url, upstream_limit_scope="operation",
                           requests_per_minute=600)
    (_, slow), (_, other) = ledger.create_seats(2, 100)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _call(gateway.url, slow, "cleanup", "fast", timeout=1.0)
    lane = gateway.gateway.lanes["/cleanup/v1"]
    assert lane.too_many == 1 and lane.rate < lane.configured  # learnt: it paces slower now
    assert lane._next_at - lane.clock() <= RETRY_AFTER_CAP  # not an hour
    started = time.monotonic()
    assert _call(gateway.url, other, "text", "meanwhile").status_code == 200
    # Not stalled: a stall of its scope would be 60 s at least (the cap), an hour uncapped.
    assert time.monotonic() - started < 30
    assert gateway.gateway.lanes["/text-to-image/v1"].too_many == 0


def test_a_429_storm_is_not_retried_for_a_participant_who_left(make_fake, make_gateway, ledger):
    def script(path, texts):
        return 429, {"Retry-After": "1"}, b'{"error": "too many"}', 0

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url, requests_per_minute=600)
    [(_, seat)] = ledger.create_seats(1, 10)
    with pytest.raises(requests.exceptions.ReadTimeout):
        _call(gateway.url, seat, "text", "storm", timeout=2.5)
    time.sleep(0.5)  # the gateway notices the hang-up
    sent = fake.received
    assert sent >= 2  # it did retry while the participant waited
    time.sleep(2.5)
    assert fake.received == sent  # and stopped when they left
    [row] = ledger.seats()
    assert (row.spent, row.reserved, row.remaining) == (0, 0, 10)


def test_a_seat_running_eight_threads_holds_two_places_and_a_light_seat_waits_little(
        make_fake, make_gateway, ledger):
    fake = make_fake(rate=600, delay=0.3)
    gateway = make_gateway(fake.url, requests_per_minute=600, shared_cache=False)
    (_, flood), (_, light) = ledger.create_seats(2, 1000)
    flood_id = ledger.seats()[0].id
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, gateway.gateway.gates.in_flight(flood_id))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(8) as pool:
        floods = [pool.submit(_call, gateway.url, flood, "text", f"flood {i}") for i in range(24)]
        while fake.received < 4:
            time.sleep(0.01)
        before = fake.received
        assert _call(gateway.url, light, "text", "light").status_code == 200
        assert all(f.result().status_code == 200 for f in floods)
    done.set()
    watcher.join()
    assert peak == 2
    # Upstream calls between the light call's arrival and its own: the flood's two in flight
    # and one turn of the rotation at most, not the twenty it had queued.
    order = [s.texts["prompt"] for s in fake.seen]
    assert order.index("light") - before <= 3, order


def test_a_seats_rate_and_cap_change_while_the_gateway_runs(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url, requests_per_minute=600)
    [(label, seat)] = ledger.create_seats(1, 100)
    assert _call(gateway.url, seat, "text", "one").status_code == 200
    assert _call(gateway.url, seat, "text", "two").status_code == 200
    changed = ledger.set_limits(label, rpm=2, parallel=1)
    assert (changed.rpm, changed.parallel) == (2, 1)
    answer = _call(gateway.url, seat, "text", "three")
    assert answer.status_code == 429 and "2 requests per minute" in answer.json()["error"]
    assert fake.received == 2
    ledger.set_limits(label, clear=True)
    assert _call(gateway.url, seat, "text", "four").status_code == 200
