"""HistoryCard: one result's card on the history strip, filled again when a page is turned.

A card is about 20 widget models (picture, caption, buttons, "Send to" menu and their layouts).
Making a page's cards anew and closing the last page's sent some 1,000 ``comm_open`` and
``comm_close`` messages a turn, plus as many updates. jupyter_server (JupyterLab, Notebook 7,
Voila) lets a page's kernel send about 1,000 messages a second before it stops forwarding
updates and closes: past that, a turned page showed no cards, or the old ones for good. A card
is therefore kept and filled with the next result instead: its picture, caption, menu and
their layouts stay, a turn updates them.

Its **Show**, **Save**, **Download** and **Send** buttons are made anew for each result, and
the last result's closed: a click is a message naming only the button, and one pressed just
after a turn, before the page showed the next result, reached a button already holding it
(a Download of a result the user never saw on that card). A press on a closed button is
dropped. A turn is about 11 messages a card, 4 buttons made and 4 closed, against 29 before.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import ipywidgets as widgets

from ..api.result import Result
from ._ui import ErrorLine, Layout
from .sendto import SendTo
from .threads import UI_LOCK
from .thumbnails import Thumbnail

__all__ = ["HistoryCard", "CardActions"]

#: The border of the card whose result is shown, and of the others (same width: no jump).
CHOSEN_BORDER = "2px solid #1976d2"
PLAIN_BORDER = "2px solid transparent"


class CardActions:
    """What a card's controls do with the result it shows (its strip's methods)."""

    def __init__(self, *, select: Callable[[Result], object], save: Callable[[Result], object],
                 download: Callable[[Result], object],
                 send: Callable[[Result, str], object], errors: ErrorLine) -> None:
        self.select, self.save, self.download, self.send = select, save, download, send
        self.errors = errors


class HistoryCard(widgets.VBox):
    """A thumbnail, its caption, **Show**, **Save**, **Download** and a "Send to" menu, for
    the result `result` (``None`` while the card waits, off the strip, for the next page).

    Args:
        thumbnail_size: the side of the square a thumbnail fits in, in pixels.
        shared: the layouts and styles every card of the strip uses (``buttons`` and
            ``buttons_row`` layouts, ``button_style``, ``caption_style``), one model each.
        actions: what the controls call, with the card's result at the time of the click.
    """

    def __init__(self, *, thumbnail_size: int, shared: dict[str, widgets.Widget],
                 actions: CardActions) -> None:
        self.result: Result | None = None
        self.picture = widgets.Image(format="png", layout=Layout(
            width=f"{thumbnail_size}px", height=f"{thumbnail_size}px"))
        self.caption = widgets.HTML("", style=shared["caption_style"])
        self._shared = shared
        self._actions = actions
        self._row = widgets.HBox([], layout=shared["buttons_row"])  # Download wraps below
        self.sender = SendTo(menu=True)
        self.sender.on_send(lambda name: self._act(lambda result: actions.send(result, name)))
        super().__init__(
            [self.picture, self.caption, self._row, self.sender],
            layout=Layout(margin="0 8px 0 0", padding="2px", border=PLAIN_BORDER,
                          min_width=f"{thumbnail_size + 12}px"),
        )

    def _buttons(self, result: Result) -> tuple[widgets.Button, ...]:
        """**Show**, **Save** and **Download** for ``result``: each acts on it, whatever the
        card shows by the time a click arrives (and a closed one drops the click)."""
        shared, actions = self._shared, self._actions
        buttons = {"layout": shared["buttons"], "style": shared["button_style"]}
        show = widgets.Button(description="Show", **buttons,
                              tooltip="Show this result in its app's compare view")
        save = widgets.Button(description="Save", icon="save", **buttons,
                              tooltip="Write this result to the folder in Save to")
        download = widgets.Button(description="Download", icon="download", **buttons,
                                  tooltip="Save this image on your computer (browser download)",
                                  _dom_classes=("cdw-history-download",))
        guard = actions.errors.guard
        show.on_click(guard(lambda _b: actions.select(result)))
        save.on_click(guard(lambda _b: actions.save(result)))
        download.on_click(guard(lambda _b: actions.download(result)))
        return show, save, download

    def _act(self, action: Callable[[Result], object]) -> object:
        # The Send button is made anew for each result (`SendTo.renew`): a click reaching
        # this is on the result the card shows; none on a card put aside.
        return None if self.result is None else action(self.result)

    def fill(self, result: Result, thumbnail: Thumbnail, caption: str,
             targets: Sequence[tuple[str, str]]) -> None:
        """Show ``result``: its ``thumbnail`` (bytes, format, size), its ``caption`` (HTML),
        a "Send to" menu of ``targets`` with nothing chosen, and buttons of its own.

        The picture and caption change first, then the buttons: the page applies them in that
        order, so a card never offers the new result's buttons under the last one's picture
        (a press on the last buttons meanwhile reaches closed ones and is dropped)."""
        new = result is not self.result or not self._row.children
        self.result = result
        self.show_thumbnail(result, thumbnail)
        self.caption.value = caption
        self.sender.reset()
        if new:
            old = self._row.children
            self._row.children = self._buttons(result)
            for button in old:
                button.close()  # only the button: its layout and style are every card's
            self.sender.renew()
        self.sender.set_targets(targets)

    def show_thumbnail(self, result: Result, thumbnail: Thumbnail) -> None:
        """Put ``thumbnail`` in the picture if the card still shows ``result`` (a thumbnail
        made on the maker's thread may come after the page was turned)."""
        data, fmt, (width, height) = thumbnail
        with UI_LOCK:
            if self.result is not result:
                return
            with self.picture.hold_sync():
                self.picture.format, self.picture.value = fmt, data
            with self.picture.layout.hold_sync():
                self.picture.layout.width = f"{width}px"
                self.picture.layout.height = f"{height}px"

    def outline(self, chosen: bool) -> None:
        """Outline the card as the one whose result is shown, or not."""
        self.layout.border = CHOSEN_BORDER if chosen else PLAIN_BORDER

    def put_aside(self) -> None:
        """Forget the result (the card is off the strip until the next page fills it)."""
        self.result = None


def caption_html(labels: dict[str, str], *, width: int, prompt_chars: int) -> str:
    """A card's caption from `history.card_labels`: the prompt (cut at ``prompt_chars``, the
    whole of it in the tooltip), the operation, time and credits, and where its input came
    from; ``width`` pixels wide."""
    prompt = labels["prompt"]
    short = prompt if len(prompt) <= prompt_chars else prompt[: prompt_chars - 1] + "…"
    return (
        f'<div style="font-size:11px;line-height:1.3;width:{width}px;'
        f'overflow-wrap:anywhere" title="{html.escape(prompt)}">'
        + (f"<i>{html.escape(short)}</i><br>" if prompt else "")
        + f"<b>{html.escape(labels['operation'])}</b><br>"
        f"{labels['time']} &middot; {html.escape(labels['credits'])}"
        + (f"<br>&#8627; {html.escape(labels['from'])}" if labels["from"] else "") + "</div>"
    )
