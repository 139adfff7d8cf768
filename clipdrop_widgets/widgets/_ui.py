"""Small layout helpers and the error line every widget shows its callback errors in."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ipywidgets as widgets

from ..contract.errors import ConfigurationError
from .theme import color
from .threads import UI_LOCK

__all__ = ["Layout", "fixed_layout", "px_layout", "stack", "resize_stack", "ErrorLine"]

_log = logging.getLogger("clipdrop_widgets.widgets")
F = TypeVar("F", bound=Callable[..., Any])


class Layout(widgets.Layout):
    """An ``ipywidgets.Layout`` whose whole state names only the CSS properties set.

    A stock Layout's state lists all its 40-odd properties, ``None`` for each one not set:
    about 1 kB a layout, most of the widget state a page loads before its first view (issue
    22). The front end's layout model starts with every property ``None``, so leaving those
    out of the whole state changes nothing shown; a change (``layout.display = None``) is
    still sent, as ever, by itself.
    """

    def get_state(self, key: str | list[str] | tuple[str, ...] | None = None,
                  drop_defaults: bool = False) -> dict[str, Any]:
        state = super().get_state(key, drop_defaults=drop_defaults)
        if key is not None:
            return state
        return {name: value for name, value in state.items() if value is not None}


class _FixedLayout(Layout):
    """The empty layout many widgets share (`fixed_layout`): changing it would change all of
    them, so it refuses."""

    _frozen = False

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen and name in _CSS_NAMES:
            raise ConfigurationError(
                f"cannot set layout.{name}: this empty layout is shared by several widgets; "
                "give the widget its own (widget.layout = ipywidgets.Layout(...)) first")
        super().__setattr__(name, value)

    def close(self) -> None:
        """Stay open: other widgets, in other trees, still show with it (`closing.close_tree`
        closing one tree must not take it from the rest)."""


_CSS_NAMES = frozenset(name for name in widgets.Layout.class_trait_names(sync=True)
                       if not name.startswith("_"))
_fixed: _FixedLayout | None = None


def fixed_layout() -> Layout:
    """One empty layout shared by the inner widgets whose layout never changes (a status
    line, a title, a row of buttons): one widget model for all of them instead of one each,
    fewer for the page to load before its first view (issue 22). Setting a property on it
    raises, and closing it does nothing (closing one tree of widgets must not take it from
    the others)."""
    global _fixed
    if _fixed is None or _fixed.comm is None:
        _fixed = _FixedLayout()
        _fixed._frozen = True
    return _fixed


def px_layout(width: int, height: int, **extra: str) -> widgets.Layout:
    """A layout of exactly ``width x height`` CSS pixels with no margin (layers must align)."""
    return Layout(width=f"{width}px", height=f"{height}px", margin="0", padding="0", **extra)


def stack(layers: Sequence[widgets.DOMWidget], width: int, height: int) -> widgets.GridBox:
    """The ``layers`` on top of each other (last on top) in one ``width x height`` grid cell."""
    grid = widgets.GridBox(list(layers), layout=Layout(grid_template_areas='"stack"',
                                                       overflow="hidden"))
    resize_stack(grid, width, height)
    return grid


def resize_stack(grid: widgets.GridBox, width: int, height: int) -> None:
    """Give a `stack` and each of its layers the size ``width x height`` CSS pixels.

    The layouts are changed in place, never replaced: an anywidget view (the ink layer) keeps
    the layout it was rendered with and ignores a new ``Layout`` object, so a replaced layout
    left the ink layer at the first photo's size and strokes landed stretched (issue 9).
    """
    for layer in grid.children:
        _set(layer.layout, width=f"{width}px", height=f"{height}px", margin="0", padding="0",
             grid_area="stack")
    _set(grid.layout, grid_template_columns=f"{width}px", grid_template_rows=f"{height}px",
         width=f"{width}px", height=f"{height}px")


def _set(layout: widgets.Layout, **values: str) -> None:
    with layout.hold_sync():
        for name, value in values.items():
            setattr(layout, name, value)


class ErrorLine(widgets.HTML):
    """A line under a widget that shows what went wrong in a callback, in plain words.

    ``guard(fn)`` wraps a callback: an exception it raises is shown here (and logged with its
    traceback at DEBUG level) instead of vanishing into the kernel log; a success clears it.
    The callback runs under `UI_LOCK`: a page message may arrive on a kernel subshell's thread
    while a run or a worker reads the same widgets (see `threads`).
    """

    def __init__(self) -> None:
        super().__init__(value="", layout=Layout(margin="2px 0"))
        self._message = ""

    @property
    def message(self) -> str:
        """The error shown now (plain text, ``""`` when none)."""
        return self._message

    def show(self, exc: BaseException) -> None:
        text = str(exc).strip() or type(exc).__name__
        self._message = text
        self.value = (f'<span style="color:{color("error")}">&#9888; {html.escape(text)}</span>')

    def clear(self) -> None:
        self._message = ""
        self.value = ""

    def guard(self, fn: F) -> F:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with UI_LOCK:
                try:
                    result = fn(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - shown to the user, never lost
                    _log.debug("callback %s failed", getattr(fn, "__name__", fn), exc_info=True)
                    self.show(exc)
                    return None
                if self.message:
                    self.clear()
                return result

        return guarded  # type: ignore[return-value]
