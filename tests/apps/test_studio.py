"""The Studio without a browser: tabs, the shared history and credits, and the API key box.

The key tests type a sentinel key the way the browser sends it (``set_state``, the comm's
path) and then look for it everywhere: every widget's state (the Studio's tree and every live
widget, which is what a notebook saves), every message sent towards the browser, reprs, the
status lines, stdout, stderr and the log.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets
import pytest
from test_apps import click_run, fill_inputs, widget_tree

from clipdrop_widgets import Client, Studio
from clipdrop_widgets.apps import CleanupApp, TextToImageApp
from clipdrop_widgets.apps._keybox import KeyBox
from clipdrop_widgets.contract.endpoints import ENDPOINTS
from clipdrop_widgets.widgets.upload import simulate_upload

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")

SENTINEL = "sk-SENTINEL-0f3c9a7e5d2b41"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], list[bytes]]]:
    """Every message a widget sends towards the browser (state updates, echoes, custom)."""
    messages: list[tuple[dict[str, Any], list[bytes]]] = []

    def send(self: ipywidgets.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        messages.append((msg, [bytes(b) for b in buffers or []]))

    monkeypatch.setattr(ipywidgets.Widget, "_send", send)
    return messages


def type_key(studio: Studio, key: str) -> None:
    """What the browser does when a key is pasted and Enter pressed: one state update."""
    studio.key_box._field.set_state({"value": key})


def contains(value: Any, needle: str) -> bool:
    text = json.dumps(value, default=lambda v: bytes(v).decode("latin-1")
                      if isinstance(v, (bytes, memoryview)) else str(v))
    return needle in text


# -- tabs, shared history, credits ------------------------------------------------------------

def test_studio_tabs_share_one_client_and_one_history() -> None:
    client = Client()
    studio = Studio(client)
    assert list(studio.apps) == list(ENDPOINTS)
    assert studio.tabs.titles == ("Text to image", "Sketch to image", "Cleanup",
                                  "Text inpainting", "Replace background", "Cut-out & frame",
                                  "Size & variations", "Portrait")
    inner = [t.titles for t in studio.tabs.children[5:]]
    assert inner == [("Remove background", "Uncrop"), ("Upscale", "Reimagine"),
                     ("Portrait depth", "Portrait normals")]
    assert all(app.client is client and app.history is studio.history
               for app in studio.apps.values())
    assert all(studio.history not in app.children for app in studio.apps.values())
    assert studio.source_text == "Local engine: offline previews"
    assert studio.credits_text == "Credits: 1000 left · 0 spent this session"  # local: known
    service = Studio(Client("k", base_url="http://127.0.0.1:9"))  # never called here
    assert service.credits_text == "Credits: ? left (known after a run) · 0 spent this session"

    studio.tabs.selected_index = 2  # the user clicks the Cleanup tab
    cleanup = studio.current
    assert isinstance(cleanup, CleanupApp)
    fill_inputs(cleanup)
    click_run(cleanup)
    text = studio.select("text_to_image")
    assert isinstance(text, TextToImageApp) and studio.tabs.selected_index == 0
    fill_inputs(text)
    click_run(text)

    assert studio.history.results == (cleanup.result, text.result)
    assert client.credits_spent == 3 == studio.credits_spent
    assert studio.credits_text == (f"Credits: {client.remaining_credits:g} left · "
                                   "3 spent this session")
    studio.history.select(cleanup.result)  # a click on Show under its thumbnail
    assert studio.current is cleanup and cleanup.compare.after is cleanup.result.image
    assert repr(studio) == "Studio(source='local engine', tab='Cleanup', 2 results)"
    with pytest.raises(KeyError, match="no app"):
        studio.select("outpaint")


def test_the_header_and_the_status_line_say_the_same_credits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The header's "N left" and the status line's come from one number (the client's
    balance), and the header has it by the time the status line says Done: they read
    different sources (the status the result's own figure), and the header changed after.
    Here another tab's run answers while this one is being shown (one credit later)."""
    client = Client()
    studio = Studio(client)
    app = studio.apps["text_to_image"]
    real = client.text_to_image

    def another_tab_answered_meanwhile(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        client.remaining_credits = result.remaining_credits - 1
        return result

    monkeypatch.setattr(client, "text_to_image", another_tab_answered_meanwhile)
    seen: list[tuple[str, str]] = []
    app._status.observe(lambda _change: seen.append((app.status, studio.credits_text)),
                        "value")
    fill_inputs(app)
    click_run(app)
    assert app.status.startswith("Done in "), app.status
    left = f"{client.remaining_credits:g} left"
    assert left in app.status and studio.credits_text.startswith(f"Credits: {left}")
    done = [(status, header) for status, header in seen if status.startswith("Done in ")]
    assert done and all(f"Credits: {left}" in header for _status, header in done)


def test_a_balance_that_cannot_be_right_leaves_no_old_figure_in_header_or_status(
        server: Any) -> None:
    """Walk 22b #3: after "100 left", an answer saying -3 are left kept "100 left" in the
    header and the status as if current; the balance is unknown now, and both say so."""
    from fault_server import Action, png_bytes

    client = Client("test-key", base_url=server.url, timeout=5, max_retries=0)
    studio = Studio(client)
    app = studio.apps["text_to_image"]
    fill_inputs(app)
    server.default = Action.image(png_bytes((64, 48)), x_remaining_credits="100")
    click_run(app)
    assert "100 left" in app.status and studio.credits_text.startswith("Credits: 100 left")
    server.default = Action.image(png_bytes((64, 48)), x_remaining_credits="-3")
    click_run(app)
    assert app.status.endswith("1 credit · balance unknown"), app.status
    assert studio.credits_text == "Credits: balance unknown · 2 spent this session"
    assert "100" not in app.status + studio.credits_text
    server.default = Action.image(png_bytes((64, 48)), x_remaining_credits="98")
    click_run(app)
    assert "98 left" in app.status and studio.credits_text.startswith("Credits: 98 left")
    client.close()


def test_studio_snapshot_is_the_current_app() -> None:
    studio = Studio(Client())
    bundle = studio._repr_mimebundle_()
    assert bundle["text/plain"] == repr(studio)
    assert bundle["image/png"].startswith(b"\x89PNG")


# -- the API key box --------------------------------------------------------------------------

def test_a_key_typed_on_the_local_engine_switches_to_the_service_and_never_lingers(
    sent: list[tuple[dict[str, Any], list[bytes]]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    local = Client(timeout=7, max_retries=1, budget=50)
    studio = Studio(local)
    sent.clear()

    type_key(studio, SENTINEL)

    client = studio.client
    assert client is not local and client.has_key and not client.is_local
    assert client.source == "service"
    assert (client.timeout, client.max_retries, client.budget) == (7, 1, 50)
    assert all(app.client is client for app in studio.apps.values())
    assert all(app.status == "Ready · ClipDrop service" for app in studio.apps.values())
    assert studio.source_text == "ClipDrop service · key unverified"  # nothing proved it yet
    assert "ClipDrop service" in studio._badge.value and "#1b7a2f" not in studio._badge.value
    assert studio.key_box.state == ("Key set, unverified until a Run succeeds: kept in memory "
                                    "only, never saved.")
    assert studio.key_box._field.value == ""

    tree = widget_tree(studio)
    assert studio.key_box._field in tree and len(tree) > 200  # children of children too
    for widget in tree:
        assert not contains(widget.get_state(), SENTINEL), widget
        assert SENTINEL not in repr(widget)
    saved = ipywidgets.Widget.get_manager_state(drop_defaults=False)  # what a notebook saves
    assert not contains(saved, SENTINEL)
    for msg, buffers in sent:  # no echo, no update, nothing towards the browser
        assert not contains(msg, SENTINEL) and all(SENTINEL.encode() not in b for b in buffers)
    assert any(msg.get("state") == {"value": ""} for msg, _ in sent)  # the field was emptied
    texts = [repr(studio), repr(client), studio.source_text, studio.credits_text,
             studio.key_box.state, repr(studio.key_box)]
    texts += [app.status for app in studio.apps.values()]
    texts += [repr(app) for app in studio.apps.values()]
    texts += [studio._repr_mimebundle_()["text/plain"]]
    assert all(SENTINEL not in t for t in texts)
    out, err = capsys.readouterr()
    assert SENTINEL not in out + err
    assert SENTINEL not in caplog.text


def test_a_key_typed_for_a_service_goes_into_its_client_and_runs_work(
    make_served_engine: Callable[..., Any],
    sent: list[tuple[dict[str, Any], list[bytes]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    client = Client(base_url=handle.url, max_retries=0)
    studio = Studio(client)
    assert studio.source_text == f"ClipDrop service at {handle.url} (no API key yet)"
    text = studio.apps["text_to_image"]
    fill_inputs(text)
    click_run(text)
    assert text.status.startswith("Failed (401)") and "CLIPDROP_API_KEY" in text.status

    type_key(studio, f"  {SENTINEL}\n")  # pasted with spaces around it
    assert studio.client is client and client.has_key
    assert studio.source_text == f"ClipDrop service at {handle.url} · key unverified"
    click_run(text)
    assert text.status.startswith("Done in "), text.status
    assert studio.source_text == f"ClipDrop service at {handle.url} · key verified"
    assert studio.key_text.startswith("Key verified by the service")
    assert studio.history.results == (text.result,)
    left = client.remaining_credits
    assert studio.credits_text == f"Credits: {left:g} left · 2 spent this session"

    for widget in widget_tree(studio):
        assert not contains(widget.get_state(), SENTINEL)
    assert not contains(ipywidgets.Widget.get_manager_state(drop_defaults=False), SENTINEL)
    assert not any(contains(msg, SENTINEL) for msg, _ in sent)
    assert all(SENTINEL not in app.status for app in studio.apps.values())
    out, err = capsys.readouterr()
    assert SENTINEL not in out + err


def test_a_wrong_key_is_refused_in_plain_words(make_served_engine: Callable[..., Any]) -> None:
    handle = make_served_engine(api_key=SENTINEL)
    studio = Studio(Client(base_url=handle.url, max_retries=0))
    type_key(studio, "not-the-key")
    text = studio.apps["text_to_image"]
    fill_inputs(text)
    click_run(text)
    assert text.status.startswith("Failed (403)") and "The API key was refused" in text.status


def test_the_key_box_shows_what_the_callback_raises_without_the_key() -> None:
    def refuse(key: str) -> None:
        raise ValueError(f"cannot use {key}")

    box = KeyBox(refuse)
    box._field.set_state({"value": SENTINEL})
    assert box.state == "cannot use ***" and box._field.value == ""
    box._field.set_state({"value": "   "})  # blank: nothing happens
    assert box.state == "cannot use ***"


def test_the_key_field_is_never_echoed_to_the_browser(
    sent: list[tuple[dict[str, Any], list[bytes]]],
) -> None:
    box = KeyBox(lambda key: None)
    field = box._field
    assert isinstance(field, ipywidgets.Password) and not field.continuous_update
    assert field.trait_metadata("value", "echo_update") is False
    sent.clear()
    field.set_state({"value": SENTINEL})
    assert sent[0][0].get("state") == {"value": ""}
    assert "echo_update" not in [m.get("method") for m, _ in sent]
    assert not any(contains(m, SENTINEL) for m, _ in sent)
    sent.clear()
    ipywidgets.Password().set_state({"value": SENTINEL})  # what a plain Password would do
    assert [m.get("method") for m, _ in sent] == ["echo_update"] and contains(sent, SENTINEL)


def test_uploads_leave_no_file_in_widget_state() -> None:
    studio = Studio(Client())
    chooser = studio.apps["replace_background"].chooser
    buf = io.BytesIO()
    chooser.image.save(buf, "PNG")
    assert simulate_upload(chooser._upload, "me.png", buf.getvalue(), chunk_bytes=1000) == ""
    assert chooser.name == "me.png"
    state = {k: v for k, v in chooser._upload.get_state().items() if k not in ("_esm", "_css")}
    assert len(json.dumps(state, default=repr)) < 2000  # the name, never the bytes
    assert state["loaded"] == "me.png"


def test_show_on_a_card_of_a_tab_never_opened_shows_its_prompt_and_status() -> None:
    earlier = Studio()
    text = earlier.select("text_to_image")
    fill_inputs(text)
    click_run(text)
    studio = Studio(session_dir=earlier.session_dir)  # a reopened session: tabs not built
    studio.select("cleanup")
    (result,) = studio.history.results
    studio.history.select(result)  # a click on Show under its thumbnail
    app = studio.current
    assert app is studio.apps["text_to_image"] and app.compare.after is not None
    assert app.prompt.value == result.inputs["prompt"]
    assert app.status.startswith("Showing"), app.status


def test_studio_send_takes_a_result_and_says_how_to_send_by_index() -> None:
    studio = Studio()
    with pytest.raises(TypeError, match=r"studio.history.send\(i, 'cleanup'\)"):
        studio.send(5, "cleanup")  # type: ignore[arg-type]
