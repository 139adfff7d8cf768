"""The API key never appears in a repr, a log line, an exception message or a Result."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from fault_server import Action, FaultServer

import clipdrop_widgets.api.client as client_module
from clipdrop_widgets import APIStatusError, Client, ClipdropError

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
        client = Client(SENTINEL, base_url=server.url, timeout=5)
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
