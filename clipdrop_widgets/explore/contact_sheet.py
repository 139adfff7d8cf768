"""Where each item of a sweep goes in a grid, and the grid drawn as a matplotlib figure.

`grid_layout` is shared by `Sweep.contact_sheet` and the
[`PromptExplorer`][clipdrop_widgets.PromptExplorer]
grid. matplotlib is imported only when a figure is drawn, and only through the object API
(`matplotlib.figure.Figure`), so no pyplot state is touched and any backend works.
"""

from __future__ import annotations

import functools
import io
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..contract.errors import ConfigurationError
from .plan import TAKE_AXIS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from PIL import Image

__all__ = ["GridLayout", "Cell", "grid_layout", "cell_label", "draw_contact_sheet", "sweep_layout",
           "sweep_label"]

Values = Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class GridLayout:
    """A grid of ``nrows`` x ``ncols`` cells; ``cells[i]`` is item ``i``'s ``(row, col)``.

    ``rows_by`` / ``cols_by`` name the variable whose values index the rows / columns (``None``
    for a wrapped grid), and ``row_values`` / ``col_values`` list those values in order.
    """

    nrows: int
    ncols: int
    cells: tuple[tuple[int, int], ...]
    rows_by: str | None = None
    cols_by: str | None = None
    row_values: tuple[Any, ...] = ()
    col_values: tuple[Any, ...] = ()


def _wrapped(n: int, rows: int | None, cols: int | None) -> GridLayout:
    for name, value in (("rows", rows), ("cols", cols)):
        if value is not None and value < 1:
            raise ConfigurationError(f"{name} must be 1 or more, got {value}")
    if rows is None and cols is None:
        cols = max(1, math.ceil(math.sqrt(n)))
    if cols is None:
        assert rows is not None
        cols = max(1, math.ceil(n / rows))
    if rows is None:
        rows = max(1, math.ceil(n / cols))
    if rows * cols < n:
        raise ConfigurationError(f"a {rows}x{cols} grid has {rows * cols} cells for {n} items")
    return GridLayout(rows, cols, tuple(divmod(i, cols) for i in range(n)))


def grid_layout(item_variables: Sequence[Mapping[str, Any]], variables: Values | None, *,
                rows: str | int | None = None, cols: str | int | None = None) -> GridLayout:
    """Place items in a grid.

    Args:
        item_variables: each item's variable values (empty mappings for a list of prompts).
        variables: the sweep's variables and their values, in order (``None`` for a list).
        rows, cols: variable names for a grid by variables (rows by one variable, columns by
            another), or numbers of rows/columns for a wrapped grid. Default: by the two
            variables when exactly two vary, else a wrapped grid about as wide as tall.

    Raises `ValueError` when the named variables leave others varying within a cell.
    """
    n = len(item_variables)
    names = dict(variables or {})
    varying = [name for name, values in names.items() if len(values) > 1]
    by_name = isinstance(rows, str) or isinstance(cols, str)
    if by_name and (isinstance(rows, int) or isinstance(cols, int)):
        raise ConfigurationError("rows and cols must both be variable names, or both numbers")
    if not by_name:
        if rows is not None or cols is not None or len(varying) != 2:
            return _wrapped(n, rows, cols)  # type: ignore[arg-type]
        rows, cols = varying
    for given in (rows, cols):
        if given is not None and given not in names:
            known = ", ".join(names) or "none (a list of prompts)"
            raise ConfigurationError(
                f"{given!r} is not a variable of this sweep; variables: {known}")
    others = [v for v in varying if v not in (rows, cols)]
    if rows is None and len(others) == 1:
        rows = others.pop()
    elif cols is None and len(others) == 1:
        cols = others.pop()
    if others:
        raise ConfigurationError(
            f"{', '.join(others)} also vary, so a grid by {rows or cols} alone would put "
            "several items in one cell; name them in rows= and cols=, or pass numbers for "
            "a wrapped grid")
    row_values = tuple(names[rows]) if rows else (None,)
    col_values = tuple(names[cols]) if cols else (None,)
    row_index = {v: i for i, v in enumerate(row_values)}
    col_index = {v: i for i, v in enumerate(col_values)}
    cells = tuple((row_index[iv[rows]] if rows else 0, col_index[iv[cols]] if cols else 0)
                  for iv in item_variables)
    return GridLayout(len(row_values), len(col_values), cells, rows, cols,
                      row_values if rows else (), col_values if cols else ())


def cell_label(prompt: str, item_variables: Mapping[str, Any], variables: Values | None,
               *, named: Sequence[str] = ()) -> str:
    """An item's part of the prompt: the values of the varying variables (those in ``named``
    after their name: ``seed 7``), else the prompt."""
    varying = [name for name, values in (variables or {}).items() if len(values) > 1]
    if varying:
        return " · ".join(f"{name} {item_variables[name]}" if name in named
                          else str(item_variables[name]) for name in varying)
    return prompt


def sweep_layout(item_variables: Sequence[Mapping[str, Any]], variables: Values | None, *,
                 rows: str | int | None = None, cols: str | int | None = None) -> GridLayout:
    """`grid_layout` for a sweep's items; by default a grid wrapped about square when the
    items are not the full product of their values (a list of options, upscale's sizes)."""
    n = len(item_variables)
    full = math.prod(len(v) for v in (variables or {}).values()) == n
    if rows is None and cols is None and not full:
        cols = max(1, math.ceil(math.sqrt(n)))
    return grid_layout(item_variables, variables, rows=rows, cols=cols)


