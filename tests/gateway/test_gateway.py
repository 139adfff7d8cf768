"""The workshop gateway in this process, against a strict fake of the service on loopback.

Everything goes over real HTTP: participants' clients to the gateway, the gateway to the fake
(which accepts only the room's key and counts what it receives).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
import requests
from gateway_fake import ROOM_KEY, multipart_body, png_bytes, post
from PIL import Image

from clipdrop_widgets import Client
from clipdrop_widgets.contract.errors import InvalidAPIKeyError, OutOfCreditsError
from clipdrop_widgets.gateway import Ledger, serve_gateway


def test_seat_keys_get_images_while_the_service_sees_only_the_room_key(make_fake, make_gateway,
                                                                       ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    (_, alice), (_, bob) = ledger.create_seats(2, 10)
    a = Client(api_key=alice, base_url=gateway.url).text_to_image("a red fox")
    b = Client(api_key=bob, base_url=gateway.url).text_to_image("a blue whale")
    assert a.image.size == b.image.size == (64, 64)
    assert (a.credits_consumed, a.remaining_credits) == (2, 8)  # the seat's, not the room's
    assert (b.credits_consumed, b.remaining_credits) == (2, 8)
    assert {s.key for s in fake.seen} == {ROOM_KEY}
    assert [s.texts["prompt"] for s in fake.seen] == ["a red fox", "a blue whale"]
    usage = requests.get(gateway.url + "/gateway/v1/seat", headers={"x-api-key": alice},
                         timeout=10).json()
    assert usage == {"label": "seat-01", "credits_remaining": 8.0, "credits_spent": 2.0,
                     "credits_reserved": 0.0, "requests": 1, "expires": None}


def test_every_operation_passes_through_with_its_files(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 20)
    client = Client(api_key=seat, base_url=gateway.url)
    photo = Image.new("RGB", (40, 30), (10, 120, 200))
    mask = Image.new("L", (40, 30), 0)
    mask.paste(255, (5, 5, 20, 20))
    sketch = Image.new("L", (32, 32), 0)
    client.cleanup(photo, mask)
    client.text_inpainting(photo, mask, "a cat")
    client.replace_background(photo, "")
    client.sketch_to_image(sketch, "a house")
    assert [s.path for s in fake.served()] == ["/cleanup/v1", "/text-inpainting/v1",
                                               "/replace-background/v1",
                                               "/sketch-to-image/v1/sketch-to-image"]
    assert ledger.seats()[0].spent == 4


def test_refusals_come_before_anything_is_sent_upstream(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    (_, rich), (_, poor), (label, revoked) = ledger.create_seats(3, 10)
    [(_, expired)] = ledger.create_seats(1, 10, label="late", expires_in=0.01)
    ledger.topup("seat-02", 1)
    ledger.revoke(label)
    ledger._db.execute("UPDATE seats SET spent = 10 WHERE label = 'seat-02'")  # 1 credit left
    time.sleep(0.05)
    prompt = {"prompt": (None, "a fox")}
    cases = [(None, 401), ("", 401), ("cdw-seat-not-a-seat", 403), (revoked, 403),
             (expired, 403), (poor, 402)]
    for key, status in cases:
        answer = post(gateway.url, "/text-to-image/v1", key, files=prompt)
        assert answer.status_code == status, (key, answer.text)
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["error"]
    assert "expired" in post(gateway.url, "/text-to-image/v1", expired, files=prompt).text
    assert "revoked" in post(gateway.url, "/text-to-image/v1", revoked, files=prompt).text
    poor_answer = post(gateway.url, "/text-to-image/v1", poor, files=prompt)
    assert poor_answer.headers["x-remaining-credits"] == "1"
    assert "costs 2" in poor_answer.json()["error"]
    # Bad input is the seat's 400, also before upstream; the seat's own page too needs a key.
    assert post(gateway.url, "/text-to-image/v1", rich, files={"prompt": (None, "")}
                 ).status_code == 400
    assert post(gateway.url, "/cleanup/v1", rich, files={"image_file": ("a.png", png_bytes())}
                 ).status_code == 400
    assert requests.get(gateway.url + "/gateway/v1/seat", timeout=10).status_code == 401
    assert requests.get(gateway.url + "/gateway/v1/seat", headers={"x-api-key": revoked},
                        timeout=10).status_code == 403
    assert fake.received == 0
    # The package's own client names the refusals as the service's would.
    with pytest.raises(InvalidAPIKeyError):
        Client(api_key=revoked, base_url=gateway.url, max_retries=0).text_to_image("a fox")
    with pytest.raises(OutOfCreditsError):
        Client(api_key=poor, base_url=gateway.url, max_retries=0).text_to_image("a fox")
    assert fake.received == 0
    assert post(gateway.url, "/text-to-image/v1", rich, files=prompt).status_code == 200
    assert fake.received == 1


def test_bodies_over_the_endpoints_limit_are_refused_before_upstream(make_fake, make_gateway,
                                                                    ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    big = "x" * 200_000  # text to image takes a 1000-character prompt: ~80 kB is its cap
    announced = post(gateway.url, "/text-to-image/v1", seat, files={"prompt": (None, big)})
    assert announced.status_code == 400
    assert "accepts at most" in announced.json()["error"]

    body, kind = multipart_body([("prompt", big)], "cc")
    # A generator body goes out chunked, without Content-Length: the cap is found reading.
    pieces = (body[i:i + 16_384] for i in range(0, len(body), 16_384))
    unannounced = post(gateway.url, "/text-to-image/v1", seat, data=pieces,
                       headers={"Content-Type": kind})
    assert unannounced.status_code == 400
    assert "over the limit" in unannounced.json()["error"]
    assert fake.received == 0 and ledger.seats()[0].remaining == 10


def test_a_revoked_seat_is_refused_by_the_running_gateway(make_fake, make_gateway, tmp_path):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    with Ledger(tmp_path / "room.db") as teacher:  # the teacher's own connection, as the CLI
        [(label, key)] = teacher.create_seats(1, 10)
        assert post(gateway.url, "/text-to-image/v1", key,
                     files={"prompt": (None, "one")}).status_code == 200
        teacher.revoke(label)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        status = post(gateway.url, "/text-to-image/v1", key,
                       files={"prompt": (None, "two")}).status_code
        if status == 403:
            break
        time.sleep(0.1)
    assert status == 403
    assert fake.received == 1


def test_identical_requests_from_two_seats_reach_the_service_once(make_fake, make_gateway,
                                                                  ledger):
    fake = make_fake(delay=0.5)  # the first is still in flight when the second arrives
    gateway = make_gateway(fake.url)
    (_, alice), (_, bob), (_, carol) = ledger.create_seats(3, 10)
    image, mask = png_bytes((40, 30)), png_bytes((40, 30), 0, "L")
    # The same request framed differently: field order, boundary, file names.
    first = multipart_body([("image_file", image), ("mask_file", mask), ("mode", "fast")], "aaa111")
    second = multipart_body([("mode", "fast"), ("mask_file", mask), ("image_file", image)], "zz-99")

    def send(key: str, body: tuple[bytes, str]) -> requests.Response:
        return post(gateway.url, "/cleanup/v1", key, data=body[0],
                     headers={"Content-Type": body[1]})

    with ThreadPoolExecutor(2) as pool:
        one = pool.submit(send, alice, first)
        time.sleep(0.1)
        two = pool.submit(send, bob, second)
        answers = [one.result(), two.result()]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    assert sorted(a.headers["x-credits-consumed"] for a in answers) == ["0", "1"]
    assert len(fake.seen) == 1
    # Later, a third seat: answered from the cache, free.
    third = send(carol, second)
    assert (third.status_code, third.headers["x-credits-consumed"]) == (200, "0")
    assert third.headers["x-remaining-credits"] == "10"
    assert third.content == answers[0].content
    assert len(fake.seen) == 1
    # A different Accept is a different request.
    other = post(gateway.url, "/text-to-image/v1", carol, files={"prompt": (None, "x")},
                  headers={"Accept": "image/webp"})
    again = post(gateway.url, "/text-to-image/v1", carol, files={"prompt": (None, "x")})
    assert other.status_code == again.status_code == 200
    assert len(fake.seen) == 3


def test_no_shared_cache_sends_each_request(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url, shared_cache=False)
    (_, alice), (_, bob) = ledger.create_seats(2, 10)
    for key in (alice, bob, alice):
        answer = post(gateway.url, "/text-to-image/v1", key, files={"prompt": (None, "same")})
        assert answer.headers["x-credits-consumed"] == "2"
    assert len(fake.seen) == 3


def test_a_flooding_seat_delays_a_light_seat_by_at_most_a_couple_of_slots(make_fake,
                                                                          make_gateway, ledger):
    # A slot every 0.25 s: the light request reaches the gateway well within one slot.
    fake = make_fake(rate=240)
    gateway = make_gateway(fake.url, requests_per_minute=240)
    (_, flood), (_, light) = ledger.create_seats(2, 1000)
    with ThreadPoolExecutor(16) as pool:
        floods = [pool.submit(post, gateway.url, "/text-to-image/v1", flood,
                              files={"prompt": (None, f"flood {i}")}) for i in range(16)]
        while fake.received < 3:
            time.sleep(0.01)
        before = fake.received
        answer = post(gateway.url, "/text-to-image/v1", light,
                       files={"prompt": (None, "light")})
        assert answer.status_code == 200
        assert all(f.result().status_code == 200 for f in floods)
    order = [s.texts["prompt"] for s in fake.served()]
    position = order.index("light")
    # Upstream calls between the light request's arrival and its own: one flood call at most
    # (round-robin), plus one that may have been on its way as it arrived.
    assert position - before <= 2, order
    assert position < 8  # not behind the flood's queue of 13 more
    assert fake.too_many == 0
    # Evenly paced: the gateway let no two calls go closer than 60 / 240 s.
    granted = list(gateway.gateway.lanes["key"].granted_at)  # one lane: the room's key
    assert len(granted) == 17
    assert min(b - a for a, b in pairwise(granted)) >= 0.25


def test_a_429_from_the_service_is_waited_out_not_passed_to_the_seat(make_fake, make_gateway,
                                                                     ledger):
    fake = make_fake(rate=1, window=2.0)  # another user of the room's key took the window
    gateway = make_gateway(fake.url, requests_per_minute=600)
    [(_, seat)] = ledger.create_seats(1, 10)
    answers = [post(gateway.url, "/text-to-image/v1", seat, files={"prompt": (None, p)})
               for p in ("one", "two")]
    assert [a.status_code for a in answers] == [200, 200]
    assert fake.too_many == 1  # seen by the gateway, never by the seat
    assert ledger.seats()[0].spent == 4


@pytest.mark.parametrize("status", [401, 402, 403])
def test_the_rooms_account_refused_upstream_is_a_503_that_blames_no_seat(make_fake, make_gateway,
                                                                        ledger, status):
    fake = make_fake(refuse_with=status)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = post(gateway.url, "/text-to-image/v1", seat, files={"prompt": (None, "a fox")})
    assert answer.status_code == 503
    message = answer.json()["error"]
    assert "workshop's ClipDrop account" in message and "not your key" in message
    assert answer.headers["x-remaining-credits"] == "10"
    assert ledger.seats()[0].spent == 0


def test_a_wrong_room_key_is_a_503_too(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url, upstream_key="sk-not-the-room")
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = post(gateway.url, "/text-to-image/v1", seat, files={"prompt": (None, "a fox")})
    assert answer.status_code == 503
    assert ledger.seats()[0].remaining == 10


def test_seat_rpm_caps_one_seat(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url, seat_rpm=2, requests_per_minute=600)
    (_, alice), (_, bob) = ledger.create_seats(2, 100)
    statuses = [post(gateway.url, "/text-to-image/v1", alice,
                      files={"prompt": (None, f"p{i}")}).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    assert post(gateway.url, "/text-to-image/v1", bob,
                 files={"prompt": (None, "b")}).status_code == 200
    assert fake.received == 3


def test_no_upstream_key_and_no_upstream_rehearses_on_the_local_engine(ledger, tmp_path,
                                                                        monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    [(_, seat)] = ledger.create_seats(1, 10)
    with serve_gateway(tmp_path / "room.db", port=0, background=True) as gateway:
        assert gateway.source == "local engine"
        result = Client(api_key=seat, base_url=gateway.url).text_to_image("a lighthouse")
    assert result.is_preview and result.image.size == (512, 512)
    assert result.remaining_credits == 8


def test_an_upstream_url_without_a_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    with pytest.raises(ValueError, match="needs the room's key"):
        serve_gateway(tmp_path / "room.db", port=0, upstream="http://127.0.0.1:9",
                      background=True)


def test_pyclipdrop_gets_images_through_the_gateway_with_a_seat_key(make_fake, make_gateway,
                                                                    ledger, tmp_path):
    """An SDK no one here wrote: pyclipdrop takes ``base_url`` in its constructor."""
    from pyclipdrop import ClipdropClient

    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    sdk = ClipdropClient(api_key=seat, base_url=gateway.url)
    sdk.text_to_image("a red fox", output_file=str(tmp_path / "fox.png"))
    photo, mask = tmp_path / "photo.png", tmp_path / "mask.png"
    photo.write_bytes(png_bytes((40, 30)))
    mask.write_bytes(png_bytes((40, 30), 255, "L"))
    sdk.cleanup(str(photo), str(mask), output_file=str(tmp_path / "clean.png"))
    assert Image.open(tmp_path / "fox.png").size == (64, 64)
    assert Image.open(tmp_path / "clean.png").size == (64, 64)
    assert {s.key for s in fake.seen} == {ROOM_KEY}
    assert ledger.seats()[0].spent == 3


def test_the_dashboard_shows_seats_spend_and_requests(make_fake, make_gateway, ledger, tmp_path):
    from clipdrop_widgets import GatewayDashboard

    fake = make_fake()
    gateway = make_gateway(fake.url)
    made = ledger.create_seats(3, 10)
    for _, key in made[:2]:
        post(gateway.url, "/text-to-image/v1", key, files={"prompt": (None, "same")})
    dashboard = GatewayDashboard(tmp_path / "room.db", live=False)
    try:
        assert repr(dashboard) == "GatewayDashboard(3 seats, 2 credits spent, 2 requests)"
        assert "seat-03" in dashboard._table.value and "never" in dashboard._table.value
        assert bytes(dashboard._chart.value).startswith(b"\x89PNG")
        before = bytes(dashboard._chart.value)
        post(gateway.url, "/text-to-image/v1", made[2][1], files={"prompt": (None, "other")})
        dashboard.refresh()
        assert dashboard.credits_spent == 4 and bytes(dashboard._chart.value) != before
        state = str(dashboard.get_state()) + str([w.get_state() for w in dashboard.children])
        assert not any(key in state for _, key in made)
        assert "image/png" in dashboard._repr_mimebundle_()
    finally:
        dashboard.close()


def test_live_dashboard_refreshes_by_itself(make_fake, make_gateway, ledger, tmp_path):
    from clipdrop_widgets import GatewayDashboard

    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, key)] = ledger.create_seats(1, 10)
    dashboard = GatewayDashboard(tmp_path / "room.db", interval=0.05)
    try:
        post(gateway.url, "/text-to-image/v1", key, files={"prompt": (None, "x")})
        done = threading.Event()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not done.is_set():
            if dashboard.requests == 1:
                done.set()
            time.sleep(0.05)
        assert done.is_set()
    finally:
        dashboard.close()
