"""Run uses the inputs the person sees, even when the page has not sent them to Python yet.

ipywidgets sends a box's typing at most one message at a time and holds the rest while the
kernel is busy, and JupyterLab may hand two widgets' messages to different kernel threads. In a
browser (tests/browser) typing a prompt and pressing Run straight away reached the run as
"a lig". A press of Run on the page is one message carrying the text (``keyboard.js``, tested in
Node); here it is sent as the page sends it, with the box's own late update on another thread.
"""

from __future__ import annotations

import threading

import ipywidgets as widgets
import pytest
from fault_server import FaultServer

from clipdrop_widgets import Client
from clipdrop_widgets.apps import (
    CleanupApp,
    ReplaceBackgroundApp,
    SketchToImageApp,
    TextInpaintingApp,
    TextToImageApp,
)
from clipdrop_widgets.contract.errors import ConfigurationTypeError
from clipdrop_widgets.widgets.keyboard import INPUT_CLASS_PREFIX, KeyboardShortcuts

pytestmark = pytest.mark.filterwarnings("ignore::clipdrop_widgets.api.notices.ClipdropNotice")


def page_sends(keyboard: KeyboardShortcuts, content: dict) -> None:
    keyboard._handle(keyboard, content, [])


def test_a_press_of_run_carries_the_text_and_runs_it():
    app = TextToImageApp(Client())
    box = app.prompt._text
    box.set_state({"value": "a lig"})  # what had reached Python when Run was pressed
    shown = {box.model_id: {"value": "a lighthouse at dusk"}}
    page_sends(app._keyboard, {"type": "run", "inputs": shown})
    assert app.wait(60)
    assert app.error is None, app.status
    assert app.result.inputs["prompt"] == "a lighthouse at dusk"
    assert app.prompt.value == "a lighthouse at dusk"  # the counter and recall follow too
    assert "20 / 1000" in app.prompt._counter.value


def test_a_late_update_on_another_thread_never_splits_the_prompt_from_its_box():
    """The page's held-back update to the box ("a") is applied on a subshell thread while the
    Run message arrives on the main one: the update is applied whole, before or after the
    run, never half (the box and the prompt linked to it agree, and the run gets the text
    the page showed)."""
    app = TextToImageApp(Client())
    box = app.prompt._text
    entered, release = threading.Event(), threading.Event()

    def slow_observer(_change):  # a kernel slow to take each keystroke
        entered.set()
        release.wait(5)

    app.prompt.observe(slow_observer, "value")
    late = threading.Thread(target=box.set_state, args=({"value": "a"},), name="subshell")
    late.start()
    assert entered.wait(5)
    press = threading.Thread(target=page_sends, args=(
        app._keyboard, {"type": "run", "inputs": {box.model_id: {"value": "a harbour at dawn"}}}))
    press.start()
    press.join(0.3)
    assert press.is_alive(), "the run went ahead while the late update was half applied"
    release.set()
    late.join(5)
    press.join(5)
    assert app.wait(60)
    assert app.result.inputs["prompt"] == "a harbour at dawn"
    assert box.value == app.prompt.value == "a harbour at dawn"


@pytest.mark.parametrize("app_class", [TextToImageApp, SketchToImageApp, CleanupApp,
                                       TextInpaintingApp, ReplaceBackgroundApp])
def test_every_prompt_and_option_of_an_app_is_kept_and_tagged_for_the_page(app_class):
    app = app_class(Client())
    kept = list(app._keyboard._inputs.values())
    prompts = [app.prompt._text] if app.prompt is not None else []
    options = [w for w in (getattr(app, "format", None), getattr(app, "mode", None))
               if w is not None]
    assert kept == prompts + options
    for widget in kept:
        assert INPUT_CLASS_PREFIX + widget.model_id in widget._dom_classes


def test_text_that_is_not_a_kept_box_or_not_text_changes_nothing():
    app = TextToImageApp(Client())
    box = app.prompt._text
    box.value = "kept"
    other = widgets.Textarea(value="untouched")
    app.prompt.observe(lambda _c: pytest.fail("the prompt changed"), "value")
    for inputs in ({other.model_id: {"value": "changed"}, box.model_id: {"value": 42}},
                   {box.model_id: "not a mapping"}, ["not", "a", "mapping"], None):
        page_sends(app._keyboard, {"type": "run", "inputs": inputs})
        assert app.wait(60)
    assert box.value == "kept" and other.value == "untouched"
    assert [r.inputs["prompt"] for r in app.history.results] == ["kept"] * 4
    page_sends(app._keyboard, {"type": "something else", "inputs": {box.model_id: {"value": "x"}}})
    assert box.value == "kept" and len(app.history.results) == 4


def test_a_password_box_is_never_read_back_from_the_page():
    keyboard = KeyboardShortcuts()
    with pytest.raises(ConfigurationTypeError, match="password"):
        keyboard.keep_input(widgets.Password(value="secret"))
    with pytest.raises(ConfigurationTypeError, match="Text, Textarea or Dropdown"):
        keyboard.keep_input(widgets.Button())


def test_a_choice_made_just_before_run_is_the_one_sent():
    """Cleanup's mode as chosen on the page reaches the service (a loopback server records
    what it received); an index out of range, or not a number, is ignored."""
    with FaultServer() as srv:
        app = CleanupApp(Client(base_url=srv.url))
        app.painter.add_rect(100, 100, 300, 200)
        mode = app.mode
        assert mode.value == ""  # the service's default
        for index in (len(mode.options), -1, "1", True, None):
            app._keyboard._take_inputs({mode.model_id: {"index": index}})
            assert mode.index == 0
        quality = [value for _label, value in mode.options].index("quality")
        page_sends(app._keyboard, {"type": "run", "inputs": {mode.model_id: {"index": quality}}})
        assert app.wait(60)
        assert app.status.startswith("Done"), app.status
        (sent,) = srv.seen
    assert sent.texts == {"mode": "quality"}
    assert mode.value == "quality"
