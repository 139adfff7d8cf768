"""The teacher's view of a workshop: seats, spend, requests and a live spend chart.

[`GatewayDashboard`][clipdrop_widgets.GatewayDashboard] reads the gateway's ledger (the same SQLite
file, opened read-only in spirit: it never writes) every ``interval`` seconds from a background
thread and redraws only when something changed. It never sees a key: the ledger holds hashes only.
"""

from __future__ import annotations

import html
import io
import os
import threading
import time
from typing import Any

import ipywidgets as widgets

from ..contract.errors import ConfigurationError
from .ledger import Ledger, Seat
from .server import seat_usage

__all__ = ["GatewayDashboard"]

_CHART_SIZE = (6.4, 2.6)  # inches at 100 dpi


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


class GatewayDashboard(widgets.VBox):
    """Seats, spend and requests of the gateway whose ledger is ``db``, refreshed live.

    Args:
        db: the seats database the gateway serves (``gateway serve --db``).
        live: refresh from a background thread (default true); `stop` ends it.
        interval: seconds between refreshes (default 2).
    """

    def __init__(self, db: str | os.PathLike[str], *, live: bool = True, interval: float = 2.0):
        if interval <= 0:
            raise ConfigurationError(f"interval must be positive seconds, got {interval}")
        self._ledger = Ledger(db)
        self.interval = interval
        self._summary = widgets.HTML()
        self._table = widgets.HTML()
        self._chart = widgets.Image(format="png")
        self._state: tuple[Any, ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.seats: list[Seat] = []
        super().__init__([self._summary, self._chart, self._table])
        self.refresh()
        if live:
            self.start()

    def __repr__(self) -> str:
        return (f"GatewayDashboard({len(self.seats)} seats, {_number(self.credits_spent)} "
                f"credits spent, {self.requests} requests)")

    @property
    def credits_spent(self) -> float:
        """Credits the room paid upstream (settled and reserved), over all seats."""
        return sum(s.spent + s.reserved for s in self.seats)

    @property
    def requests(self) -> int:
        """Requests answered (cache hits included), over all seats."""
        return sum(s.requests for s in self.seats)

    def refresh(self) -> None:
        """Read the ledger now and redraw what changed."""
        self.seats = self._ledger.seats()
        history = self._ledger.spend_history()
        state = (tuple(self.seats), len(history))
        if state == self._state:
            return
        self._state = state
        left = sum(s.remaining for s in self.seats)
        self._summary.value = (f"<b>{len(self.seats)} seats</b> · {_number(self.credits_spent)} "
                               f"credits spent · {_number(left)} left · {self.requests} "
                               "requests")
        self._table.value = self._table_html()
        self._chart.value = self._chart_png(history)

    def _table_html(self) -> str:
        rows = []
        for seat in self.seats:
            cells = seat_usage(seat).split("\t")
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("seat", "spent", "left", "requests", "last use"))
        return f"<table><tr>{head}</tr>{''.join(rows)}</table>"

    def _chart_png(self, history: list[tuple[float, str, float]], *,
                   with_table: bool = False) -> bytes:
        from matplotlib.figure import Figure

        rows = len(self.seats) + 1 if with_table else 0
        figure = Figure(figsize=(_CHART_SIZE[0], _CHART_SIZE[1] + 0.3 * rows), dpi=100)
        grid = figure.add_gridspec(2 if rows else 1, 1,
                                   height_ratios=[_CHART_SIZE[1], 0.3 * rows] if rows else None)
        axes = figure.add_subplot(grid[0])
        start = history[0][0] if history else time.time()
        end = history[-1][0] if history else start
        unit, label = (60.0, "minutes") if end - start > 120 else (1.0, "seconds")
        totals: dict[str, tuple[list[float], list[float]]] = {}
        for when, seat, credits in history:
            xs, ys = totals.setdefault(seat, ([0.0], [0.0]))
            xs.append((when - start) / unit)
            ys.append(ys[-1] + credits)
        for seat, (xs, ys) in sorted(totals.items()):
            axes.step([*xs, (end - start) / unit], [*ys, ys[-1]], where="post", label=seat)
        axes.set_xlabel(f"{label} since the first paid call")
        axes.set_ylabel("credits spent")
        axes.set_title("Spend per seat")
        if totals:
            axes.legend(loc="upper left", fontsize="small")
        if rows:
            self._draw_table(figure.add_subplot(grid[1]))
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()

    def _draw_table(self, axes: Any) -> None:
        axes.axis("off")
        rows = [[seat.label, _number(seat.spent + seat.reserved), _number(seat.remaining),
                 str(seat.requests), "never" if seat.last_used is None else
                 time.strftime("%H:%M:%S UTC", time.gmtime(seat.last_used))]
                for seat in self.seats]
        if rows:
            table = axes.table(cellText=rows, colLabels=["seat", "spent", "left", "requests",
                                                         "last use"], loc="center")
            table.auto_set_font_size(False)
            table.set_fontsize(9)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live view, plus a still PNG (chart and table) for front ends without widgets."""
        data = super()._repr_mimebundle_(**kwargs) or {"text/plain": repr(self)}
        data["image/png"] = self._chart_png(self._ledger.spend_history(), with_table=True)
        return data

    def start(self) -> None:
        """Refresh every `interval` seconds from a daemon thread (until `stop`)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="gateway-dashboard",
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def stop(self) -> None:
        """End live refreshing (the widget keeps what it shows)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        """Stop refreshing, close the ledger and the widget."""
        self.stop()
        self._ledger.close()
        super().close()
