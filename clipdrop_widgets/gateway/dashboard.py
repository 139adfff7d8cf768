"""The teacher's view of a workshop: seats, spend, requests and a live spend chart.

[`GatewayDashboard`][clipdrop_widgets.GatewayDashboard] reads the gateway's ledger (the same SQLite
file, opened read-only in spirit: it never writes) every ``interval`` seconds from a background
thread and redraws only when something changed. Given the gateway's admin page (``admin_url``,
from any machine), it also shows what only the running gateway knows, as the page does: calls
in flight and waiting, waits, refusals, the upstream's rate, 429s and errors. It never sees a
key: the ledger holds hashes only. Times are the kernel's local time.
"""

from __future__ import annotations

import html
import io
import json
import os
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..contract.errors import ConfigurationError
from .ledger import Ledger, Seat

__all__ = ["GatewayDashboard"]

_CHART_SIZE = (6.4, 2.6)  # inches at 100 dpi


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _local(stamp: float | None) -> str:
    return "never" if stamp is None else time.strftime("%H:%M:%S", time.localtime(stamp))


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _check_database(db: str | os.PathLike[str]) -> None:
    """Refuse a path that holds no gateway database (never create one there)."""
    path = Path(db)
    if not path.is_file():
        raise ConfigurationError(f"no gateway database at {path}: give the --db file the gateway "
                                 "serves (gateway seats add makes it)")
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as probe:
            found = probe.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                  "name = 'seats'").fetchone()
    except sqlite3.DatabaseError:
        found = None
    if not found:
        raise ConfigurationError(f"{path} is not a gateway database (no seats in it)")


class GatewayDashboard(widgets.VBox):
    """Seats, spend and requests of the gateway whose ledger is ``db``, refreshed live.

    Args:
        db: the seats database the gateway serves (``gateway serve --db``); a path with no
            such database is refused (`ConfigurationError`), never created.
        live: refresh from a background thread (default true); `stop` ends it.
        interval: seconds between refreshes (default 2).
        admin_url: the gateway's admin page with its token (printed when it starts); adds
            calls in flight and waiting, waits, refusals and the upstream's figures.
    """

    def __init__(self, db: str | os.PathLike[str], *, live: bool = True, interval: float = 2.0,
                 admin_url: str | None = None):
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval <= 0:
            raise ConfigurationError(f"interval must be positive seconds, got {interval}")
        _check_database(db)
        self._stats_url = None if admin_url is None else _stats_url(admin_url)
        self.live: dict[str, Any] = {}
        self._ledger = Ledger(db)
        self.interval = interval
        self._summary = widgets.HTML()
        self._table = widgets.HTML()
        self._chart = widgets.Image(format="png")
        self._state: tuple[Any, ...] | None = None
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
        """Read the ledger (and the gateway's live figures) now and redraw what changed."""
        self.seats = self._ledger.seats()
        history = self._ledger.spend_history()
        self.live = self._read_live()
        state = (tuple(self.seats), len(history), json.dumps(self.live, sort_keys=True))
        if state == self._state:
            return
        self._state = state
        left = sum(max(0.0, s.remaining) for s in self.seats)
        summary = (f"<b>{len(self.seats)} seats</b> · {_number(self.credits_spent)} credits "
                   f"spent · {_number(left)} left · {self.requests} requests")
        room = self.live.get("room")
        if room:
            up = {None: "not called yet", True: "up", False: "down"}[room["upstream_up"]]
            summary += (f"<br>upstream {html.escape(up)} · {_number(room['upstream_rate_used'])}"
                        f" calls in the last minute of {_number(room['rate_limit'])} · "
                        f"{room['upstream_429']} 429s · {room['upstream_errors']} errors")
        elif self._stats_url is not None:
            summary += "<br>the gateway's admin page does not answer"
        self._summary.value = summary
        self._table.value = self._table_html()
        self._chart.value = self._chart_png(history)

    def _read_live(self) -> dict[str, Any]:
        if self._stats_url is None:
            return {}
        try:
            with urllib.request.urlopen(self._stats_url, timeout=5) as answer:
                return dict(json.loads(answer.read()))
        except (OSError, ValueError):
            return {}

    def _table_html(self) -> str:
        live = {s["label"]: s for s in self.live.get("seats", [])}
        head = ["seat", "who", "spent", "left", "requests", "last use"]
        if live:
            head += ["in flight", "waiting", "wait p50", "wait p95", "refusals"]
        rows = []
        for seat in self.seats:
            cells = [seat.label, seat.contact or "", _number(seat.spent + seat.reserved),
                     _number(max(0.0, seat.remaining)), str(seat.requests),
                     _local(seat.last_used)]
            view = live.get(seat.label)
            if view is not None:
                refusals = ", ".join(f"{k} {v}" for k, v in view["refusals"].items())
                cells += [str(view["in_flight"]), str(view["waiting"]),
                          _secs(view["wait_p50"]), _secs(view["wait_p95"]), refusals or "none"]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        heads = "".join(f"<th>{h}</th>" for h in head)
        return f"<table><tr>{heads}</tr>{''.join(rows)}</table>"

    def _chart_png(self, history: list[tuple[float, str, float]], *,
                   with_table: bool = False) -> bytes:
        figure = self._chart_figure(history, with_table=with_table)
        out = io.BytesIO()
        figure.savefig(out, format="png", bbox_inches="tight")
        return out.getvalue()

    def _chart_figure(self, history: list[tuple[float, str, float]], *,
                      with_table: bool = False) -> Any:
        """The spend chart as a matplotlib ``Figure`` (the legend beside the plot)."""
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
        axes.set_xlabel(f"{label} since the first paid call ({_local(start)})")
        axes.set_ylabel("credits spent")
        axes.set_title("Spend per seat")
        if totals:  # beside the plot, never over the lines
            axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                        fontsize="small")
        if rows:
            self._draw_table(figure.add_subplot(grid[1]))
        figure.tight_layout()
        return figure

    def _draw_table(self, axes: Any) -> None:
        axes.axis("off")
        rows = [[seat.label, _number(seat.spent + seat.reserved), _number(seat.remaining),
                 str(seat.requests), _local(seat.last_used)]
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
        if not hasattr(self, "_stop"):  # refused before it started (garbage collected)
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        """Stop refreshing, close the ledger and the widget."""
        self.stop()
        if hasattr(self, "_ledger"):  # a refused path never opened one
            self._ledger.close()
        super().close()


def _stats_url(admin_url: str) -> str:
    """``.../gateway/admin?token=T`` to ``.../gateway/admin/stats.json?token=T``."""
    parts = urllib.parse.urlsplit(admin_url)
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(f"admin_url must be the gateway's http(s) admin page, got "
                                 f"{parts.scheme or 'no scheme'}")
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/stats.json"))