def sweep_label(items: Sequence[Any], i: int, variables: Values | None,
                swept: Mapping[str, Any], template: str | None, title: str) -> str:
    """Item ``i`` of a sweep in a few words (see `Sweep.label`)."""
    item = items[i]
    named = [*(swept.get("options") or ()), TAKE_AXIS]
    label = cell_label(item.prompt or "", item.variables, variables, named=named)
    if template is None and item.prompt is not None and label != item.prompt \
            and len({it.prompt for it in items}) > 1:
        label = f"{item.prompt} · {label}"  # a list of prompts is not a variable
    return label or title


@dataclass(frozen=True)
class Cell:
    """What one grid cell shows: a label, the item's status, its image and error message."""

    label: str
    status: str
    image: Image.Image | None = None
    error: str | None = None


def _short(text: str, width: int, lines: int) -> str:
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1] + "…"
    return "\n".join(wrapped)


@functools.cache
def _figure_class() -> type[Figure]:
    """A Figure that shows itself in a notebook as a PNG, pyplot or not (defined lazily)."""
    from matplotlib.figure import Figure

    class ContactSheetFigure(Figure):
        """A `Figure` with ``_repr_png_``: without pyplot's inline
        backend, IPython would show a bare Figure as ``<Figure size ...>`` text."""

        #: The record written into a PNG, JPEG or WebP file `savefig` makes (or ``None``).
        record: dict[str, Any] | None = None

        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png")
            return buf.getvalue()

        def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
            """`Figure.savefig`, then the record put into the file when ``fname`` is a path
            (a PDF, SVG or file object is left as matplotlib wrote it)."""
            super().savefig(fname, *args, **kwargs)
            if self.record is not None and isinstance(fname, (str, os.PathLike)):
                _record_into(fname, self.record)

    return ContactSheetFigure


def _record_into(path: str | os.PathLike[str], record: Mapping[str, Any]) -> None:
    """Put ``record`` inside the picture matplotlib just wrote at ``path``."""
    from ..api.records import with_record
    from ..api.storage import write_atomic

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return  # matplotlib added an extension, or wrote elsewhere: nothing to mark
    marked = with_record(data, record)
    if marked != data:
        write_atomic(path, marked)


def draw_contact_sheet(cells: Sequence[Cell], layout: GridLayout, *, title: str | None = None,
                       cell_inches: float = 2.0, thumbnail_px: int = 256,
                       record: Mapping[str, Any] | None = None) -> Figure:
    """A `Figure` of the grid; ``fig.savefig("sheet.pdf")`` saves it.

    With a ``record``, a PNG, JPEG or WebP the figure saves to a path carries it inside
    (see [`read_record`][clipdrop_widgets.read_record]).

    Each cell's title is its label; a failed cell is tinted red and says why; an item not run
    yet (or stopped) says "not run". Images are shrunk to ``thumbnail_px`` pixels (default 256)
    so PDFs stay small. In a grid by variables the first column's y labels and the bottom
    row's x labels name the row and column values.
    """
    import numpy as np

    fig = _figure_class()(figsize=(layout.ncols * cell_inches, layout.nrows * (cell_inches + 0.3)),
                 layout="constrained")
    fig.record = dict(record) if record is not None else None
    if title:
        fig.suptitle(_short(title, 100, 2), fontsize=10)
    grid = fig.add_gridspec(layout.nrows, layout.ncols)
    for cell, (r, c) in zip(cells, layout.cells, strict=True):
        ax = fig.add_subplot(grid[r, c])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_short(cell.label, 28, 3), fontsize=8)
        if cell.status == "ok" and cell.image is not None:
            thumb = cell.image.copy()
            thumb.thumbnail((thumbnail_px, thumbnail_px))
            ax.imshow(np.asarray(thumb.convert("RGB")))
        elif cell.status == "failed":
            ax.set_facecolor("#fbe3e3")
            ax.title.set_color("#a00000")
            for spine in ax.spines.values():
                spine.set_edgecolor("#a00000")
                spine.set_linewidth(2)
            ax.text(0.5, 0.5, "failed\n" + _short(cell.error or "", 24, 4), color="#a00000",
                    ha="center", va="center", fontsize=7, transform=ax.transAxes)
        else:  # not run yet, or "uncertain": sent when its run was killed, maybe charged
            ax.set_facecolor("#eeeeee")
            words = "maybe charged,\nnot re-sent" if cell.status == "uncertain" else "not run"
            ax.text(0.5, 0.5, words, color="#666666", ha="center", va="center",
                    fontsize=8, transform=ax.transAxes)
        if layout.rows_by and c == 0:
            ax.set_ylabel(_short(f"{layout.rows_by}: {layout.row_values[r]}", 28, 2),
                          fontsize=8)
        if layout.cols_by and r == layout.nrows - 1:
            ax.set_xlabel(_short(f"{layout.cols_by}: {layout.col_values[c]}", 28, 2),
                          fontsize=8)
    return fig
