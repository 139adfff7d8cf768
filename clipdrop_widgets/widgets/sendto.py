"""SendTo: "Send to" one of the operations that take a picture, for a result on screen.

The widget knows nothing of apps: its owner gives it the targets, ``(name, title)`` pairs
(``("cleanup", "Cleanup")``), and a handler called with the chosen name. Under the compare
view it is a row of buttons ("Send to Cleanup"); on a history card, where there is little
room, a menu ("Send to" then the operation). Hidden while there is no target.

A menu only chooses: the **Send** button beside it sends. A closed ``<select>`` changes its
value on a single ArrowDown in Chromium, so a menu that sent on change threw a keyboard user
browsing its list into the first operation (WCAG 3.2.2 On Input).

Where a picture came from travels with the run made from it: `origin` names a result
(operation, time, content hash), stored under ``Result.inputs["input_from"]`` of the next
result and shown on its history card (`origin_words`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..api.result import Result
from ..contract.endpoints import ENDPOINTS
from ..contract.errors import ConfigurationError
from ._ui import ErrorLine, Layout

__all__ = ["SendTo", "send_tooltip", "INPUT_FROM", "origin", "origin_words"]

#: The key of ``Result.inputs`` naming the result the input picture came from.
INPUT_FROM = "input_from"


def origin(result: Result) -> str:
    """A result's name as an input's origin: ``"text_to_image result 2026-11-30 20:31:05
    sha256:1a2b3c4d5e6f"`` (operation, local time it arrived, the start of the SHA-256 of its
    bytes, which a session log also records)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(result.created))
    sha = hashlib.sha256(result.data).hexdigest()[:12]
    return f"{result.endpoint} result {stamp} sha256:{sha}"


def origin_words(text: str) -> str:
    """`origin`'s text as a card says it: ``"from Text to image, 20:31:05"`` (another
    text is returned as it is, after "from")."""
    parts = text.split()
    if len(parts) == 5 and parts[1] == "result" and parts[0] in ENDPOINTS:
        return f"from {ENDPOINTS[parts[0]].title}, {parts[3]}"
    return f"from {text}"

#: The menu's resting entry (nothing chosen).
_MENU_REST = ("Send to…", "")
#: The most buttons in a row: targets past them go in a "More…" menu beside the buttons, so
#: eleven operations do not make a row of nine buttons.
MAX_BUTTONS = 3
_MORE_REST = ("More…", "")


def send_tooltip(title: str) -> str:
    """What a Send-to control says it does, for the operation ``title``."""
    return f"Use this result as the photo of {title} (opens its tab)"


