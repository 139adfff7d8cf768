"""What an upstream answer costs the seat and what the seat is told: the ledger follows the
upstream, and the seat hears the truth about whether anything was sent or charged.

- 200 with an image: charged what ``x-credits-consumed`` says, when that is a sane number (a
  `ABSURD_FACTOR`-th of the documented price to `ABSURD_FACTOR` times it); a negative, absurd
  or near-zero header (an image for free) is refused (logged) and the documented price charged
  instead, never credited. Every charge is rounded to hundredths (no 1.9999 balances).
- 200 without an image (a JSON body, an HTML page): charged as a 200 (the service may have
  charged it), never cached or shared, and a 502 to the seat.
- 429: nothing charged; the call is retried in its slowed-down scope.
- No answer after the request may have gone out (a timeout, a dropped connection): the
  documented price stays charged, since the service may have done the work; the seat is told so.
  Nothing sent at all (connection refused, unknown host): nothing charged.
- An answer over the gateway's bound (`upstream.MAX_ANSWER`, not read): charged as an
  answer that did not arrive (the service did the work); the seat is told it was too large,
  naming the bound.
- 401, 402, 403: the room's own account was refused: a 503 that blames no seat.
- Any other status: nothing charged unless the upstream said so; the gateway's own message,
  quoting the upstream's only after removing the room's key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..api.result import parse_credits
from ..contract.endpoints import Endpoint
from .shared_cache import Answer
from .upstream import NOT_SENT, TOO_LARGE, UNREACHABLE, size_text

__all__ = ["Outcome", "Refusal", "settle", "is_image", "sane_credits", "ABSURD_FACTOR"]

logger = logging.getLogger("clipdrop_widgets.gateway")

#: A charge above this many times the documented price (or 10 credits) is not believed.
ABSURD_FACTOR = 10.0
#: The ledger's unit, in decimal digits: a reported charge is rounded to hundredths (prices
#: are 1, 1.5, 2...).
CREDIT_DIGITS = 2
#: Shown to seats when the room's own account is refused upstream.
ROOM_REFUSED = ("the workshop's ClipDrop account was refused by the service ({status}: {why}); "
                "this is not your key or your credits, and nothing was charged: tell the person "
                "running the workshop")
_WHY = {401: "no key", 402: "out of credits", 403: "key refused"}
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")


class Refusal(Exception):
    """Stops a call with an error answer: ``status``, a plain ``message``, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        #: Credits the seat was charged for the call refused (``None``: nothing), and what
        #: the service claimed when more (the seat's balance ran out).
        self.charged: float | None = None
        self.claimed: float | None = None


@dataclass(frozen=True)
class Outcome:
    """``charge``: credits to settle (``None``: release the reservation, nothing charged);
    ``refusal``: what the seat gets instead of the answer; ``retry``: a 429, send again."""

    charge: float | None
    refusal: Refusal | None = None
    retry: bool = False


def is_image(answer: Answer) -> bool:
    """A 200 whose Content-Type is an image and whose bytes start like one."""
    kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    body = answer.body
    webp = body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    return kind.startswith("image/") and (body.startswith(_MAGIC) or webp)


def sane_credits(answer: Answer, cost: float, *, image: bool = False) -> float | None:
    """``x-credits-consumed`` when present and believable, rounded to hundredths, else
    ``None`` (a bad one is logged). For an ``image`` it must be at least a `ABSURD_FACTOR`-th
    of the price: the service does not make pictures for free."""
    raw = answer.headers.get("x-credits-consumed")
    consumed = parse_credits(raw)
    if consumed is None:
        return None
    consumed = round(float(consumed), CREDIT_DIGITS)
    least = cost / ABSURD_FACTOR if image else 0.0
    if consumed < least or consumed > max(ABSURD_FACTOR * cost, 10.0):
        logger.warning("the upstream said x-credits-consumed: %s for a %g-credit call; refused, "
                       "the documented price is charged", (raw or "")[:40], cost)
        return None
    return float(consumed)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _quoted(answer: Answer, quote: Callable[[bytes], str]) -> str:
    said = quote(answer.body)
    return f": {said}" if said else ""


def settle(endpoint: Endpoint, answer: Answer, cost: float,
           quote: Callable[[bytes], str],
           carries_key: Callable[[bytes], bool] | None = None) -> Outcome:
    """The outcome of ``answer`` to a call of documented price ``cost``.

    ``quote`` turns an upstream body into text safe for a seat (see `redact.quote_upstream`);
    ``carries_key`` says whether an image's bytes carry the room's key (then it is not passed
    on: `redact.carries_key`).
    """
    status = answer.status
    if status == 200:
        image = is_image(answer)
        consumed = sane_credits(answer, cost, image=image)
        charged = cost if consumed is None else consumed
        if image and carries_key is not None and carries_key(answer.body):
            logger.warning("the upstream's image for %s carries the room's key; not passed on",
                           endpoint.path)
            return Outcome(charged, Refusal(
                502, f"the service's picture carried the room's key in its bytes (its "
                     f"metadata), so it was not passed on; {_number(charged)} credits stay "
                     "charged (the service counts the call): tell the organiser"))
        if image:
            return Outcome(charged)
        logger.warning("the upstream answered 200 without an image on %s", endpoint.path)
        return Outcome(charged, Refusal(
            502, f"the service answered without an image; {_number(charged)} credits stay "
                 "charged (the service counts the call), nothing was kept: try again"))
    if status == 429:
        return Outcome(None, retry=True)
    if status == NOT_SENT:
        return Outcome(None, Refusal(502, "the gateway could not reach the service ("
                                          f"{answer.body.decode(errors='replace')}); nothing "
                                          "was sent and nothing was charged"))
    if status == UNREACHABLE:
        return Outcome(cost, Refusal(
            502, f"the service did not answer ({answer.body.decode(errors='replace')}); the "
                 f"call may have reached it, so its {_number(cost)} credits stay charged"))
    if status == TOO_LARGE:
        bound = size_text(int(answer.body or 0))
        logger.warning("the upstream answered %s with more than %s; not read", endpoint.path,
                       bound)
        return Outcome(cost, Refusal(
            502, f"the service's answer was too large (over the gateway's bound of {bound}), "
                 f"so it was not read; the service did the work, so its {_number(cost)} "
                 "credits stay charged"))
    if status in _WHY:
        logger.warning("the upstream refused the room's account on %s (%d %s): check the "
                       "room's key and credits", endpoint.path, status, _WHY[status])
        return Outcome(None, Refusal(503, ROOM_REFUSED.format(status=status, why=_WHY[status])))
    consumed = sane_credits(answer, cost) or 0.0
    paid = (f"{_number(consumed)} credits charged, as the service reported" if consumed
            else "nothing was charged")
    said = _quoted(answer, quote)
    if status in (400, 406):
        return Outcome(consumed or None,
                       Refusal(status, f"the service refused this request ({status}){said}; "
                                       f"{paid}"))
    kind = "failed" if status >= 500 else "answered"
    return Outcome(consumed or None,
                   Refusal(502, f"the service {kind} with {status}{said}; {paid}"))
