"""What a call is counted as having cost, when the service's ``x-credits-consumed`` is not credible.

The client's ``budget`` and ``credits_spent`` follow what the service reports. A faulty or
hostile server could report a negative charge (the budget would never run out) or an absurd one
(``1e308``: the budget would lock for good), or one that is no number (``nan``). Such a report
is not believed: the call is counted at the most it could cost (`Endpoint.max_credits`), with a
notice saying so. A balance (``x-remaining-credits``) below 0 or no number is not believed
either: it is not shown, with a notice saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..contract.errors import BudgetExceededError, CancelledError
from .result import parse_credits

#: A report above this many times the most a call can cost is absurd (the gateway uses the same).
ABSURD_FACTOR = 10.0


def believed_charge(raw: str | None, cost: float) -> tuple[float, str | None]:
    """The credits to count for a call costing at most ``cost``, and a notice if ``raw`` is refused.

    ``raw`` is the ``x-credits-consumed`` header (``None`` when absent). An absent (or empty)
    header counts ``cost`` quietly; a negative, absurd (more than `ABSURD_FACTOR` times
    ``cost``) or unreadable one (``nan``, ``inf``, words) counts ``cost`` with a notice.
    """
    if raw is None or not raw.strip():
        return cost, None
    consumed = parse_credits(raw)
    if consumed is None or not credible(consumed, cost):
        shown = (raw or "").strip()[:40]
        return cost, (f"the server said this call cost {shown} credits, which cannot be right "
                      f"for a call that costs at most {cost:g}; {cost:g} is counted instead")
    return consumed, None


def believed_remaining(raw: str | None) -> tuple[float | None, str | None]:
    """The balance an ``x-remaining-credits`` header ``raw`` reports, and a notice if refused.

    Absent (or empty): ``None`` quietly. Below 0 or no number (``nan``, words): ``None``, with
    a notice; a balance cannot be negative, and showing it would mislead.
    """
    if raw is None or not raw.strip():
        return None, None
    remaining = parse_credits(raw)
    if remaining is None or remaining < 0:
        shown = raw.strip()[:40]
        return None, (f"the server said {shown} credits are left, which cannot be right; "
                      "that balance is not shown")
    return remaining, None


def credible(consumed: float | None, cost: float) -> bool:
    """Whether a reported charge ``consumed`` can be true of a call that costs at most ``cost``."""
    return consumed is not None and 0 <= consumed <= ABSURD_FACTOR * max(cost, 1.0)


def check_budget(name: str, cost: float, committed: float, budget: float) -> None:
    """Refuse (`BudgetExceededError`) a call of most ``cost`` when ``committed`` (credits
    spent) plus it would pass ``budget``; nothing is sent."""
    if committed + cost > budget:
        raise BudgetExceededError(
            f"{name} costs up to {cost:g} credits; {committed:g} of the budget "
            f"of {budget:g} are spent, so nothing was sent",
            budget=budget, spent=committed, cost=cost)


#: How often a call waiting for reservations in flight looks at its cancel event (s).
CANCEL_POLL = 0.1


def await_budget(settled: threading.Condition, name: str, cost: float,
                 committed: Callable[[], tuple[float, float]], budget: float | None,
                 cancel: threading.Event | None) -> None:
    """Return once a call of most ``cost`` fits ``budget``; called holding ``settled``.

    ``committed()`` gives (credits spent, credits reserved by calls in flight). A call that
    only fits once the calls in flight settle waits for them (`Condition.notify_all` on each
    settlement): they may cost less than they reserved. It is refused
    (`BudgetExceededError`) only when what is spent plus ``cost`` passes ``budget``, and
    `CancelledError` when ``cancel`` is set while it waits. Nothing is sent meanwhile.
    """
    if budget is None:
        return
    while True:
        spent, reserved = committed()
        if spent + reserved + cost <= budget:
            return
        if spent + cost > budget or reserved <= 0:
            check_budget(name, cost, spent, budget)
        if cancel is not None and cancel.is_set():
            raise CancelledError(f"{name} was cancelled while it waited for the calls in "
                                 "flight to settle the budget")
        settled.wait(CANCEL_POLL if cancel is not None else None)
