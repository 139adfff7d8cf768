"""KeyBox: a password field whose value goes straight into the client and is cleared at once.

ipywidgets syncs a ``Password`` widget's value like any other trait, so a key left in one is
saved with the notebook's widget state (ipywidgets issue #1793), and ipywidgets 8.1 even
echoes every value the browser sends back to all front ends. Here the value trait is not
echoed, and the moment a key arrives it is handed to a callback and the field is emptied: the
kernel-side state, which is what gets saved, never holds it after the change.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from ..widgets._ui import Layout
from ..widgets.theme import color as theme_color
from ..widgets.threads import lock_page_updates

__all__ = ["KeyBox"]


#: The most characters of a JupyterHub user name the key box shows (longer ones end in "…").
SHOWN_NAME_CHARS = 40

class _KeyField(widgets.Password):
    """A ``Password`` whose value the kernel never echoes back to the browser."""

    value = traitlets.Unicode("", help="The key while it is being handed over").tag(
        sync=True, echo_update=False)


class KeyBox(widgets.HBox):
    """An API key field: type or paste a key and press Enter (or leave the field).

    Args:
        on_key: called with the key (stripped, non-empty) the moment it arrives; what it
            raises is shown beside the field (its message must not contain the key).
        on_local: called by the "Back to local engine" button (default: no button).

    The key is never kept by this widget: the field is emptied before ``on_key`` runs. The
    line beside the field says what is known of the key; its owner updates it with
    `say`, and shows or hides the button with `offer_local`.
    """

    def __init__(self, on_key: Callable[[str], object], *,
                 on_local: Callable[[], object] | None = None) -> None:
        super().__init__(layout=Layout(align_items="center", flex_flow="row wrap"))
        self._on_key = on_key
        # A whole-pixel height: a described text field is 28.5 px tall by default, which put
        # every canvas below the Studio's header half a pixel off the grid (blurred).
        self._field = _KeyField(value="", placeholder="paste a ClipDrop API key, press Enter",
                                description="API key", continuous_update=False,
                                tooltip="Your ClipDrop API key: it stays in the kernel",
                                layout=Layout(width="340px", height="28px"))
        # The button is made when first offered (`back_button`): hidden until a key is set,
        # its widget models would only lengthen the page's first load (issue 22).
        self._on_local = on_local
        self._back_button: widgets.Button | None = None
        self._state = widgets.HTML("", layout=Layout(margin="0 0 0 8px"))
        self._state_text = ""
        self._field.observe(self._take, "value")
        # The key arrives on whichever kernel thread the page's message is handed to (see
        # widgets.threads): taking it under UI_LOCK never changes a client a run is reading.
        lock_page_updates(self._field)
        self.children = [self._field, self._state]

    @property
    def back_button(self) -> widgets.Button:
        """The "Back to local engine" button, beside the field (made on first use: the first
        `offer_local`, or this attribute read; hidden until offered)."""
        if self._back_button is None:
            button = self._back_button = widgets.Button(
                description="Back to local engine", icon="undo",
                tooltip="Make offline previews on this machine again (the history stays)",
                layout=Layout(width="auto", display="none"))
            on_local = self._on_local
            if on_local is not None:
                button.on_click(lambda _b: self._go_local(on_local))
            self.children = [self._field, button, self._state]
        return self._back_button

    @property
    def state(self) -> str:
        """What the line beside the field says (plain text)."""
        return self._state_text

    def say(self, text: str, *, warn: bool = False) -> None:
        """Put ``text`` (plain, never a key) in the line beside the field; ``warn`` marks it."""
        self._state_text = text
        sign = "&#9888; " if warn else ""
        color = theme_color("error") if warn else "var(--jp-ui-font-color1, #333)"
        self._state.value = (f'<small style="color:{color}">{sign}{html.escape(text)}'
                             "</small>")

    def show_seat(self, user: str, credits: float | None, *, problem: str | None = None) -> None:
        """The line for a JupyterHub seat: "JupyterHub seat: NAME, N credits left" (``credits``
        ``None``: not known yet); ``problem`` (the gateway's refusal) is shown instead, marked.
        A name longer than `SHOWN_NAME_CHARS` is shown cut, ending in "…" (a hub allows 255
        characters: the whole line ran over three lines of the header)."""
        if len(user) > SHOWN_NAME_CHARS:
            user = user[:SHOWN_NAME_CHARS - 1] + "\u2026"
        if problem is not None:
            self.say(f"JupyterHub seat: {user}: {problem}", warn=True)
        elif credits is None:
            self.say(f"JupyterHub seat: {user}, credits known after a run")
        else:
            left = f"{credits:g}"
            self.say(f"JupyterHub seat: {user}, {left} credit{'' if left == '1' else 's'} left")

    def offer_local(self, offer: bool) -> None:
        """Show (``True``) or hide the "Back to local engine" button."""
        if offer or self._back_button is not None:
            self.back_button.layout.display = "" if offer else "none"

    def _go_local(self, on_local: Callable[[], object]) -> None:
        try:
            on_local()
        except Exception as exc:  # noqa: BLE001 - shown beside the field
            self.say(str(exc) or type(exc).__name__, warn=True)

    def _take(self, change: dict[str, Any]) -> None:
        typed = change["new"]
        if not typed:
            return  # our own clearing, or nothing typed
        self._field.value = ""  # first: the key leaves the widget before anything else runs
        key = typed.strip()
        if not key:
            return
        self.say("Key set: kept in memory only, never saved.")  # the owner may say more
        try:
            self._on_key(key)
        except Exception as exc:  # noqa: BLE001 - shown beside the field, without the key
            self.say(str(exc).replace(key, "***") or type(exc).__name__, warn=True)

    def __repr__(self) -> str:
        return "KeyBox()"
