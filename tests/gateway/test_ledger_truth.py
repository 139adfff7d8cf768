"""The ledger follows what the upstream did, and a seat is told the truth about it.

Each test failed before issue 19: a call answered after the gateway's timeout was released as
free while the service charged it; a departed participant's queued call was still sent and
charged; a 200 that was not an image was charged, cached and served to the next seat;
``x-credits-consumed: -100`` gave credits; a call in flight was counted twice against the
balance; a seat charged more than it had went below zero.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from gateway_fake import post
from PIL import Image

PROMPT = "/text-to-image/v1"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def _ask(url: str, key: str, prompt: str, **kwargs) -> requests.Response:
    return post(url, PROMPT, key, files={"prompt": (None, prompt)}, **kwargs)


def test_a_call_answered_after_the_gateways_timeout_stays_charged(make_fake, make_gateway,
                                                                  ledger):
    fake = make_fake(delay=2.0)
    gateway = make_gateway(fake.url, upstream_timeout=0.7)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _ask(gateway.url, seat, "slow")
    assert answer.status_code == 502
    assert "may have reached it" in answer.json()["error"]
    assert "stay charged" in answer.json()["error"]
    time.sleep(1.6)  # the service finishes and charges
    assert fake.charged == 2
    [row] = ledger.seats()
    assert (row.spent, row.reserved) == (2, 0)
    assert ledger.total_charged() == fake.charged


def test_an_upstream_that_cannot_be_reached_charges_nothing_and_says_so(make_gateway, ledger):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = make_gateway(f"http://127.0.0.1:{port}")
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _ask(gateway.url, seat, "nowhere")
    assert answer.status_code == 502
    assert "nothing was sent and nothing was charged" in answer.json()["error"]
    assert ledger.seats()[0].remaining == 10


def test_a_queued_call_of_a_participant_who_left_is_withdrawn_unsent(make_fake, make_gateway,
                                                                    ledger):
    fake = make_fake(delay=1.5)
    gateway = make_gateway(fake.url, seat_parallel=1)
    [(_, seat)] = ledger.create_seats(1, 10)
    first = threading.Thread(target=_ask, args=(gateway.url, seat, "first"))
    first.start()
    while fake.received < 1:
        time.sleep(0.01)
    with pytest.raises(requests.exceptions.ReadTimeout):  # waits behind the first, gives up
        _ask(gateway.url, seat, "second", timeout=0.5)
    first.join()
    time.sleep(0.5)
    assert [s.texts["prompt"] for s in fake.seen] == ["first"]
    [row] = ledger.seats()
    assert (row.spent, row.reserved, row.remaining) == (2, 0, 8)


def test_a_200_that_is_not_an_image_is_never_cached_or_served_to_another_seat(
        make_fake, make_gateway, ledger):
    def script(path, texts):
        if texts.get("prompt") == "json":
            return 200, {"Content-Type": "application/json", "x-credits-consumed": "2"}, \
                b'{"status": "queued"}', 2
        return None

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    (_, alice), (_, bob) = ledger.create_seats(2, 10)
    first = _ask(gateway.url, alice, "json")
    second = _ask(gateway.url, bob, "json")
    for answer in (first, second):
        assert answer.status_code == 502
        assert "without an image" in answer.json()["error"]
        assert "queued" not in answer.text
    assert fake.received == 2  # bob's went upstream: no "hit" on a non-image
    assert [s.spent for s in ledger.seats()] == [2, 2]
    assert ledger.total_charged() == fake.charged == 4


def test_an_answer_over_the_bound_is_called_too_large_and_stays_charged(make_fake, make_gateway,
                                                                        ledger, monkeypatch):
    """An answer over the gateway's bound (100 MB; 4 KB here) was reported as "the service
    did not answer": it did, with too much. It stays charged as before (the service did the
    work), and the seat is told it was too large, naming the bound."""
    from clipdrop_widgets.gateway import upstream

    monkeypatch.setattr(upstream, "MAX_ANSWER", 4096)

    def script(path, texts):
        return 200, {"Content-Type": "image/png", "x-credits-consumed": "2"}, \
            b"\x89PNG\r\n\x1a\n" + bytes(8192), 2

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _ask(gateway.url, seat, "huge")
    said = answer.json()["error"]
    assert answer.status_code == 502
    assert "answer was too large" in said and "bound of 4096 bytes" in said
    assert "did not answer" not in said and "2 credits stay charged" in said
    assert answer.headers["x-credits-consumed"] == "2"  # a client must not send it again
    [row] = ledger.seats()
    assert (row.spent, row.reserved) == (2, 0)
    assert ledger.total_charged() == fake.charged == 2


def test_the_packages_client_sends_a_charged_failure_once(make_fake, make_gateway, ledger):
    """The gateway's "credits stay charged" 502s are 5xx: the client retried every 5xx, so one
    Run through the gateway was charged three times to the seat and to the room's key
    (att23 #0). The 502 says what it charged; the client counts it once and stops."""
    from fault_server import UNPACED

    from clipdrop_widgets import Client, ServerError

    def script(path, texts):  # a 200 without an image: the service counts the call
        return 200, {"Content-Type": "image/png", "x-credits-consumed": "1"}, b"not a png", 1

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    with Client(seat, base_url=gateway.url, max_retries=2, timeout=10,
                requests_per_minute=UNPACED) as client:
        with pytest.raises(ServerError, match="stay charged"):
            client.text_to_image("a lighthouse")
        assert client.credits_spent == 1 and client.remaining_credits == 9
    assert fake.charged == 1 and ledger.total_charged() == 1
    [row] = ledger.seats()
    assert (row.spent, row.requests) == (1, 1)


@pytest.mark.parametrize("framing", ["chunked", "until close"])
def test_an_answer_over_the_bound_without_a_length_is_too_large_too(framing):
    """Without a Content-Length (chunked, or read until the connection closes) the bound
    is counted as the answer arrives; the gateway keeps none of it."""
    import asyncio

    from clipdrop_widgets.contract.endpoints import ENDPOINTS
    from clipdrop_widgets.gateway.bodies import Outgoing
    from clipdrop_widgets.gateway.upstream import TOO_LARGE, HTTPUpstream

    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
            piece = b"\x89PNG\r\n\x1a\n" + bytes(992)
            if framing == "chunked":
                conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" +
                             b"".join(b"3e8\r\n" + piece + b"\r\n" for _ in range(10)) +
                             b"0\r\n\r\n")
            else:
                conn.sendall(head + b"Connection: close\r\n\r\n" + piece * 10)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    upstream = HTTPUpstream(f"http://127.0.0.1:{server.getsockname()[1]}", "k",
                            max_answer=4096)
    body = Outgoing(io.BytesIO(b"x"), 1, "text/plain", "image/png", "key")
    try:
        got = asyncio.run(upstream.send(ENDPOINTS["text_to_image"], body))
    finally:
        upstream.close()
        thread.join(5)
        server.close()
    assert (got.status, got.body) == (TOO_LARGE, b"4096")


