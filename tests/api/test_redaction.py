"""Redaction is for what people read; protocol fields are parsed as received.

The key is cut out of messages and of the response kept on an exception in any case,
URL-encoded or base64-encoded; a 2xx body that is not an image is redacted where shown. And a
key that happens to occur in a header (``"a"`` in ``image/png``, ``"1"`` in a credit count)
leaves the header alone: the call succeeds and is counted right.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fault_server import Action, FaultServer, png_bytes

from clipdrop_widgets import APIStatusError, Client, InvalidResponseError
from clipdrop_widgets.api.secret import Secret
from clipdrop_widgets.apps._status import error_text

SENTINEL = "sk-SENTINEL-7f3a9c1e5b"


@pytest.mark.parametrize("key", ["a", "1", "image", "png"])
def test_a_key_inside_a_header_value_leaves_the_header_alone(served_engine, key):
    """It used to fail every call ("answered 200 with im***ge/png ... not an image"), paid."""
    client = Client(key, base_url=served_engine.url, timeout=30)
    result = client.cleanup(np.zeros((16, 16, 3), np.uint8), np.ones((16, 16), bool))
    assert result.content_type == "image/png" and result.width == 16
    assert result.credits_consumed == 1 and client.credits_spent == 1


def test_credit_headers_are_read_as_received_when_the_key_is_a_digit():
    with FaultServer(default=Action.image(png_bytes(), x_remaining_credits="91",
                                          x_credits_consumed="1")) as server:
        client = Client("1", base_url=server.url, timeout=10)
        result = client.text_to_image("a cat")
    assert result.credits_consumed == 1 and result.remaining_credits == 91
    assert client.remaining_credits == 91


def _echoes(key: str) -> dict[str, str]:
    return {
        "upper": key.upper(),
        "lower": key.lower(),
        "base64": base64.b64encode(key.encode()).decode(),
        "basic": base64.b64encode(f"user:{key}".encode()).decode(),
        "urlsafe-offset": base64.urlsafe_b64encode(f"xy{key}!".encode()).decode(),
        "url-lower": key.replace("-", "%2d"),
    }


@pytest.mark.parametrize("form", list(_echoes(SENTINEL)))
@pytest.mark.parametrize("status", [403, 500])
def test_an_echo_in_any_form_is_cut_from_what_people_see(monkeypatch, form, status):
    import clipdrop_widgets.api.client as client_module

    monkeypatch.setattr(client_module, "_sleep", lambda s: None)
    echo = _echoes(SENTINEL)[form]
    body = json.dumps({"error": f"key {echo} refused"})
    with FaultServer(default=Action.error(status, f"key {echo} refused")) as server:
        client = Client(SENTINEL, base_url=server.url, timeout=10, max_retries=0)
        with pytest.raises(APIStatusError) as info:
            client.text_to_image("a cat")
    exc = info.value
    shown = [str(exc), repr(exc), exc.message, str(exc.body), exc.response.text,
             str(dict(exc.response.headers)), error_text(exc)]
    for text in shown:
        assert echo not in text, text
    assert "***" in exc.message and echo in body  # the server did echo it


def test_a_2xx_body_that_is_not_an_image_is_redacted_where_shown():
    page = f"<html>hello {SENTINEL}, your key {SENTINEL.upper()}</html>".encode()
    with FaultServer(default=Action("respond", 200, {"Content-Type": "text/html",
                                                     "X-Echo": SENTINEL}, page)) as server:
        client = Client(SENTINEL, base_url=server.url, timeout=10)
        with pytest.raises(InvalidResponseError, match="not an image") as info:
            client.text_to_image("a cat")
    response = info.value.response
    assert response is not None and response.status_code == 200
    for text in (response.text, str(dict(response.headers)), str(info.value)):
        assert SENTINEL not in text and SENTINEL.upper() not in text
    assert b"***" in response.content


def test_the_image_bytes_are_never_touched_even_when_they_hold_the_key():
    """An image whose bytes happen to contain the key is kept byte for byte."""
    key = "IHDR"  # in every PNG
    data = png_bytes()
    with FaultServer(default=Action.image(data)) as server:
        result = Client(key, base_url=server.url, timeout=10).text_to_image("a cat")
    assert result.data == data


def test_secret_forms():
    secret = Secret(SENTINEL)
    for echo in _echoes(SENTINEL).values():
        assert echo not in secret.redact(f"before {echo} after")
        assert echo.encode() not in secret.redact(f"before {echo} after".encode())
    assert secret.redact("nothing here") == "nothing here"
    short = Secret("ab")  # no base64 fragment of two bytes is long enough to cut
    assert short.redact("YWI= is base64 of it") == "YWI= is base64 of it"


def _split_echoes(key: str) -> dict[str, str]:
    """The key broken in two, as a server quoting it across lines may write it."""
    head, tail = key[:11], key[11:]
    return {
        "newline": f"{head}\n{tail}",
        "crlf-fold": f"{head}\r\n {tail}",
        "json-newline": json.dumps(f"{head}\n{tail}")[1:-1],
        "json-crlf": json.dumps(f"{head}\r\n{tail}")[1:-1],
        "hex": key.encode().hex(),
        "hex-upper": key.encode().hex().upper(),
        "html-decimal": "".join(f"&#{ord(c)};" for c in key),
        "html-hex": "".join(f"&#x{ord(c):X};" for c in key),
    }


@pytest.mark.parametrize("form", list(_split_echoes(SENTINEL)))
def test_a_key_split_across_lines_or_in_hex_or_html_references_is_cut(form):
    """A key echoed in two halves on two lines reached ``str(exc)`` whole (findings 20b #2)."""
    echo = _split_echoes(SENTINEL)[form]
    with FaultServer(default=Action.error(400, f"bad key {echo} here")) as server:
        client = Client(SENTINEL, base_url=server.url, timeout=10, max_retries=0)
        with pytest.raises(APIStatusError) as info:
            client.text_to_image("a cat")
    exc = info.value
    shown = [str(exc), repr(exc), exc.message, str(exc.body), exc.response.text, error_text(exc)]
    for text in shown:
        assert echo not in text, text
        assert SENTINEL[:11] not in text and SENTINEL[11:] not in text, text
    assert "***" in exc.message and "bad key" in exc.message


def test_a_short_key_is_cut_only_as_a_whole_word():
    """Key ``"0"`` turned ``500: internal`` into ``5******: internal`` (findings 20b #6)."""
    with FaultServer(default=Action.error(500, "internal error for key 0")) as server:
        client = Client("0", base_url=server.url, timeout=10, max_retries=0)
        with pytest.raises(APIStatusError) as info:
            client.text_to_image("a cat")
    assert "500" in str(info.value) and "key ***" in str(info.value)
    assert Secret("a").redact("429: Too many requests (key a)") == (
        "429: Too many requests (key ***)")
    assert Secret("e").redact(b"requests e.") == b"requests ***."
    assert Secret("1234567").redact("x1234567 1234567") == "x1234567 ***"
