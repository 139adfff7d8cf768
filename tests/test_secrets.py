"""The API key never appears in a repr, a log line, an exception message or a Result."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from fault_server import Action, FaultServer

import clipdrop_widgets.client as client_module
from clipdrop_widgets import Client, ClipdropError

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
