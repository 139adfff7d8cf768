"""The teacher's admin page: behind its token (or a pluggable check), live figures, CSV.

Before issue 19 the teacher saw spend only, and only from a kernel beside the database.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time

import requests
from gateway_fake import ROOM_KEY, png_bytes, post


def _get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=10, **kwargs)


def test_the_admin_page_needs_its_token(make_fake, make_gateway):
    fake = make_fake()
    gateway = make_gateway(fake.url, admin_token="teacher-token-123")
    assert gateway.admin_url == gateway.url + "/gateway/admin?token=teacher-token-123"
    for path in ("/gateway/admin", "/gateway/admin/stats.json", "/gateway/admin/log.csv"):
        assert _get(gateway.url + path).status_code == 401
        assert _get(gateway.url + path + "?token=wrong").status_code == 401
        assert _get(gateway.url + path + "?token=teacher-token-123").status_code == 200
        assert _get(gateway.url + path, headers={
            "Authorization": "Bearer teacher-token-123"}).status_code == 200
    page = _get(gateway.admin_url)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Workshop gateway" in page.text and "teacher-token-123" not in page.text
    assert "teacher-token" not in repr(gateway)


def test_the_admin_check_is_pluggable(make_fake, make_gateway):
    fake = make_fake()
    gateway = make_gateway(fake.url,
                           admin_check=lambda request: request.headers.get("X-User") == "ada")
    assert gateway.admin_url == gateway.url + "/gateway/admin"
    stats = gateway.url + "/gateway/admin/stats.json"
    assert _get(stats).status_code == 401
    assert _get(stats, headers={"X-User": "bob"}).status_code == 401
    assert _get(stats, headers={"X-User": "ada"}).status_code == 200


def test_the_stats_show_each_seat_and_the_room_while_calls_run(make_fake, make_gateway, ledger):
    def script(path, texts):
        if texts.get("prompt") == "broken":
            return 500, {"Content-Type": "application/json"}, b'{"error": "boom"}', 0
        return None

    fake = make_fake(delay=2.5, script=script)
    gateway = make_gateway(fake.url, admin_token="t")
    (_, busy), (_, poor) = ledger.create_seats(2, 10)
    ledger.topup("seat-02", 1)
    ledger._db.execute("UPDATE seats SET spent = 10 WHERE label = 'seat-02'")  # 1 credit left
    calls = [threading.Thread(target=post, args=(gateway.url, "/text-to-image/v1", busy),
                              kwargs={"files": {"prompt": (None, f"p{i}")}}) for i in range(3)]
    for call in calls:
        call.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # two sent (the seat's cap), the third behind them
        seat = _get(gateway.url + "/gateway/admin/stats.json?token=t").json()["seats"][0]
        if (seat["in_flight"], seat["waiting"]) == (2, 1):
            break
        time.sleep(0.02)
    assert (seat["label"], seat["in_flight"], seat["waiting"]) == ("seat-01", 2, 1)
    assert seat["credits_left"] == 4  # 10 less three 2-credit calls, each counted once
    for call in calls:
        call.join()
    assert post(gateway.url, "/text-to-image/v1", poor,
                files={"prompt": (None, "x")}).status_code == 402
    assert post(gateway.url, "/text-to-image/v1", busy,
                files={"prompt": (None, "broken")}).status_code == 502
    after = _get(gateway.url + "/gateway/admin/stats.json?token=t").json()
    busy_view, poor_view = after["seats"]
    assert busy_view["credits_spent"] == 6 and busy_view["credits_left"] == 4
    assert busy_view["wait_p50"] is not None and busy_view["wait_p95"] >= busy_view["wait_p50"]
    assert busy_view["refusals"] == {"upstream": 1}
    assert poor_view["refusals"] == {"credits": 1} and poor_view["credits_left"] == 1
    room = after["room"]
    assert room["upstream_calls"] == 4 and room["upstream_errors"] == 1
    assert room["upstream_up"] is False  # its last answer was a 500
    assert room["scope"] == "key" and room["upstream_rate_used"] == 4
    assert [e["status"] for e in after["log"]] == [200, 200, 200, 402, 502]
    exported = _get(gateway.url + "/gateway/admin/log.csv?token=t")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["status"] for r in rows] == ["200", "200", "200", "402", "502"]
    assert rows[0]["seat"] == "seat-01" and rows[0]["credits"] == "2.0"
    for text in (exported.text, str(after), _get(gateway.admin_url).text):
        assert ROOM_KEY not in text
        assert not any(key in text for key in (busy, poor))


def test_the_stats_stay_json_when_a_seat_holds_an_infinite_balance(make_fake, make_gateway,
                                                                   ledger):
    # A seat an older gateway made from a roster line "alice inf": the page's JSON.parse
    # failed on the bare Infinity, and the page showed nothing for every seat.
    fake = make_fake()
    gateway = make_gateway(fake.url, admin_token="t")
    ledger.create_seats(2, 10)
    ledger._db.execute("UPDATE seats SET credits = 9e999 WHERE label = 'seat-01'")
    body = _get(gateway.url + "/gateway/admin/stats.json?token=t").text

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    seats = json.loads(body, parse_constant=refuse)["seats"]
    assert [s["label"] for s in seats] == ["seat-01", "seat-02"]
    assert seats[0]["credits_left"] is None and seats[1]["credits_left"] == 10


def test_the_csv_export_adds_up_to_what_each_seat_was_charged(make_fake, make_gateway, ledger):
    # Before the fix (findings19c F1, F7) a charged error had an empty credits cell and a
    # charge clamped at the seat's balance showed the service's claim: the export's sum per
    # seat did not match the ledger, and the seat was told X-Credits-Consumed: 5 for 2.
    def script(path, texts):
        said = texts["prompt"]
        if said.startswith("refused"):
            return 400, {"Content-Type": "application/json", "x-credits-consumed": "1"}, \
                b'{"error": "prompt refused"}', 0
        if said.startswith("failed"):
            return 500, {"Content-Type": "application/json", "x-credits-consumed": "1"}, \
                b'{"error": "internal"}', 0
        if said.startswith("dear"):
            return 200, {"Content-Type": "image/png", "x-credits-consumed": "5"}, \
                png_bytes(), 0
        return None

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url, admin_token="t", shared_cache=False)
    [(_, rich)] = ledger.create_seats(1, 10)
    [(_, poor)] = ledger.create_seats(1, 2, label="two")
    for seat, prompts in ((rich, ["a cat", "refused 1", "failed 1", "refused 2"]),
                          (poor, ["dear 1"])):
        for prompt in prompts:
            answer = post(gateway.url, "/text-to-image/v1", seat,
                          files={"prompt": (None, prompt)})
            if prompt == "dear 1":
                assert answer.status_code == 200
                assert answer.headers["x-credits-consumed"] == "2"  # what it paid, not 5
                assert answer.headers["x-remaining-credits"] == "0"
    rows = list(csv.DictReader(io.StringIO(
        _get(gateway.url + "/gateway/admin/log.csv?token=t").text)))
    summed: dict[str, float] = {}
    for row in rows:
        summed[row["seat"]] = summed.get(row["seat"], 0.0) + float(row["credits"] or 0)
    spent = {seat.label: seat.spent for seat in ledger.seats()}
    assert spent == {"seat-01": 2 + 3 * 1, "two-01": 2}  # the fake reports 2 for an image
    assert summed == spent
    [dear] = [row for row in rows if row["seat"] == "two-01"]
    assert dear["service_claimed"] == "5.0"
