"""Client.copy(**overrides): every constructor argument carried, what must be shared shared."""

from __future__ import annotations

import inspect
import uuid

import pytest
from fault_server import FaultServer

from clipdrop_widgets import Client


def sent_key(client: Client, server: FaultServer) -> str | None:
    before = len(server.seen)
    client.text_to_image(f"a cat, take {uuid.uuid4()}")  # never a cache hit
    return server.seen[before].headers.get("x-api-key")


def test_copy_carries_every_constructor_argument(tmp_path):
    """Fails when an argument is added to Client and not given a value here (and carried)."""
    with FaultServer() as server:
        values = {"api_key": "sk-copy-1", "base_url": server.url, "timeout": (3.0, 7.0),
                  "max_retries": 5, "requests_per_minute": 123, "limit_scope": "operation",
                  "cache": tmp_path, "budget": 42}
        read = {"api_key": lambda c: sent_key(c, server), "base_url": lambda c: c.base_url,
                "timeout": lambda c: c.timeout, "max_retries": lambda c: c.max_retries,
                "requests_per_minute": lambda c: c.limiter("cleanup").requests_per_minute,
                # Scope operation: two operations do not share one pace (scope key: they do).
                "limit_scope": lambda c: c.limiter("cleanup") is c.limiter("text_to_image"),
                "cache": lambda c: c.cache.directory, "budget": lambda c: c.budget}
        arguments = [p for p in inspect.signature(Client.__init__).parameters if p != "self"]
        assert sorted(values) == sorted(arguments) == sorted(read), (
            "a Client argument has no value in this test: give it one, and make copy() carry it")
        original = Client(**values)
        copy = original.copy()
        for name in arguments:
            assert read[name](copy) == read[name](original), name
        assert read["api_key"](copy) == "sk-copy-1" and copy.timeout == (3.0, 7.0)


def test_overrides_change_only_what_they_name(tmp_path):
    with FaultServer() as server:
        original = Client("sk-a", base_url=server.url, timeout=9, max_retries=4, budget=10,
                          cache=tmp_path)
        copy = original.copy(max_retries=0, api_key="sk-b")
        assert copy.max_retries == 0 and original.max_retries == 4
        assert sent_key(copy, server) == "sk-b" and sent_key(original, server) == "sk-a"
        assert (copy.base_url, copy.timeout, copy.budget) == (server.url, 9, 10)
        assert copy.cache is original.cache


def test_a_key_set_later_is_the_one_carried_and_no_key_stays_no_key(monkeypatch):
    monkeypatch.setenv("CLIPDROP_API_KEY", "sk-from-the-environment")
    with FaultServer() as server:
        original = Client("sk-old", base_url=server.url)
        original.set_api_key("sk-new")
        assert sent_key(original.copy(), server) == "sk-new"
        original.set_api_key(None)
        assert original.copy().has_key is False  # not the environment's key
        assert original.copy(api_key=None).has_key  # None means what it means to Client()


def test_copies_share_the_pace_of_one_key_on_one_server():
    with FaultServer() as server, FaultServer() as other:
        original = Client("sk-a", base_url=server.url)
        assert original.copy(timeout=3).limiter("cleanup") is original.limiter("cleanup")
        assert original.copy(api_key="sk-b").limiter("cleanup") is not original.limiter("cleanup")
        assert original.copy(base_url=other.url).limiter("cleanup") \
            is not original.limiter("cleanup")
        assert original.copy(requests_per_minute=5).limiter("cleanup").requests_per_minute == 5


def test_copies_of_the_local_engine_share_its_credits():
    original = Client("", base_url="local://engine")
    copy = original.copy(timeout=5)
    assert copy.is_local and copy.engine is original.engine
    copy.text_to_image("a fox")
    assert original.remaining_credits is not None
    assert copy.engine.remaining_credits == original.engine.remaining_credits


def test_what_is_not_shared():
    with FaultServer() as server:
        original = Client("k", base_url=server.url)
        copy = original.copy()
        copy.text_to_image("a cat")
        assert copy.credits_spent == 1 and original.credits_spent == 0
        copy.close()
        original.text_to_image("a cat")  # its connections are its own


def test_unknown_overrides_are_refused():
    with pytest.raises(TypeError, match="unknown arguments retries; a Client takes api_key"):
        Client("k", base_url="http://127.0.0.1:9").copy(retries=3)