@pytest.mark.parametrize("header", ["-100", "1e9", "nan", "lots", "0", "0.0001"])
def test_a_negative_or_absurd_credits_header_is_not_believed(make_fake, make_gateway, ledger,
                                                             header):
    def script(path, texts):
        return 200, {"Content-Type": "image/png", "x-credits-consumed": header}, _png(), 2

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _ask(gateway.url, seat, "odd")
    assert answer.status_code == 200
    assert answer.headers["x-credits-consumed"] == "2"  # the documented price
    assert answer.headers["x-remaining-credits"] == "8"
    assert ledger.seats()[0].spent == 2


def test_a_fractional_charge_is_rounded_to_hundredths(make_fake, make_gateway, ledger):
    # findings19c F3: "0.0001" left balances of 1.9999; a reported charge is kept to hundredths.
    def script(path, texts):
        return 200, {"Content-Type": "image/png", "x-credits-consumed": "1.49999"}, _png(), 2

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = _ask(gateway.url, seat, "fraction")
    assert answer.status_code == 200
    assert answer.headers["x-credits-consumed"] == "1.5"
    assert answer.headers["x-remaining-credits"] == "8.5"
    assert ledger.seats()[0].spent == 1.5


def test_a_negative_charge_for_uncrop_never_gives_a_seat_credits(make_fake, make_gateway, ledger):
    """Issue 23's finding: six uncrops answered ``x-credits-consumed: -5`` took a seat 3 -> 33."""
    def script(path, texts):
        return 200, {"Content-Type": "image/jpeg", "x-credits-consumed": "-5"}, _png(), 1

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 3)
    photo = {"image_file": ("photo.png", _png()), "extend_left": (None, "10")}
    codes = [post(gateway.url, "/uncrop/v1", seat, files=photo).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 402, 402, 402]
    assert fake.received == 3
    assert ledger.seats()[0].spent == 3 and ledger.seats()[0].remaining == 0


