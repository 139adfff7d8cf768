"""A wrong key, an unreachable service and the way back: what the Studio and the client say.

Every server here is real: the local engine served on loopback (a key it does not know gets a
403), a closed loopback port (refused), an unresolvable ``.invalid`` host, and a loopback
server that never answers (timeout). The sentinel key is then looked for everywhere a user or
a saved notebook could see it.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets
import pytest
from fault_server import Action, FaultServer
from test_apps import click_run, fill_inputs, widget_tree

from clipdrop_widgets import Client, Studio
from clipdrop_widgets.apps._status import MAX_DETAIL_CHARS, error_text
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.contract.errors import APIConnectionError, APITimeoutError

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

SENTINEL = "sk-SENTINEL-7d41c0ffee93"
WRONG = "sk-WRONG-KEY-5b2e0aa1"


def type_key(studio: Studio, key: str) -> None:
    """What the browser sends when a key is pasted and Enter pressed."""
    studio.key_box._field.set_state({"value": key})


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_key_anywhere(studio: Studio, key: str, capsys: pytest.CaptureFixture[str],
                           caplog: pytest.LogCaptureFixture) -> None:
    """Not in any widget's state, the saved widget state, a repr, a status line, an
    exception message, stdout, stderr or the log."""
    for widget in widget_tree(studio):
        assert key not in json.dumps(widget.get_state(), default=str), widget
        assert key not in repr(widget)
    saved = ipywidgets.Widget.get_manager_state(drop_defaults=False)
    assert key not in json.dumps(saved, default=str)
    texts = [repr(studio), repr(studio.client), studio.source_text, studio.key_text,
             studio.credits_text]
    for app in studio.apps.values():
        texts += [app.status, repr(app), str(app.error or "")]
    assert all(key not in t for t in texts), texts
    out, err = capsys.readouterr()
    assert key not in out + err and key not in caplog.text


# -- the client: what is known of the key -----------------------------------------------------

def test_the_key_state_follows_the_servers_answers(
        make_served_engine: Callable[..., Any]) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    client = Client(base_url=handle.url, max_retries=0)
    assert client.key_state == "none"
    client.set_api_key(WRONG)
    assert client.key_state == "unverified"  # typed, not proven
    with pytest.raises(Exception, match="403"):
        client.text_to_image("a cat")
    assert client.key_state == "rejected"
    client.set_api_key(SENTINEL)
    assert client.key_state == "unverified"  # a new key starts over
    client.text_to_image("a cat")
    assert client.key_state == "verified"
    client.set_api_key(None)
    assert client.key_state == "none"
    assert Client().key_state == "none"  # the in-process local engine needs no key


def test_a_missing_key_is_rejected_too(make_served_engine: Callable[..., Any]) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    with FaultServer(default=Action.error(401, "missing api key")) as srv:
        client = Client(WRONG, base_url=srv.url, max_retries=0)
        with pytest.raises(Exception, match="401"):
            client.text_to_image("a cat")
    assert client.key_state == "rejected"
    assert Client(WRONG, base_url=handle.url).key_state == "unverified"


# -- connection failures in one sentence -------------------------------------------------------

def _failure(base_url: str, **options: Any) -> APIConnectionError:
    client = Client(SENTINEL, base_url=base_url, max_retries=0, **options)
    with pytest.raises(APIConnectionError) as info:
        client.text_to_image("a cat")
    assert client.key_state == "unverified"  # nothing answered: nothing is known
    return info.value


def test_an_unresolvable_host_is_explained_in_one_sentence() -> None:
    exc = _failure("http://nonexistent.invalid")
    assert str(exc) == ("cannot reach nonexistent.invalid: its name could not be resolved; "
                        "check the address and that this computer is online")
    assert error_text(exc) == ("Cannot reach nonexistent.invalid: its name could not be "
                               "resolved; check the address and that this computer is online.")


def test_a_refused_connection_is_explained_in_one_sentence() -> None:
    port = closed_port()
    exc = _failure(f"http://127.0.0.1:{port}")
    assert str(exc) == (f"cannot reach 127.0.0.1:{port}: the connection was refused (nothing "
                        "answers there); check the address and that the server is running")


def test_a_silent_server_is_a_timeout_in_one_sentence() -> None:
    with FaultServer(default=Action("stall", seconds=3)) as srv:
        exc = _failure(srv.url, timeout=(2, 0.3))
    host = srv.url.removeprefix("http://")
    assert isinstance(exc, APITimeoutError)
    # The request had gone out, so it is not sent again: the message says the service may
    # have charged it (issue 11), after the same first words.
    assert str(exc).startswith(f"{host} did not answer within 0.3 s")
    assert "may have made and charged it" in str(exc) and exc.sent


def test_messages_are_never_cut_mid_word() -> None:
    words = " ".join(f"word{i}" for i in range(200))  # 1,290 characters
    text = error_text(APIConnectionError(f"cannot reach host: {words}"))
    assert len(text) <= MAX_DETAIL_CHARS + 2 and text.endswith(" ….")
    last = text.removesuffix(" ….").rsplit(" ", 1)[1]
    assert last.startswith("word") and last in words.split()  # a whole word, not a piece


# -- the Studio: unverified, rejected, unreachable, and back ----------------------------------

def test_a_wrong_key_then_back_to_the_local_engine_keeps_the_history(
    make_served_engine: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], logs: pytest.LogCaptureFixture,
) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    studio = Studio(Client(max_retries=0))  # the local engine
    monkeypatch.setenv("CLIPDROP_API_URL", handle.url)  # "the service" is the loopback engine
    text = studio.apps["text_to_image"]
    fill_inputs(text)
    click_run(text)  # a first result on the local engine
    first = text.result
    assert studio.key_box.back_button.layout.display == "none"  # nothing to go back to

    type_key(studio, WRONG)
    assert studio.source_text == f"ClipDrop service at {handle.url} · key unverified"
    assert "unverified" in studio.key_text and "#1b7a2f" not in studio._badge.value
    assert studio.key_box.back_button.layout.display == ""  # offered from now on
    click_run(text)
    assert text.status.startswith("Failed (403)") and "The API key was refused" in text.status
    assert studio.source_text == f"ClipDrop service at {handle.url} · key rejected"
    assert studio.key_text == ("The service rejected this key: check it or paste another, or "
                               "go back to the local engine.")
    assert studio.history.results == (first,)  # nothing lost

    studio.key_box.back_button.click()
    assert studio.client.is_local and all(a.client is studio.client
                                          for a in studio.apps.values())
    assert studio.source_text == "Local engine: offline previews"
    assert studio.key_box.back_button.layout.display == "none"
    assert text.status == "Ready · local engine (offline previews)"  # not the old failure
    assert "history is kept" in studio.key_text
    click_run(text)
    assert text.status.startswith("Done in ") and text.result.is_preview
    assert studio.history.results == (first, text.result)
    assert text.compare.after is text.result.image

    type_key(studio, SENTINEL)  # the right key goes to the same service
    assert studio.client.base_url == handle.url
    click_run(text)
    assert studio.source_text == f"ClipDrop service at {handle.url} · key verified"
    assert studio.key_text.startswith("Key verified")
    assert len(studio.history.results) == 3
    cost = ENDPOINTS["text_to_image"].credits
    assert studio.credits_spent == 3 * cost  # two local runs and the service's, all counted
    assert_no_key_anywhere(studio, WRONG, capsys, logs)
    assert_no_key_anywhere(studio, SENTINEL, capsys, logs)


@pytest.mark.parametrize("where", ["unresolvable", "refused"])
def test_an_unreachable_service_says_so_and_the_way_back_works(
    where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    logs: pytest.LogCaptureFixture,
) -> None:
    port = closed_port()
    url = "http://nonexistent.invalid" if where == "unresolvable" else f"http://127.0.0.1:{port}"
    host = "nonexistent.invalid" if where == "unresolvable" else f"127.0.0.1:{port}"
    studio = Studio(Client(max_retries=0))
    monkeypatch.setenv("CLIPDROP_API_URL", url)
    app = studio.select("cleanup")
    fill_inputs(app)
    click_run(app)
    first = app.result
    type_key(studio, SENTINEL)
    click_run(app)
    reason = ("its name could not be resolved" if where == "unresolvable"
              else "the connection was refused")
    assert app.status.startswith(f"Cannot reach {host}: {reason}"), app.status
    assert app.status.endswith(".") and "HTTPConnectionPool" not in app.status
    assert "Errno" not in app.status and "urllib3" not in app.status
    assert studio.source_text == f"ClipDrop service at {url} · not reachable"
    assert "could not be reached" in studio.key_text and "local engine" in studio.key_text
    assert studio.client.key_state == "unverified"
    assert app.compare.after is first.image  # the earlier result stays shown
    studio.use_local_engine()
    click_run(app)
    assert app.status.startswith("Done in ")
    assert studio.history.results[:-1] == (first,)
    assert_no_key_anywhere(studio, SENTINEL, capsys, logs)


def test_back_to_local_engine_keeps_the_client_settings(tmp_path: Any) -> None:
    studio = Studio(Client(timeout=7, max_retries=1, budget=50, cache=tmp_path))
    type_key(studio, WRONG)
    studio.key_box.back_button.click()
    client = studio.client
    assert client.is_local and not client.has_key and client.key_state == "none"
    assert (client.timeout, client.max_retries, client.budget) == (7, 1, 50)
    assert client.cache is not None and client.cache.directory == tmp_path
    studio.use_local_engine()  # already local: nothing changes
    assert studio.client is client


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    yield


def test_an_answer_cut_short_does_not_call_the_service_unreachable() -> None:
    from fault_server import png_bytes

    cut = Action.image(png_bytes((64, 64)))
    cut.kind = "truncate"  # half the promised body, then the connection closes
    with FaultServer(default=cut) as srv:
        studio = Studio(Client(base_url=srv.url, api_key=SENTINEL, max_retries=0))
        app = studio.select("cleanup")
        fill_inputs(app)
        click_run(app)
    assert isinstance(app.error, APIConnectionError) and app.error.sent, app.status
    assert "not reachable" not in studio.source_text, studio.source_text
    assert studio.source_text.startswith(f"ClipDrop service at {srv.url}")
    assert "could not be reached" not in studio.key_text


def test_a_hub_name_of_255_characters_is_shown_cut_with_an_ellipsis():
    """att23 #11: a hub allows 255 characters; the whole name ran over three lines of the
    Studio's header, clipped by its edge mid-name with no sign that it went on."""
    from clipdrop_widgets.apps._keybox import SHOWN_NAME_CHARS, KeyBox

    box = KeyBox(lambda _key: None, on_local=lambda: None)
    name = "ç" * 255
    box.show_seat(name, 3)
    assert box.state == f"JupyterHub seat: {'ç' * (SHOWN_NAME_CHARS - 1)}\u2026, 3 credits left"
    box.show_seat("alice", None)  # a usual name stays whole
    assert box.state == "JupyterHub seat: alice, credits known after a run"