class SendTo(widgets.HBox):
    """Controls that send the result shown to another operation.

    Args:
        menu: a compact menu instead of a row of buttons (default ``False``: buttons).
        shown: whether there is something to send now (default ``True``); see `show`.

    The controls are made the first time the widget is shown (until then it is an empty,
    hidden row), so a hidden "Send to" row costs the page no widget models.

    Attributes:
        errors: the line showing why a send failed (a handler that raised).
    """

    def __init__(self, *, menu: bool = False, shown: bool = True) -> None:
        super().__init__(layout=Layout(flex_flow="row wrap", align_items="center",
                                       display="none"))
        self.add_class("cdw-sendto")  # a11y.js: the focus may follow a send to the stage
        self._menu_mode = menu
        self._shown = shown
        self._targets: tuple[tuple[str, str], ...] = ()
        self._handlers: list[Callable[[str], object]] = []
        # The controls are built the first time they are shown (`_build`): an app's row is
        # hidden until its first result, and its widget models would only lengthen the page's
        # first load (issue 22).
        self._errors: ErrorLine | None = None
        self._menu: widgets.Dropdown | None = None
        self._go: widgets.Button | None = None
        self._go_layout: Layout | None = None
        self._go_style: widgets.ButtonStyle | None = None
        self._built_for: tuple[tuple[str, str], ...] | None = None
        if menu:  # as wide as its card, no wider
            self.layout.width = "100%"

    @property
    def errors(self) -> ErrorLine:
        """The line showing why a send failed (built with the controls)."""
        if self._errors is None:
            self._errors = ErrorLine()
        return self._errors

    @property
    def owned_widgets(self) -> tuple[widgets.Widget, ...]:
        """Its menu and error line, children or not yet (`closing.close_tree` closes them);
        those not made yet (`_build`) are not there to close."""
        return tuple(w for w in (self._menu, self._go, self._go_layout, self._go_style,
                                 self._errors) if w is not None)

    # -- configuring --------------------------------------------------------------------------
    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """The ``(name, title)`` of each operation offered, in order."""
        return self._targets

    def set_targets(self, targets: Sequence[tuple[str, str]]) -> None:
        """Offer these ``(name, title)`` targets (an empty list hides the widget)."""
        self._targets = tuple((str(n), str(t)) for n, t in targets)
        self._show()

    def _build(self) -> None:
        """Make the controls for the targets, unless already made for these."""
        if self._built_for == self._targets:
            return
        self._built_for = self._targets
        if self._menu_mode:
            menu = self._menu_widget()
            menu.options = [_MENU_REST, *((t, n) for n, t in self._targets)]
            menu.value = ""
            controls: list[widgets.Widget] = [menu, self._go_button()]
        else:
            shown, rest = self._targets[:MAX_BUTTONS], self._targets[MAX_BUTTONS:]
            controls = [self._button(name, title) for name, title in shown]
            if rest:
                menu = self._menu_widget()
                menu.options = [_MORE_REST, *((t, n) for n, t in rest)]
                menu.value = ""
                menu.layout.width = "auto"
                controls += [menu, self._go_button()]
        self.children = [*controls, self.errors]

    def _menu_widget(self) -> widgets.Dropdown:
        """The menu ("Send to…", or "More…" beside the buttons), made when first needed."""
        if self._menu is None:
            self._menu = widgets.Dropdown(options=[_MENU_REST], value="", description="",
                                          tooltip="Send this result to another operation",
                                          layout=Layout(width="auto", flex="1 1 auto"))
            self._menu.observe(self._on_menu, "value")
        return self._menu

    def _go_button(self) -> widgets.Button:
        """The **Send** button beside the menu: the menu chooses, this sends (disabled
        until an operation is chosen)."""
        if self._go is None:
            if self._go_layout is None:  # kept for the next button (`renew`)
                self._go_layout = Layout(width="auto", flex="0 0 auto")
                self._go_style = widgets.ButtonStyle()
            self._go = widgets.Button(description="Send", icon="share", disabled=True,
                                      tooltip="Choose an operation in the menu first",
                                      layout=self._go_layout, style=self._go_style)
            self._go.add_class("cdw-send-chosen")
            self._go.on_click(self.errors.guard(lambda _b: self.send_chosen()))
        return self._go

    def show(self, shown: bool) -> None:
        """Say whether there is something to send (the widget shows when there is, and a
        target to send it to)."""
        self._shown = bool(shown)
        self._show()

    def _show(self) -> None:
        visible = bool(self._targets and self._shown)
        if visible:
            self._build()
        self.layout.display = "" if visible else "none"

    def renew(self) -> None:
        """A new **Send** button in place of the menu's (the old one closed): a press on the
        old one, sent before the owner showed another result, is dropped, not sent with the
        new result (`history_card`)."""
        if self._go is None:
            return
        old, self._go = self._go, None
        self.children = [self._go_button() if w is old else w for w in self.children]
        old.close()

    def reset(self) -> None:
        """Nothing chosen in the menu and no error shown (the card shows another result)."""
        if self._menu is not None:
            self._menu.value = ""
        if self._errors is not None and self._errors.message:
            self._errors.clear()

    def on_send(self, callback: Callable[[str], object]) -> None:
        """Call ``callback(name)`` when the user sends to the operation ``name``."""
        self._handlers.append(callback)

    # -- sending ------------------------------------------------------------------------------
    def send(self, name: str) -> None:
        """Send to ``name`` as a click on its button does."""
        if name not in (n for n, _t in self._targets):
            offered = ", ".join(n for n, _t in self._targets) or "nothing"
            raise ConfigurationError(f"cannot send to {name!r}: this result can go to {offered}")
        for handler in list(self._handlers):
            handler(name)

    def _button(self, name: str, title: str) -> widgets.Button:
        button = widgets.Button(description=f"Send to {title}", icon="share",
                                tooltip=send_tooltip(title),
                                layout=Layout(width="auto"))
        button.add_class("cdw-send-to")
        button.on_click(self.errors.guard(lambda _b: self.send(name)))
        return button

    @property
    def chosen(self) -> str | None:
        """The operation chosen in the menu and not sent yet, or ``None``."""
        return (self._menu.value or None) if self._menu is not None else None

    def send_chosen(self) -> None:
        """Send to the operation chosen in the menu (what **Send** beside it does); the
        menu goes back to its resting entry. Nothing chosen: refused."""
        name = self.chosen
        if name is None:
            raise ConfigurationError("choose an operation in the menu first, then press Send")
        try:
            self.send(name)
        finally:
            if self._menu is not None:
                self._menu.value = ""  # back to "Send to…": the same target can be chosen again

    def _on_menu(self, change: dict[str, Any]) -> None:
        """Choosing only names the operation on the button; nothing is sent (a keyboard user
        moves through the closed menu with the arrow keys)."""
        if self._go is None:
            return
        title = dict(self._targets).get(change["new"] or "")
        self._go.disabled = title is None
        self._go.description = "Send" if title is None else f"Send to {title}"
        self._go.tooltip = ("Choose an operation in the menu first" if title is None
                            else send_tooltip(title))

    def __repr__(self) -> str:
        names = ", ".join(n for n, _t in self._targets) or "nothing"
        return f"SendTo({names})"
