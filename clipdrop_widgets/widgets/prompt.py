"""PromptBox: a text area with a live character counter and a recall list of earlier prompts."""

from __future__ import annotations

import html
import textwrap
from typing import Any

import ipywidgets as widgets
import traitlets
from PIL import Image, ImageDraw, ImageFont

from ..contract.errors import ConfigurationError
from ._ui import Layout, fixed_layout
from .snapshot import Snapshot
from .theme import color as theme_color

__all__ = ["PromptBox"]

#: How many earlier prompts the recall list keeps.
RECALL_SIZE = 20
_RECALL_LABEL = "Earlier prompts"
#: The recall menu's width (CSS): long prompts are cut with "…" inside it ("Earlier prompts"
#: whole, with **Use** beside it, in the side panel's column).
RECALL_WIDTH = "160px"


class PromptBox(Snapshot, widgets.VBox):
    """A prompt text area with a live ``n / max`` counter that warns past the limit.

    Characters are counted as the service counts them (Unicode characters, ``len(str)``).
    `remember` adds a prompt to the recall list; choosing one there and pressing **Use**
    beside it puts it back (choosing alone changes nothing: a closed menu changes its value on
    one ArrowDown, which replaced the text being typed). The text it replaced is kept:
    **Undo** then puts it back.

    Args:
        max_chars: the endpoint's limit (e.g. 1000 for text to image), or ``None`` for none.
        value: initial text (default ``""``).
        placeholder: grey hint shown while empty.
        rows: text area height in lines (default 3).

    Attributes:
        value: the text (a traitlet: observe it to react to typing).
    """

    value = traitlets.Unicode("")

    def __init__(
        self,
        max_chars: int | None = None,
        *,
        value: str = "",
        placeholder: str = "Describe the picture",
        rows: int = 3,
    ) -> None:
        if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
            raise ConfigurationError(
                f"max_chars must be a positive integer or None, got {max_chars!r}")
        super().__init__(layout=Layout())
        self._max_chars = max_chars
        self._history: list[str] = []
        # "auto", not "100%": a widget's 2 px margins on top of 100% pushed the text area's
        # right border out of the column, where it was clipped.
        self._text = widgets.Textarea(
            value=value, placeholder=placeholder, rows=rows, continuous_update=True,
            layout=Layout(width="auto"),
        )
        self._counter = widgets.HTML(layout=fixed_layout())
        # A fixed width: sized by its options, the menu grew and shrank with each prompt.
        self._recall = widgets.Dropdown(
            options=[(_RECALL_LABEL, "")], value="", disabled=True,
            layout=Layout(width=RECALL_WIDTH, flex="0 1 auto"),
        )
        # the menu chooses, **Use** puts the prompt in the box (WCAG 3.2.2 On Input); **Undo**
        # puts back what it replaced. Both are made when first needed (`_use_button`,
        # `_undo_button`): a new Studio's page loads every model's state first (issue 22).
        self._use: widgets.Button | None = None
        self._undo: widgets.Button | None = None
        # what the last recall replaced, put back by Undo (shown until the text changes)
        self._replaced: str | None = None
        self._tail = widgets.HBox([self._recall], layout=Layout(
            align_items="center", flex="0 1 auto", min_width="0"))
        widgets.link((self._text, "value"), (self, "value"))
        self.observe(self._update_counter, "value")
        self.observe(self._forget_replaced, "value")
        self._recall.observe(self._on_recall, "value")
        self.children = [
            self._text,
            widgets.HBox([self._counter, self._tail],
                         layout=Layout(justify_content="space-between", width="100%",
                                       align_items="center")),
        ]
        self.value = value
        self._update_counter()

    # -- counting -----------------------------------------------------------------------------
    @property
    def max_chars(self) -> int | None:
        """The character limit the counter warns past, or ``None`` for none."""
        return self._max_chars

    @property
    def count(self) -> int:
        """Characters typed (Unicode characters)."""
        return len(self.value)

    @property
    def over_limit(self) -> bool:
        """True when the text is longer than ``max_chars``."""
        return self._max_chars is not None and self.count > self._max_chars

    @property
    def counter_text(self) -> str:
        """What the counter says, e.g. ``"12 / 1000"`` or ``"1012 / 1000: 12 too many"``."""
        if self._max_chars is None:
            return f"{self.count} characters"
        text = f"{self.count} / {self._max_chars}"
        if self.over_limit:
            text += f": {self.count - self._max_chars} too many"
        return text

    def _update_counter(self, _change: Any = None) -> None:
        color = theme_color("error" if self.over_limit else "muted")
        warning = "&#9888; " if self.over_limit else ""
        self._counter.value = (f'<span style="color:{color};white-space:nowrap">{warning}'
                               f"{html.escape(self.counter_text)}</span>")

    # -- recall -------------------------------------------------------------------------------
    @property
    def history(self) -> tuple[str, ...]:
        """Remembered prompts, newest first."""
        return tuple(self._history)

    def remember(self, prompt: str | None = None) -> None:
        """Add ``prompt`` (default: the current text) to the recall list, newest first.

        Blank prompts are ignored; a prompt already there moves to the top.
        """
        prompt = self.value if prompt is None else prompt
        if not prompt.strip():
            return
        self._history = [prompt, *(p for p in self._history if p != prompt)][:RECALL_SIZE]
        options = [(_RECALL_LABEL, "")] + [
            (p if len(p) <= 60 else p[:59] + "…", p) for p in self._history
        ]
        self._recall.unobserve(self._on_recall, "value")
        try:
            self._recall.options = options
            self._recall.value = ""
        finally:
            self._recall.observe(self._on_recall, "value")
        self._recall.disabled = False
        self._use_button().disabled = True

    def recall(self, index: int = 0) -> str:
        """Put the ``index``-th remembered prompt (0: newest) back in the box; returns it.
        The text it replaces can be put back (`undo_recall`)."""
        return self._put(self._history[index])

    @property
    def chosen(self) -> str | None:
        """The earlier prompt chosen in the menu and not used yet, or ``None``."""
        return self._recall.value or None

    def use_chosen(self) -> str | None:
        """Put the prompt chosen in the menu in the box (what **Use** does); returns it
        (``None`` when nothing is chosen). The menu goes back to "Earlier prompts"."""
        prompt = self.chosen
        if prompt is None:
            return None
        self._recall.value = ""
        return self._put(prompt)

    def undo_recall(self) -> bool:
        """Put back the text the last recall replaced (what **Undo** beside the menu does);
        ``False`` when there is nothing to put back (the text was changed since)."""
        if self._replaced is None:
            return False
        text, self._replaced = self._replaced, None
        self.value = text
        return True

    def _put(self, prompt: str) -> str:
        before = self.value
        if prompt != before:
            self.value = prompt
            if before.strip():
                self._replaced = before
                self._undo_button().layout.display = ""
        return prompt

    def _forget_replaced(self, _change: dict[str, Any]) -> None:
        """The text changed (typing after a recall, or Undo): the Undo offer goes."""
        self._replaced = None
        if self._undo is not None:
            self._undo.layout.display = "none"

    def _use_button(self) -> widgets.Button:
        """**Use** beside the menu (made with the first remembered prompt)."""
        if self._use is None:
            self._use = widgets.Button(description="Use", disabled=True,
                                       tooltip="Choose an earlier prompt in the menu first",
                                       layout=Layout(width="auto", flex="0 0 auto"))
            self._use.add_class("cdw-use-prompt")
            self._use.on_click(lambda _b: self.use_chosen())
            self._tail.children = (*self._tail.children, self._use)
        return self._use

    def _undo_button(self) -> widgets.Button:
        """**Undo** before the menu (made with the first recall that replaced some text)."""
        if self._undo is None:
            self._undo = widgets.Button(description="Undo", icon="undo",
                                        tooltip="Put back the text the earlier prompt replaced",
                                        layout=Layout(width="auto", flex="0 0 auto"))
            self._undo.add_class("cdw-undo-recall")
            self._undo.on_click(lambda _b: self.undo_recall())
            self._tail.children = (self._undo, *self._tail.children)
        return self._undo

    def _on_recall(self, change: dict[str, Any]) -> None:
        """Choosing only enables **Use** (a keyboard user moves through the closed menu
        with the arrow keys): the box is not touched."""
        use = self._use_button()
        use.disabled = not change["new"]
        use.tooltip = ("Put this prompt in the box (Undo puts the text back)"
                       if change["new"] else "Choose an earlier prompt in the menu first")

    # -- display ------------------------------------------------------------------------------
    def snapshot(self) -> Image.Image:
        """The prompt box as a still picture: its text and character count.

        Saved notebooks and pages without a widget front end show it.
        """
        font = ImageFont.load_default(size=14)
        lines = textwrap.wrap(self.value, width=60)[:8] or [" "]
        if len(textwrap.wrap(self.value, width=60)) > 8:
            lines[-1] += " …"
        picture = Image.new("RGB", (480, 22 * len(lines) + 40), "white")
        draw = ImageDraw.Draw(picture)
        draw.rectangle((0, 0, 479, 22 * len(lines) + 12), outline="#999999")
        for i, line in enumerate(lines):
            draw.text((8, 6 + 22 * i), line, fill="black", font=font)
        draw.text((8, 22 * len(lines) + 18), self.counter_text,
                  fill="#b00020" if self.over_limit else "#666666", font=font)
        return picture

    def __repr__(self) -> str:
        return f"PromptBox({self.counter_text})"
