"""The whole session in the history: its results in pages, filtered by operation and words.

A session folder keeps every result, but a strip of thousands of cards would take seconds and
gigabytes to show. `SessionPages` holds only the session's log lines (no image bytes): it
filters them by operation and by prompt words and cuts them into pages, newest first; the
history loads the images of one page at a time. `PagerBar` is the row of controls above the
cards: an operation menu, a prompt-words box, Newer and Older, and where the page sits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ..contract.endpoints import ENDPOINTS
from ._ui import Layout

__all__ = ["SessionPages", "PagerBar", "record_matches"]

Entry = tuple[int, Mapping[str, Any]]


def record_matches(record: Mapping[str, Any], operation: str, words: str) -> bool:
    """A log line made by ``operation`` (``""``: any) whose prompt holds every word of
    ``words`` (any case, any order)."""
    if operation and record.get("operation") != operation:
        return False
    prompt = str(record.get("prompt") or "").lower()
    return all(word in prompt for word in words.lower().split())


class SessionPages:
    """A session's log lines, filtered and cut into pages of ``size``, page 0 the newest.

    Attributes:
        page: the page shown (0: the newest results).
        operation: the operation filter (``""``: all).
        words: the prompt-words filter (``""``: none).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.page = 0
        self.operation = ""
        self.words = ""
        self._records: list[Mapping[str, Any]] = []

    def reset(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Hold ``records`` (oldest first), back on the newest page with no filter."""
        self._records = list(records)
        self.page, self.operation, self.words = 0, "", ""

    def replace(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Hold ``records`` (oldest first: the log read again), on the same page and filters."""
        self._records = list(records)

    def append(self, record: Mapping[str, Any]) -> None:
        """Add the line of a result just made."""
        self._records.append(record)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> tuple[Mapping[str, Any], ...]:
        """Every line held, oldest first."""
        return tuple(self._records)

    @property
    def filtered(self) -> bool:
        """Whether a filter is set."""
        return bool(self.operation or self.words.strip())

    def matching(self) -> list[Entry]:
        """``(position in the log, line)`` of every line the filters let through, newest
        first."""
        return [(i, r) for i, r in reversed(list(enumerate(self._records)))
                if record_matches(r, self.operation, self.words)]

    @property
    def pages(self) -> int:
        """How many pages the filtered lines fill (at least 1)."""
        return max(1, -(-len(self.matching()) // self.size))

    def current(self) -> list[Entry]:
        """The lines of the page shown, newest first (the page is kept in range)."""
        found = self.matching()
        self.page = max(0, min(self.page, max(1, -(-len(found) // self.size)) - 1))
        return found[self.page * self.size:(self.page + 1) * self.size]

    def operations(self) -> list[str]:
        """The operations found in the session, in the endpoint table's order."""
        present = {r.get("operation") for r in self._records}
        return [name for name in ENDPOINTS if name in present]

    def describe(self) -> str:
        """Where the page sits: ``"Results 1-50 of 5,000, newest first"``."""
        found = len(self.matching())
        if not found:
            return "No result matches" if self.filtered else "No results yet"
        start = self.page * self.size
        end = min(found, start + self.size)
        of = f"{found:,} of {len(self):,} match" if self.filtered else f"{found:,}"
        return f"Results {start + 1:,}-{end:,} of {of}, newest first"


class PagerBar(widgets.HBox):
    """An operation menu, a prompt-words box, Newer and Older, and the page's place.

    ``on_change()`` callbacks run after any control changed `pages` (their owner shows the
    page). Hidden until `show` is called with ``True``; its controls are built then (or when
    first used): a new session's page does not load the widgets of a hidden bar (issue 22).
    """

    def __init__(self, pages: SessionPages) -> None:
        super().__init__(layout=Layout(display="none", flex_flow="row wrap",
                                               align_items="center"))
        self.pages = pages
        self._callbacks: list[Callable[[], object]] = []
        self._controls: tuple[widgets.Dropdown, widgets.Text, widgets.Button, widgets.Button,
                              widgets.HTML] | None = None

    def _built(self) -> tuple[widgets.Dropdown, widgets.Text, widgets.Button, widgets.Button,
                              widgets.HTML]:
        if self._controls is None:
            operation = widgets.Dropdown(options=[("All operations", "")], value="",
                                         description="Show",
                                         layout=Layout(width="220px"))
            words = widgets.Text(value="", placeholder="prompt words", description="Words",
                                 continuous_update=False, layout=Layout(width="240px"))
            newer = widgets.Button(description="Newer", icon="chevron-left",
                                   tooltip="Show newer results",
                                   layout=Layout(width="auto"))
            older = widgets.Button(description="Older", icon="chevron-right",
                                   tooltip="Show older results",
                                   layout=Layout(width="auto"))
            operation.observe(lambda _c: self._set(operation=operation.value), "value")
            words.observe(lambda _c: self._set(words=words.value), "value")
            newer.on_click(lambda _b: self._turn(-1))
            older.on_click(lambda _b: self._turn(+1))
            self._controls = (operation, words, newer, older, widgets.HTML(""))
            self.children = self._controls
        return self._controls

    @property
    def operation(self) -> widgets.Dropdown:
        """The operation menu ("All operations" or one)."""
        return self._built()[0]

    @property
    def words(self) -> widgets.Text:
        """The prompt-words box."""
        return self._built()[1]

    @property
    def newer(self) -> widgets.Button:
        """Newer: the previous page."""
        return self._built()[2]

    @property
    def older(self) -> widgets.Button:
        """Older: the next page."""
        return self._built()[3]

    @property
    def place(self) -> widgets.HTML:
        """Which results the page shows."""
        return self._built()[4]

    def on_change(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after the page or a filter changed."""
        self._callbacks.append(callback)

    def show(self, shown: bool) -> None:
        """Show the bar (a session with results) or hide it."""
        if shown:
            self._built()
        self.layout.display = "" if shown else "none"

    def _set(self, **filters: str) -> None:
        changed = any(getattr(self.pages, k) != v for k, v in filters.items())
        for name, value in filters.items():
            setattr(self.pages, name, value)
        if changed:
            self.pages.page = 0
            self._changed()

    def _turn(self, step: int) -> None:
        self.pages.page = max(0, min(self.pages.pages - 1, self.pages.page + step))
        self._changed()

    def _changed(self) -> None:
        for callback in list(self._callbacks):
            callback()

    def refresh(self) -> None:
        """Bring the menu, the buttons and the place in line with `pages` (nothing to do
        while the bar was never shown: it is brought in line when built)."""
        if self._controls is None and self.layout.display == "none":
            return
        titles = [(ENDPOINTS[name].title, name) for name in self.pages.operations()]
        options = [("All operations", ""), *titles]
        if list(self.operation.options) != options:
            with self.operation.hold_trait_notifications():
                self.operation.options = options
                self.operation.value = self.pages.operation if self.pages.operation in \
                    dict(options).values() else ""
        self.newer.disabled = self.pages.page <= 0
        self.older.disabled = self.pages.page >= self.pages.pages - 1
        self.place.value = f"<small>{self.pages.describe()}</small>"
