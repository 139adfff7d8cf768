"""What a call is counted as having cost, when the service's ``x-credits-consumed`` is not credible.

The client's ``budget`` and ``credits_spent`` follow what the service reports. A faulty or
hostile server could report a negative charge (the budget would never run out) or an absurd one
(``1e308``: the budget would lock for good). Such a report is not believed: the call is counted
at the most it could cost (`Endpoint.max_credits`), with a notice saying so.
"""

from __future__ import annotations

from ..contract.errors import BudgetExceededError
from .result import parse_credits

#: A report above this many times the most a call can cost is absurd (the gateway uses the same).
ABSURD_FACTOR = 10.0


def believed_charge(raw: str | None, cost: float) -> tuple[float, str | None]:
    """The credits to count for a call costing at most ``cost``, and a notice if ``raw`` is refused.

    ``raw`` is the ``x-credits-consumed`` header (``None`` when absent). Absent or unreadable
    headers count ``cost`` quietly (as before); a negative or absurd (more than
    `ABSURD_FACTOR` times ``cost``) one counts ``cost`` with a notice.
    """
    consumed = parse_credits(raw)
    if consumed is None:
        return cost, None
    if not credible(consumed, cost):
        shown = (raw or "").strip()[:40]
        return cost, (f"the server said this call cost {shown} credits, which cannot be right "
                      f"for a call that costs at most {cost:g}; {cost:g} is counted instead")
    return consumed, None


def credible(consumed: float | None, cost: float) -> bool:
    """Whether a reported charge ``consumed`` can be true of a call that costs at most ``cost``."""
    return consumed is not None and 0 <= consumed <= ABSURD_FACTOR * max(cost, 1.0)


def check_budget(name: str, cost: float, committed: float, budget: float) -> None:
    """Refuse (`BudgetExceededError`) a call of most ``cost`` when ``committed`` (credits spent or
    in flight) plus it would pass ``budget``; nothing is sent."""
    if committed + cost > budget:
        raise BudgetExceededError(
            f"{name} costs up to {cost:g} credits; {committed:g} of the budget "
            f"of {budget:g} are spent or in flight, so nothing was sent",
            budget=budget, spent=committed, cost=cost)
