"""KeyboardShortcuts: an app reachable and runnable from the keyboard (issue 9).

An invisible anywidget placed in each app. Its module (``keyboard.js``) makes Ctrl/Cmd+Enter
anywhere inside the app run it, and lets Tab and Shift+Tab leave the ipycanvas canvases (the
compare view), which otherwise swallow every key; keeps focus on Run or Cancel while they are
disabled and enabled in turn during a run; its stylesheet gives the Run button (CSS
class `RUN_CLASS`) a focus ring that is clearly visible: a white ring inside a dark one,
drawn inside the button so no container clips it. Undo and redo while a drawing
canvas has focus are the ink layer's (``ink.js``).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as widgets

__all__ = ["APP_CLASS", "RUN_CLASS", "CANCEL_CLASS", "KeyboardShortcuts"]

#: CSS class of an app's root box: the shortcuts act on keys pressed inside it.
APP_CLASS = "cdw-app"
#: CSS class of the button Ctrl/Cmd+Enter stands for; it gets the strong focus ring.
RUN_CLASS = "cdw-run"
#: CSS class of the app's Cancel button: focus moves between Run and Cancel as they are
#: disabled and enabled, so pressing Run from the keyboard never drops focus to the page.
CANCEL_CLASS = "cdw-cancel"


class KeyboardShortcuts(anywidget.AnyWidget):
    """Ctrl/Cmd+Enter inside the enclosing ``.cdw-app`` box calls the ``on_run`` callbacks.

    Put it anywhere inside the app's root box (which must carry `APP_CLASS`); it shows
    nothing.
    """

    _esm = pathlib.Path(__file__).parent / "keyboard.js"
    _css = f"""
.cdw-keyboard {{ display: none !important; }}
.{APP_CLASS} .{RUN_CLASS}:focus-visible {{
  outline: 3px solid #ffffff !important; outline-offset: -6px !important;
  box-shadow: inset 0 0 0 3px #0b2a66 !important; }}
"""

    def __init__(self) -> None:
        super().__init__(layout=widgets.Layout(display="none"))
        self._handlers: list[Callable[[], object]] = []
        self.on_msg(self._handle)

    def on_run(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` when Ctrl/Cmd+Enter is pressed inside the app."""
        self._handlers.append(callback)

    def _handle(self, _widget: object, content: dict[str, Any], _buffers: list[Any]) -> None:
        if content.get("type") == "run":
            for handler in list(self._handlers):
                handler()

    def __repr__(self) -> str:
        return "KeyboardShortcuts()"
