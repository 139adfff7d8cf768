"""The API key never appears in a repr, a log line, an exception message or a Result."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from fault_server import UNPACED, Action, FaultServer, RawServer, echo_key, head

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import APIStatusError, Client, ClipdropError
from clipdrop_widgets.apps._status import error_text

SENTINEL = "sk-SENTINEL-7f3a9c1e5b"


@pytest.mark.parametrize("action", [
    Action.image(), Action.error(401, "No api key provided"),
    Action.error(403, "Invalid or revocated api key"), Action.error(500, "boom"),
    Action("close"), Action.image(b"garbage"),
])
def test_key_never_leaks(monkeypatch, caplog, action):
    monkeypatch.setattr(client_module, "_sleep", lambda s: None)
    caplog.set_level(logging.DEBUG)
    with FaultServer(default=action) as server:
        # unpaced: a retry waited 1 s for the documented pace
        client = Client(SENTINEL, base_url=server.url, timeout=5, requests_per_minute=UNPACED)
        texts = [repr(client), str(client.__dict__)]
        try:
            result = client.cleanup(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool))
            texts += [repr(result), str(result.inputs), result.summary(),
                      str(result._repr_mimebundle_()["text/plain"])]
        except ClipdropError as exc:
            texts += [str(exc), repr(exc), str(exc.args)]
        assert server.seen[0].headers["x-api-key"] == SENTINEL  # it was sent, to the server
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert SENTINEL not in text


def test_key_from_environment_is_hidden_too(monkeypatch):
    monkeypatch.setenv("CLIPDROP_API_KEY", SENTINEL)
    client = Client(base_url="http://127.0.0.1:9")
    assert client.has_key and SENTINEL not in repr(client)
    assert "api_key=set" in repr(client)


def test_a_key_with_a_trailing_newline_is_stripped_and_sent_clean():
    with FaultServer() as server:
        Client(SENTINEL + "\n", base_url=server.url).text_to_image("a cat")
        assert server.seen[0].headers["x-api-key"] == SENTINEL


@pytest.mark.parametrize("bad", [SENTINEL[:6] + " " + SENTINEL[6:], SENTINEL + "\x00"])
def test_a_malformed_key_is_refused_without_showing_it(bad):
    with pytest.raises(ValueError, match="the key is not shown") as info:
        Client(bad, base_url="http://127.0.0.1:9")
    assert SENTINEL[:6] not in str(info.value)
    client = Client("ok", base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError) as info:
        client.set_api_key(bad)
    assert SENTINEL[:6] not in str(info.value)


def test_a_redirect_is_not_followed_so_the_key_stays_home():
    with FaultServer() as elsewhere, FaultServer() as server:
        server.default = Action("respond", 307, {"Location": elsewhere.url + "/text-to-image/v1"},
                                b"")
        client = Client(SENTINEL, base_url=server.url, timeout=5, max_retries=0)
        with pytest.raises(APIStatusError, match="redirected") as info:
            client.text_to_image("a cat")
        assert info.value.status_code == 307
        assert elsewhere.seen == []  # the key went nowhere else
        assert SENTINEL not in str(info.value)


# -- a key that a server writes back --------------------------------------------------------------
@pytest.mark.parametrize("status,where", [
    ("401 Unauthorized", "body"), ("403 Forbidden", "body"), ("400 Bad Request", "body"),
    ("500 Internal Server Error", "body"), ("503 Service Unavailable", "body"),
    ("307 Temporary Redirect", "location"), ("302 Found", "location"),
])
def test_a_key_echoed_by_the_server_is_cut_out_where_it_enters(monkeypatch, caplog, status,
                                                               where):
    monkeypatch.setattr(client_module, "_sleep", lambda s: None)
    caplog.set_level(logging.DEBUG)
    with RawServer(echo_key(status, where)) as server:
        client = Client(SENTINEL, base_url=server.url, timeout=5, max_retries=2,
                        requests_per_minute=UNPACED)  # a retry waited 1 s for the pace
        with pytest.raises(APIStatusError) as info:
            client.text_to_image("a cat")
        assert server.requests[0].headers["x-api-key"] == SENTINEL  # it was sent, and echoed
    exc = info.value
    response = exc.response
    texts = [str(exc), repr(exc), exc.message, str(exc.body), response.text, response.reason,
             str(dict(response.headers)), str(dict(response.request.headers)),
             error_text(exc)]  # the apps' status line
    texts += [r.getMessage() for r in caplog.records]  # retry log lines (5xx) included
    for text in texts:
        assert SENTINEL not in text
    assert "***" in (exc.message if where == "body" else response.headers["Location"])
    if status.startswith("5"):
        assert any("retrying" in r.getMessage() for r in caplog.records)


def test_a_url_encoded_echo_is_cut_out_too():
    key = "sk/odd+key=1"

    def behave(server, conn, request):
        from urllib.parse import quote

        body = json.dumps({"error": f"no such key: {quote(key, safe='')}"}).encode()
        conn.sendall(head("403 Forbidden", Content_Type="application/json",
                          Content_Length=str(len(body))) + body)

    with RawServer(behave) as server, pytest.raises(APIStatusError) as info:
        Client(key, base_url=server.url, timeout=5).text_to_image("a cat")
    assert "odd%2Bkey" not in str(info.value) and "***" in str(info.value)


def test_a_key_misplaced_in_the_address_is_not_in_the_repr():
    """att23 #7: the key written into ``base_url`` too (as a password or a query) was printed
    whole by ``repr(client)``."""
    key = "sk-misplaced-0123456789abcdef"
    for url in (f"http://u:{key}@127.0.0.1:9", f"http://127.0.0.1:9/?key={key}"):
        shown = repr(Client(key, base_url=url))
        assert key not in shown and "***" in shown and "127.0.0.1" in shown
