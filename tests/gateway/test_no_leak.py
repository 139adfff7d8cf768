"""The room's key never reaches a seat, whatever the upstream writes where.

The fake service plants the room's key, and its obvious transforms, in the body and headers of
an answer of every status; everything a seat receives (status line, headers, body) is searched
for any of them. Before issue 19, 400, 404, 500 and 302 answers and 200 JSON bodies were passed
on word for word.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse

import pytest
import requests
from gateway_fake import ROOM_KEY, post

from clipdrop_widgets.gateway.redact import quote_upstream


def _forms(key: str) -> list[str]:
    raw = key.encode()
    return [key, key.lower(), key.upper(), urllib.parse.quote(key, safe=""), raw.hex(),
            base64.b64encode(raw).decode().rstrip("="),
            base64.urlsafe_b64encode(raw).decode().rstrip("="),
            base64.b64encode(b"user:" + raw).decode()[8:-4]]


def _planted(status: int) -> tuple[int, dict[str, str], bytes, float]:
    raw = ROOM_KEY.encode()
    said = (f"key {ROOM_KEY} ({ROOM_KEY.upper()}) refused; basic "
            f"{base64.b64encode(b'user:' + raw).decode()} url {urllib.parse.quote(ROOM_KEY)} "
            f"hex {raw.hex()}")
    headers = {"Content-Type": "application/json", "X-Debug-Key": ROOM_KEY,
               "Location": f"https://elsewhere.example/?key={ROOM_KEY}",
               "Set-Cookie": f"k={base64.b64encode(raw).decode()}",
               "x-credits-consumed": "0", "Retry-After": "1"}
    return status, headers, json.dumps({"error": said, "key": ROOM_KEY}).encode(), 0


STATUSES = [200, 301, 302, 400, 401, 402, 403, 404, 406, 409, 429, 500, 502, 503]


def test_the_room_key_is_in_nothing_a_seat_receives(make_fake, make_gateway, ledger, caplog):
    answered_429: set[str] = set()

    def script(path, texts):
        status = int(texts["prompt"].split()[-1])
        if status == 429:  # a 429 once, then the usual image: the seat never sees the 429
            if texts["prompt"] in answered_429:
                return None
            answered_429.add(texts["prompt"])
        return _planted(status)

    fake = make_fake(script=script)
    gateway = make_gateway(fake.url, requests_per_minute=600)
    [(_, seat)] = ledger.create_seats(1, 100)
    caplog.set_level(logging.DEBUG)
    seen = {}
    for status in STATUSES:
        answer = post(gateway.url, "/text-to-image/v1", seat,
                      files={"prompt": (None, f"status {status}")})
        seen[status] = answer.status_code
        everything = (f"{answer.status_code} {answer.reason}\n"
                      + "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
                      + "\n" + answer.content.decode("latin-1"))
        for form in _forms(ROOM_KEY):
            assert form.lower() not in everything.lower(), (status, form, everything)
        assert "elsewhere.example" not in everything and "X-Debug-Key" not in everything
        if status != 429:
            assert answer.headers["Content-Type"] == "application/json"
        if status not in (200, 401, 402, 403, 429):  # the service's reason, quoted safely
            assert "[room key removed] ([room key removed]) refused" in answer.json()["error"]
    usage = requests.get(gateway.url + "/gateway/v1/seat", headers={"x-api-key": seat},
                         timeout=10).text
    assert ROOM_KEY not in usage
    assert ROOM_KEY.lower() not in caplog.text.lower()
    assert seen == {200: 502, 301: 502, 302: 502, 400: 400, 401: 503, 402: 503, 403: 503,
                    404: 502, 406: 406, 409: 502, 429: 200, 500: 502, 502: 502, 503: 502}


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:", b"Bearer "])
def test_base64_of_the_key_at_any_alignment_is_removed(prefix):
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = f"auth {encode(prefix + ROOM_KEY.encode()).decode()} was wrong"
        quoted = quote_upstream(json.dumps({"error": text}).encode(), ROOM_KEY)
        assert quoted.startswith("auth ") and quoted.endswith(" was wrong")
        for token in quoted.split():
            padded = token + "=" * (-len(token) % 4)
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    decoded = decode(padded)
                except ValueError:
                    continue
                assert ROOM_KEY.encode() not in decoded


def _leaky_forms(key: str) -> dict[str, str]:
    """The forms the issue-19 attack (findings19c F10) got past the redaction."""
    raw = key.encode()
    return {"hex with spaces": " ".join(f"{b:02x}" for b in raw),
            "hex with colons, upper case": ":".join(f"{b:02X}" for b in raw),
            "split by a space": key[:16] + " " + key[16:],
            "wrapped over lines": key[:10] + "\n" + key[10:20] + "\n" + key[20:],
            "\\u-escaped": "".join(f"\\u{ord(c):04x}" for c in key),
            "%-escaped one by one": "".join(f"%{b:02X}" for b in raw),
            "reversed": key[::-1],
            "reversed hex": raw[::-1].hex(),
            "base64 of the reversed key": base64.b64encode(raw[::-1]).decode(),
            "html entities": "".join(f"&#x{ord(c):x};" for c in key)}


@pytest.mark.parametrize("form", list(_leaky_forms(ROOM_KEY)))
def test_a_reason_that_shows_the_key_once_normalised_is_withheld_whole(form):
    said = f"bad key {_leaky_forms(ROOM_KEY)[form]} for this account"
    quoted = quote_upstream(json.dumps({"error": said}).encode(), ROOM_KEY)
    assert quoted == "the service's message was withheld: it quoted the room key"


def test_a_reason_without_the_key_is_still_quoted():
    said = "prompt too long: 1200 characters (limit 1000); see 52 6f 6f 6d docs"
    assert quote_upstream(json.dumps({"error": said}).encode(), ROOM_KEY) == said


def test_a_split_key_in_the_upstream_reason_does_not_reach_the_seat(make_fake, make_gateway,
                                                                     ledger):
    fake = make_fake(script=lambda path, texts: (
        400, {"Content-Type": "application/json"},
        json.dumps({"error": "key " + ROOM_KEY[:16] + " " + ROOM_KEY[16:]}).encode(), 0))
    gateway = make_gateway(fake.url)
    [(_, seat)] = ledger.create_seats(1, 10)
    answer = post(gateway.url, "/text-to-image/v1", seat, files={"prompt": (None, "a cat")})
    assert answer.status_code == 400
    assert ROOM_KEY[16:] not in answer.text and ROOM_KEY[:16] not in answer.text
    assert "withheld: it quoted the room key" in answer.json()["error"]
