"""Closing a tree of widgets: cards the history no longer needs are gone from kernel and page.

``Widget.close()`` closes one model: a card's box goes, but its picture, caption, buttons, menu
and their layouts and styles stay open in the kernel (ipywidgets' registry) and in the page's
widget manager. A history page is about 950 such models, so a long browse of a session kept
tens of thousands of them alive. `close_tree` closes a widget and every widget it reaches
through its synced state (children, layout, style...), except those in ``keep``: the layouts
and styles its owner shares between cards, which the next page uses again. (The history now
fills its cards again rather than closing them, `history_card`; it closes only the cards
past a page's worth.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import ipywidgets as widgets

__all__ = ["close_tree", "reached"]


def _widgets_in(value: Any) -> Iterator[widgets.Widget]:
    if isinstance(value, widgets.Widget):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _widgets_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _widgets_in(item)


def reached(roots: Iterable[widgets.Widget],
            keep: Iterable[widgets.Widget] = ()) -> list[widgets.Widget]:
    """``roots`` and every widget their synced state reaches (children, layouts, styles),
    each once, none of ``keep`` (nor what only they reach)."""
    kept = {id(w) for w in keep}
    seen: dict[int, widgets.Widget] = {}
    todo = [w for w in roots if id(w) not in kept]
    while todo:
        widget = todo.pop()
        if id(widget) in seen:
            continue
        seen[id(widget)] = widget
        extra = getattr(widget, "owned_widgets", ())  # made but not (yet) among its children
        for name in widget.keys:
            for found in _widgets_in(getattr(widget, name, None)):
                if id(found) not in kept and id(found) not in seen:
                    todo.append(found)
        todo.extend(w for w in extra if id(w) not in kept and id(w) not in seen)
    return list(seen.values())


def close_tree(roots: Iterable[widgets.Widget], keep: Iterable[widgets.Widget] = ()) -> int:
    """Close ``roots`` and every widget they reach (see `reached`) but those of ``keep``;
    returns how many were open. Detach the roots from their parent first: the page then
    removes their views before it forgets their models."""
    closed = 0
    for widget in reached(roots, keep):
        if widget.comm is not None:
            closed += 1
        widget.close()
    return closed