def test_a_call_in_flight_is_counted_once_against_the_balance(make_fake, make_gateway, ledger):
    fake = make_fake(delay=1.0)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 4)  # two 2-credit calls
    first = threading.Thread(target=_ask, args=(gateway.url, seat, "one"))
    first.start()
    while fake.received < 1:
        time.sleep(0.01)
    usage = requests.get(gateway.url + "/gateway/v1/seat", headers={"x-api-key": seat},
                         timeout=10).json()
    assert usage["credits_remaining"] == 2 and usage["credits_reserved"] == 2
    second = _ask(gateway.url, seat, "two")
    first.join()
    assert second.status_code == 200, second.text
    assert ledger.seats()[0].remaining == 0


def test_a_seat_never_goes_below_zero(make_fake, make_gateway, ledger):
    def script(path, texts):  # the service charges more than the documented price
        return 200, {"Content-Type": "image/png", "x-credits-consumed": "5"}, _png(), 5

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 3)
    answer = _ask(gateway.url, seat, "dear")
    assert answer.status_code == 200
    assert answer.headers["x-remaining-credits"] == "0"
    refused = _ask(gateway.url, seat, "again")
    assert refused.status_code == 402
    assert "has 0 credits left" in refused.json()["error"]
    [row] = ledger.seats()
    assert row.remaining == 0 and row.spent == 3
    assert ledger.total_charged() == fake.charged == 5  # the room paid what the service took
    assert fake.received == 1


def test_after_a_crash_a_call_that_never_left_whole_is_given_back(ledger):
    ledger.create_seats(1, 10)
    seat = ledger.seats()[0]
    went = ledger.reserve(seat.id, PROMPT, 2)
    never = ledger.reserve(seat.id, PROMPT, 2)
    assert went is not None and never is not None
    ledger.mark_sent(went)  # its last byte was about to go out when the process died
    assert ledger.recover() == (1, 1)
    [row] = ledger.seats()
    assert (row.spent, row.reserved, row.remaining) == (2, 0, 8)
    assert ledger.total_charged() == 2


def test_every_call_that_reached_the_service_was_marked_sent(make_fake, make_gateway, ledger):
    fake = make_fake()
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    assert _ask(gateway.url, seat, "one").status_code == 200
    rows = ledger._read("SELECT state, sent FROM charges")
    assert [(state, sent is not None) for state, sent in rows] == [("settled", True)]


@pytest.mark.parametrize("parallel", [2, 8])
@pytest.mark.parametrize("refused_first", [False, True])
def test_concurrent_calls_of_a_seat_with_exactly_enough_credits_are_all_served(
        make_fake, make_gateway, ledger, parallel, refused_first):
    """An attack (F4) once saw a seat's concurrent calls refused 402 "0 credits left" while
    its credits covered them all; a 429 and its retry must not change that either."""
    calls = 8
    refused: set[str] = set()

    def script(path, texts):  # each of the first three prompts is sent back once with a 429
        prompt = texts.get("prompt", "")
        if refused_first and prompt in {"p0", "p1", "p2"} and prompt not in refused:
            refused.add(prompt)
            return 429, {"Retry-After": "0"}, b'{"error": "too many"}', 0
        return None

    fake = make_fake(delay=0.4, script=script, rate=600)
    gateway = make_gateway(fake.url, requests_per_minute=600, seat_parallel=parallel)
    [(_, seat)] = ledger.create_seats(1, 2 * calls)  # a text to image costs 2: exactly enough
    start = threading.Barrier(calls)

    def ask(n: int) -> requests.Response:
        start.wait()
        return _ask(gateway.url, seat, f"p{n}")

    with ThreadPoolExecutor(calls) as pool:
        answers = list(pool.map(ask, range(calls)))
    assert [a.status_code for a in answers] == [200] * calls, [a.text for a in answers]
    assert len(refused) == (3 if refused_first else 0)
    assert sorted(int(a.headers["x-remaining-credits"]) for a in answers)[0] == 0
    [row] = ledger.seats()
    assert (row.spent, row.reserved, row.remaining) == (2 * calls, 0, 0)
    assert ledger.total_charged() == fake.charged == 2 * calls
    assert _ask(gateway.url, seat, "one more").status_code == 402  # and then it is spent


