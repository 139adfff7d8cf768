"""KeyboardShortcuts: an app reachable and runnable from the keyboard (issue 9).

An invisible anywidget placed in each app. Its module (``keyboard.js``) makes Ctrl/Cmd+Enter
anywhere inside the app run it, and lets Tab and Shift+Tab leave the ipycanvas canvases (the
compare view), which otherwise swallow every key; keeps focus on Run or Cancel while they are
disabled and enabled in turn during a run; its stylesheet gives the Run button (CSS
class `RUN_CLASS`) a focus ring that is clearly visible: a white ring inside a dark one,
drawn inside the button so no container clips it. Undo and redo while a drawing
canvas has focus are the ink layer's (``ink.js``).

Run also sees the inputs the person sees. ipywidgets sends a model's state changes at most one
message at a time and holds the rest until the kernel is idle, and JupyterLab may give two
widgets' messages to different kernel threads (see `threads`), so a prompt typed quickly and
run straight away could reach the run cut short ("a lig" of "a lighthouse at dusk"). A press
of Run on the page (click, Enter, Space or Ctrl/Cmd+Enter) is therefore one message carrying
the inputs given to `KeyboardShortcuts.keep_input` (text boxes, drop-downs) as shown on the
page; they are set in Python, under `UI_LOCK`, just before the run starts. The press also
waits, on the page, for the strokes drawn before it to be committed in Python (``ink.js``).

No key pressed inside an app reaches the notebook's own shortcuts (JupyterLab, Notebook 7):
the app's root carries ``data-lm-suppress-shortcuts``. And a page whose kernel has gone says
so: the outermost app's keyboard pings Python every second, and a banner ("Lost the
connection to the kernel", with what to do) shows at the bottom of the window when no answer
came for 3 s; it lets clicks through and moves nothing on the page.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets

from ..contract.errors import ConfigurationTypeError
from ._esm import esm_source
from ._ui import Layout
from .threads import UI_LOCK, lock_page_updates

__all__ = ["APP_CLASS", "RUN_CLASS", "CANCEL_CLASS", "INPUT_CLASS_PREFIX", "KeyboardShortcuts",
           "text_boxes"]

#: CSS class of an app's root box: the shortcuts act on keys pressed inside it.
APP_CLASS = "cdw-app"
#: CSS class of the button Ctrl/Cmd+Enter stands for; it gets the strong focus ring.
RUN_CLASS = "cdw-run"
#: CSS class of the app's Cancel button: focus moves between Run and Cancel as they are
#: disabled and enabled, so pressing Run from the keyboard never drops focus to the page.
CANCEL_CLASS = "cdw-cancel"
#: A kept input carries the CSS class ``INPUT_CLASS_PREFIX + model_id``.
INPUT_CLASS_PREFIX = "cdw-input-"

TextBox = widgets.Text | widgets.Textarea
#: What `KeyboardShortcuts.keep_input` takes: a text box (its text) or a drop-down (its index).
PageInput = widgets.Text | widgets.Textarea | widgets.Dropdown


def text_boxes(root: widgets.Widget) -> list[TextBox]:
    """Every `Text` and `Textarea` under ``root`` (itself included), password boxes excepted."""
    found: list[TextBox] = []
    stack = [root]
    while stack:
        widget = stack.pop()
        if isinstance(widget, widgets.Text | widgets.Textarea) and not isinstance(
                widget, widgets.Password):
            found.append(widget)
        stack.extend(reversed(getattr(widget, "children", ())))
    return found


class KeyboardShortcuts(anywidget.AnyWidget):
    """Run pressed on the page, or Ctrl/Cmd+Enter, inside the enclosing ``.cdw-app`` box calls
    the ``on_run`` callbacks, after setting the kept inputs to what the page shows.

    Put it anywhere inside the app's root box (which must carry `APP_CLASS`; its Run button
    carries `RUN_CLASS`); it shows nothing. ``run_button.click()`` from Python does not pass
    through it: connect the button's ``on_click`` to the same action.
    """

    _esm = esm_source("keyboard.js")
    _css = f"""
.cdw-keyboard {{ display: none !important; }}
.{APP_CLASS} .{RUN_CLASS}:focus-visible {{
  outline: 3px solid #ffffff !important; outline-offset: -6px !important;
  box-shadow: inset 0 0 0 3px #0b2a66 !important; }}
"""

    def __init__(self) -> None:
        super().__init__(layout=Layout(display="none"))
        self._handlers: list[Callable[[], object]] = []
        self._inputs: weakref.WeakValueDictionary[str, PageInput] = (
            weakref.WeakValueDictionary())
        self.on_msg(self._handle)

    def on_run(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when Run or Ctrl/Cmd+Enter is pressed inside the app on the page
        (with `UI_LOCK` held)."""
        self._handlers.append(callback)

    def keep_input(self, widget: PageInput) -> None:
        """Bring ``widget``'s state as shown on the page into Python whenever Run is pressed.

        ``widget`` is a `Text` or `Textarea` (its text) or a `Dropdown` (its choice) inside the
        app; password boxes are refused (a key is never read back from the page). Inputs are
        held weakly: a replaced one is forgotten. The page's own updates to ``widget`` are
        applied under `UI_LOCK` from now on.
        """
        if not isinstance(widget, PageInput) or isinstance(widget, widgets.Password):
            raise ConfigurationTypeError(
                f"keep_input takes a Text, Textarea or Dropdown widget (not a password box), "
                f"got {type(widget).__name__}")
        widget.add_class(INPUT_CLASS_PREFIX + widget.model_id)
        lock_page_updates(widget)
        self._inputs[widget.model_id] = widget

    def _take_inputs(self, inputs: object) -> None:
        if not isinstance(inputs, dict):
            return
        for model_id, shown in inputs.items():
            widget = self._inputs.get(model_id) if isinstance(model_id, str) else None
            if widget is None or not isinstance(shown, dict):
                continue
            if isinstance(widget, widgets.Dropdown):
                index = shown.get("index")
                if (isinstance(index, int) and not isinstance(index, bool)
                        and 0 <= index < len(widget.options) and widget.index != index):
                    widget.index = index
            else:
                value = shown.get("value")
                if isinstance(value, str) and widget.value != value:
                    widget.value = value

    def _handle(self, _widget: object, content: dict[str, Any], _buffers: list[Any]) -> None:
        if content.get("type") == "ping":  # the page checks the kernel is there (no lock)
            self.send({"type": "pong"})
            return
        if content.get("type") != "run":
            return
        with UI_LOCK:
            self._take_inputs(content.get("inputs"))
            for handler in list(self._handlers):
                handler()

    def __repr__(self) -> str:
        return "KeyboardShortcuts()"
