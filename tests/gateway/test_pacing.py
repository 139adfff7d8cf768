"""The gateway paces like the upstream limits: per key by default, slowed by 429s, fair per seat.

Each test here failed before the room's pacing was rebuilt (issue 19): per-operation lanes let
one key reach the service at several times its rate, a ``Retry-After: 3600`` stalled a path
for an hour, a 429 storm kept retrying for a participant who had left, and one seat's eight
threads held eight places in the queue.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from gateway_fake import png_bytes, post

from clipdrop_widgets.gateway.fairshare import RETRY_AFTER_CAP, Lane

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
    # A retry 60 s away would pass the call's bound (rate_limited_wait): told at once, not held.
    refused = _call(gateway.url, slow, "cleanup", "fast", timeout=10)
    assert refused.status_code == 429 and "nothing was charged" in refused.json()["error"]
    assert int(refused.headers["Retry-After"]) <= RETRY_AFTER_CAP
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


def test_a_lasting_429_gets_the_seat_a_429_saying_nothing_was_charged(make_fake, make_gateway,
                                                                      ledger):
    # A quota-style 429 (no Retry-After) that never ends: before the fix the gateway retried
    # for ever and the seat got no answer at all (findings19c F9).
    fake = make_fake(script=lambda path, texts: (
        429, {"Content-Type": "application/json"}, b'{"error": "daily quota"}', 0))
    gateway = make_gateway(fake.url, requests_per_minute=600, rate_limited_wait=2)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _call(gateway.url, seat, "text", "quota", timeout=20)
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error.startswith("nothing was charged: the service is rate limiting the room")
    again = int(answer.headers["Retry-After"])
    assert 1 <= again <= RETRY_AFTER_CAP and f"try again in {again} s" in error
    assert fake.received >= 2  # it did retry within the bound first
    [row] = ledger.seats()
    assert (row.spent, row.reserved, row.remaining) == (0, 0, 10)


def test_a_seat_running_eight_threads_holds_two_places_and_a_light_seat_waits_little(
        make_fake, make_gateway, ledger):
    fake = make_fake(rate=600, delay=0.3)
    gateway = make_gateway(fake.url, requests_per_minute=600, shared_cache=False)
    (_, flood), (_, light) = ledger.create_seats(2, 1000)
    flood_id = ledger.seats()[0].id
    room = gateway.gateway
    peak = 0
    done = threading.Event()

    def watch() -> None:  # the flood's calls waiting for a turn (past its gate, not sent)
        nonlocal peak
        while not done.is_set():
            peak = max(peak, room.gates.in_flight(flood_id) - room.stats.sending[flood_id])
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
    assert peak <= 2
    # Upstream calls between the light call's arrival and its own: the flood's two in flight
    # and one turn of the rotation at most, not the twenty it had queued.
    order = [s.texts["prompt"] for s in fake.seen]
    assert order.index("light") - before <= 3, order


def test_a_lane_sends_a_light_seats_call_before_the_busy_seats_next_one():
    """Turns go to the seat served least: round-robin alone put a seat arriving with one call
    behind the call the busy seat had queued, adding a slot to every human's wait."""
    async def run() -> tuple[int, int, int]:
        lane = Lane(600, name="key")  # a slot every 0.1 s

        async def take(seat: int) -> int:
            grant = await lane.request(seat)
            lane.finished()
            return grant.number

        flood = [asyncio.ensure_future(take(1)) for _ in range(8)]
        while lane.granted < 3:
            await asyncio.sleep(0.005)
        before, queued = lane.granted, lane.waiting  # the human's call arrives now
        human = await take(2)
        await asyncio.gather(*flood)
        lane.close()
        return before, queued, human

    before, queued, human = asyncio.run(run())
    assert queued > 0  # the busy seat still had calls queued when the human's came
    assert human == before + 1  # and the human's went next, not after the busy seat's next


def test_no_pacer_slot_goes_unused_while_a_seats_calls_wait_at_its_cap(make_fake, make_gateway,
                                                                       ledger):
    """With one call allowed in flight, a lone seat's five others waited for each answer
    (1 s each) while the room's slots (one every 0.1 s) went by unused."""
    fake = make_fake(rate=600, delay=1.0)
    gateway = make_gateway(fake.url, requests_per_minute=600, shared_cache=False,
                           seat_parallel=1)
    [(_, seat)] = ledger.create_seats(1, 100)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: _call(gateway.url, seat, "text", f"p{n}"), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    arrivals = sorted(s.at for s in fake.seen)
    # All six reached the service before the first was answered, one slot apart at least.
    assert arrivals[-1] - arrivals[0] < 1.0, arrivals
    assert gateway.gateway.gates.lent >= 5
    assert fake.too_many == 0


def test_a_seats_calls_beyond_its_cap_never_take_a_slot_another_seat_waits_for(
        make_fake, make_gateway, ledger):
    fake = make_fake(rate=600, delay=0.5)
    gateway = make_gateway(fake.url, requests_per_minute=120, shared_cache=False,
                           seat_parallel=1)  # a slot every 0.5 s: the lane is always busy
    (_, busy), (_, other) = ledger.create_seats(2, 100)
    with ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(_call, gateway.url, seat, "text", f"{name} {n}")
                 for n in range(4) for seat, name in ((busy, "busy"), (other, "other"))]
        assert all(c.result().status_code == 200 for c in calls)
    order = [s.texts["prompt"].split()[0] for s in fake.seen]
    # Each seat's second call waits at its cap while the other seat's call is queued: turns
    # alternate, no seat gets two slots in a row while the other has one waiting.
    assert order[:6] in (["busy", "other"] * 3, ["other", "busy"] * 3), order


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