def test_a_seats_upscales_wait_for_its_calls_in_flight_instead_of_a_false_402(
        make_fake, make_gateway, ledger):
    """Attack 23c F13: a seat of 20 credits sent 8 upscales of about 2048x2048 at once (each
    reserves 4.19, the fake charges 1); the 5th got 402 "3.2 credits left" with 16 unspent."""
    fake = make_fake(delay=0.3)
    gateway = make_gateway(fake.url, seat_parallel=2)
    [(_, seat)] = ledger.create_seats(1, 20)
    start = threading.Barrier(8)

    def ask(n: int) -> requests.Response:
        start.wait()
        return post(gateway.url, "/image-upscaling/v1/upscale", seat, files={
            "image_file": ("photo.png", _png()), "target_width": (None, "2048"),
            "target_height": (None, str(2048 - n))})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    [row] = ledger.seats()
    assert (row.spent, row.remaining, row.reserved) == (8, 12, 0)  # no float residue left
    # a call the balance itself cannot pay is still refused at once, naming the true balance
    dear = post(gateway.url, "/image-upscaling/v1/upscale", seat, files={
        "image_file": ("photo.png", _png()), "target_width": (None, "4096"),
        "target_height": (None, "4096")})
    assert dear.status_code == 402
    assert dear.json()["error"].startswith("seat-01 has 12 credits left; ")


def test_settled_reservations_leave_no_float_residue(ledger):
    """Four upscales of 2048 x (2048 - i) reserved together and settled left the seat with
    ``credits_reserved`` -1.8e-15 and 16.000000000000002 credits remaining (attack 23c F13)."""
    ledger.create_seats(1, 20)
    seat = ledger.seats()[0]
    charges = [ledger.reserve(seat.id, "/image-upscaling/v1/upscale", 2048 * (2048 - i) / 1e6)
               for i in range(4)]
    for charge in charges:
        ledger.settle(charge, 1)
    [row] = ledger.seats()
    assert (row.reserved, row.spent, row.remaining) == (0, 4, 16)


@pytest.mark.parametrize("written", ["as is", "utf-16", "hex", "zTXt", "compressed iTXt",
                                     "XMP with a character reference"])
def test_a_picture_carrying_the_room_key_is_not_passed_on(make_fake, make_gateway, ledger,
                                                          written):
    """An echoing upstream wrote the room's key into the picture's metadata: the gateway
    handed it to the seat and cached it for the next (att23 #4; compressed text chunks and
    XML escapes: att23b N2). It is refused, charged as the service counted it, and never
    served to a second seat from the cache."""
    from gateway_fake import ROOM_KEY
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if written == "zTXt":
        info.add_text("Comment", f"token {ROOM_KEY}", zip=True)
    elif written == "compressed iTXt":
        info.add_itxt("Comment", f"token {ROOM_KEY}", zip=True)
    elif written == "XMP with a character reference":
        escaped = f"&#{ord(ROOM_KEY[0])};{ROOM_KEY[1:]}"
        info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta><dc:description>{escaped}"
                                           "</dc:description></x:xmpmeta>")
    else:
        form = {"as is": ROOM_KEY.encode(), "utf-16": ROOM_KEY.encode("utf-16-le"),
                "hex": ROOM_KEY.encode().hex().encode()}[written]
        info.add(b"tEXt", b"Comment\x00" + form)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    assert ROOM_KEY.encode() not in buf.getvalue() or written == "as is"

    def script(path, texts):
        return 200, {"Content-Type": "image/png", "x-credits-consumed": "1"}, buf.getvalue(), 1

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url)
    seats = [seat for _, seat in ledger.create_seats(2, 10)]
    for seat in seats:  # the second asks the same: nothing cached to hand it
        answer = _ask(gateway.url, seat, "a fox")
        assert answer.status_code == 502
        assert "carried the room's key" in answer.json()["error"]
        assert not answer.content.startswith(b"\x89PNG")
        assert answer.headers["x-credits-consumed"] == "1"
    assert fake.charged == 2 == ledger.total_charged()
