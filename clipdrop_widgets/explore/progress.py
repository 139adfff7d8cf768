"""The progress display of a running sweep: done, failed, credits and time left.

In a notebook kernel it is an ipywidgets bar with a label; in terminal IPython a line of text
rewritten in place; elsewhere (scripts, tests) nothing unless asked for.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol, TextIO

from ..contract.errors import (
    BudgetExceededError,
    ClipdropError,
    InvalidAPIKeyError,
    MissingAPIKeyError,
    OutOfCreditsError,
)

__all__ = ["ProgressState", "ProgressDisplay", "RunClock", "make_progress", "ipython_kind",
           "STOPPING_ERRORS", "stop_reason"]

#: Errors after which every further item would fail the same way: they stop the sweep.
STOPPING_ERRORS = (OutOfCreditsError, BudgetExceededError, MissingAPIKeyError,
                   InvalidAPIKeyError)


def stop_reason(exc: ClipdropError) -> str:
    """Why a sweep stopped, for `ProgressState.stopped_reason` (one of `STOPPING_ERRORS`)."""
    if isinstance(exc, OutOfCreditsError):
        return f"out of credits ({exc})"
    if isinstance(exc, BudgetExceededError):
        return f"budget reached ({exc})"
    return f"the API key was refused ({exc})"


@dataclass(frozen=True)
class ProgressState:
    """A snapshot of a sweep: item counts, credits spent so far, and seconds left (estimate)."""

    total: int
    done: int
    failed: int
    credits: float
    seconds_left: float | None
    stopped_reason: str | None = None
    #: Items whose request may have gone out before their run was killed (maybe charged).
    uncertain: int = 0

    def line(self) -> str:
        """One line for people: ``12/40 done · 1 failed · 24 credits · about 0:28 left``."""
        parts = [f"{self.done}/{self.total} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.uncertain:
            parts.append(f"{self.uncertain} may have been charged (not sent again)")
        parts.append(f"{self.credits:g} credits")
        if self.stopped_reason:
            parts.append(f"stopped: {self.stopped_reason}")
        elif self.done + self.failed < self.total:
            if self.seconds_left is None:
                parts.append("time left: estimating")
            else:
                minutes, seconds = divmod(round(self.seconds_left), 60)
                parts.append(f"about {minutes}:{seconds:02d} left")
        return " · ".join(parts)


class ProgressDisplay(Protocol):
    def update(self, state: ProgressState) -> None: ...

    def close(self, state: ProgressState) -> None: ...


def ipython_kind() -> Literal["kernel", "terminal"] | None:
    """``"kernel"`` in a Jupyter kernel, ``"terminal"`` in terminal IPython, else ``None``."""
    ipython_module = sys.modules.get("IPython")  # never import IPython just to ask
    if ipython_module is None:
        return None
    shell = ipython_module.get_ipython()
    if shell is None:
        return None
    return "kernel" if getattr(shell, "kernel", None) is not None else "terminal"


class WidgetProgress:
    """An ``IntProgress`` bar and a ``Label``, shown with IPython's ``display``."""

    def __init__(self, total: int, *, title: str) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.bar = w.IntProgress(value=0, min=0, max=max(total, 1), description=title,
                                 tooltip=f"{title}: pictures done of {total}",
                                 bar_style="info")
        self.label = w.Label("starting")
        self.box = w.HBox([self.bar, self.label])
        display(self.box)

    def update(self, state: ProgressState) -> None:
        self.bar.value = state.done + state.failed
        self.label.value = state.line()

    def close(self, state: ProgressState) -> None:
        self.update(state)
        if state.stopped_reason:
            self.bar.bar_style = "warning"
        else:
            self.bar.bar_style = "danger" if state.failed else "success"


class TextProgress:
    """A line of text rewritten in place (``\\r``), at most every ``interval`` seconds."""

    def __init__(self, total: int, *, title: str, stream: TextIO | None = None,
                 interval: float = 0.5) -> None:
        self.title = title
        self.stream = stream if stream is not None else sys.stdout
        self.interval = interval
        self._last = 0.0
        self._width = 0

    def _write(self, text: str) -> None:
        line = f"{self.title}: {text}"
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def update(self, state: ProgressState) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._write(state.line())

    def close(self, state: ProgressState) -> None:
        self._write(state.line())
        self.stream.write("\n")
        self.stream.flush()


def make_progress(total: int, *, title: str, show: bool | None) -> ProgressDisplay | None:
    """The display for this environment.

    ``show=None`` (auto): a widget in a notebook kernel, text in terminal IPython, nothing
    elsewhere. ``True``: a widget in a kernel, else text on stdout. ``False``: nothing.
    """
    if show is False:
        return None
    kind = ipython_kind()
    if kind is None and not show:
        return None
    if kind == "kernel":
        return WidgetProgress(total, title=title)
    return TextProgress(total, title=title)


class RunClock:
    """Seconds left, from this run's pace (``None`` until the first item finishes)."""

    def __init__(self, todo: int) -> None:
        self.todo = todo
        self.finished = 0
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self.finished += 1

    def seconds_left(self) -> float | None:
        with self._lock:
            if not self.finished:
                return None
            pace = (time.monotonic() - self.start) / self.finished
            return pace * max(0, self.todo - self.finished)
