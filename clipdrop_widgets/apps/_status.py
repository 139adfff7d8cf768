"""What an app's status line says: work in progress, a finished run, or a failure in plain words.

Pure functions of a result or an exception, so every app words things the same way and the
tests can check the wording without running anything. No text ever includes a traceback.
"""

from __future__ import annotations

import math
import re
import time

from ..api.attempt import retry_after
from ..api.client import Wait
from ..api.result import Result
from ..contract.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BudgetExceededError,
    InputError,
    InvalidResponseError,
    RateLimitError,
)

__all__ = ["working_text", "waiting_text", "retry_after_text", "done_text", "done_kind",
           "cancelled_text", "earlier_text", "error_text", "notices_of", "user_words", "shown_text",
           "FIELD_LABELS"]

#: Longest error detail shown (characters); longer server messages are cut with "…".
MAX_DETAIL_CHARS = 300
_SEP = " · "


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}{'' if n == 1 else 's'}"


#: What the apps call each form field (the wire names stay in the client's own errors).
FIELD_LABELS: dict[str, str] = {
    "image_file": "photo",
    "mask_file": "mask",
    "sketch_file": "sketch",
    "prompt": "prompt",
    "text_prompt": "prompt",
    "mode": "mode",
}
_FIELD_NAME = re.compile(r"\b(" + "|".join(sorted(FIELD_LABELS, key=len, reverse=True)) + r")\b")


def user_words(text: str) -> str:
    """``text`` with the form fields' wire names (``image_file``) in the apps' words
    (``photo``): what a user sees is what the app's controls are called."""
    return _FIELD_NAME.sub(lambda m: FIELD_LABELS[m.group(1)], text)


def _detail(text: str) -> str:
    """The first line of ``text``, trimmed to `MAX_DETAIL_CHARS` at a word boundary."""
    lines = str(text).strip().splitlines()
    line = lines[0].strip() if lines else ""
    if len(line) <= MAX_DETAIL_CHARS:
        return line
    return line[: MAX_DETAIL_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


def _sentence(text: str) -> str:
    """``text`` with a capital first letter."""
    return text[:1].upper() + text[1:]


def working_text(seconds: float) -> str:
    """``"Working… 3 s"``: shown while a request is in flight (whole seconds)."""
    return f"Working… {int(seconds)} s"


#: A wait for the client's own pace shorter than this (seconds) is shown as "Working…".
SHORT_PACE = 2.0


def waiting_text(wait: Wait | None, seconds: float) -> str:
    """The status line while a run is in flight: ``"Waiting 52 s: the service asked for a
    pause (rate limit)"`` while the client holds the request back (``wait``, from
    `Client.waiting`), else `working_text` (``seconds`` since Run)."""
    if wait is None or (wait.reason == "pace" and wait.seconds is not None
                        and wait.seconds < SHORT_PACE):
        return working_text(seconds)
    left = "" if wait.seconds is None else f" {math.ceil(wait.seconds)} s"
    why = {"pause": ": the service asked for a pause (rate limit)",
           "retry": ": the service asked to try again later (it will be sent again)",
           "pace": (" for the rate limit's next turn" if wait.seconds is not None
                    else " for another request to go out first (rate limit)")}[wait.reason]
    if wait.refused is not None:  # it went out once and was refused (walk 22b #4)
        return (f"Waiting{left}{why}. Refused with {wait.refused}, not charged; not sent again "
                "yet: Cancel spends nothing.")
    return f"Waiting{left}{why}. Not sent yet: Cancel spends nothing."


def retry_after_text(exc: APIStatusError) -> str:
    """``"The service asked for a pause of 600 s; it was not retried."`` for an error answer
    that named one (its ``Retry-After``), else ``""``."""
    try:
        after = retry_after(exc.response)
    except Exception:  # noqa: BLE001 - a response without headers names no pause
        return ""
    if after is None:
        return ""
    # `past_deadline` raised it at once (the wait was too long); else the retries ran out
    again = "; it was not retried" if "it was not retried" in str(exc) else ""
    return f" The service asked for a pause of {after:g} s{again}."


def done_kind(result: Result) -> str:
    """The status line's kind for a finished run: ``"warn"`` (amber, with a warning sign)
    when the answer is not as documented (``result.doubts``), else ``"done"`` (green)."""
    return "warn" if result.doubts else "done"


def done_text(result: Result, seconds: float, remaining: float | None = None, *,
              balance_unknown: bool = False) -> str:
    """``"Done in 1.2 s · 1 credit · 97 left · offline preview"``.

    ``seconds`` is the time from Run to the result; ``remaining`` the client's balance, the
    number the Studio's header shows: it wins over the result's own ``x-remaining-credits``
    (older when another tab's run answered meanwhile), which is used only when the client
    does not know. An answer not as documented (``result.doubts``: another size, a
    mislabelled type, credit headers that cannot be right) says so first: ``"Done in 1.2 s,
    but the answer is not as documented (see the note)"``. With ``balance_unknown`` (the
    client's `balance_doubt`: the server's last balance could not be right) and no figure,
    it says ``"balance unknown"``, never an older figure as if current.
    """
    parts = [f"Done in {seconds:.1f} s"]
    if result.doubts:
        parts[0] += ", but the answer is not as documented (see the note)"
    if result.from_cache:
        parts.append("from cache, no credit")
    elif result.credits_consumed is None:
        parts.append("credits not reported")
    else:
        parts.append(_plural(result.credits_consumed, "credit"))
    left = remaining if remaining is not None else result.remaining_credits
    if left is not None:
        parts.append(f"{left:g} left")
    elif balance_unknown:
        parts.append("balance unknown")
    if result.is_preview:
        parts.append("offline preview")
    return _SEP.join(parts)


def shown_text(result: Result) -> str:
    """``"Showing the result of 14:02:11 · 1 credit · offline preview"``: what the status line
    says when an earlier result is shown again from the history."""
    parts = [f"Showing the result of {time.strftime('%H:%M:%S', time.localtime(result.created))}"]
    if result.doubts:
        parts[0] += ", an answer not as documented (see the note)"
    if result.from_cache:
        parts.append("from cache, no credit")
    elif result.credits_consumed is not None:
        parts.append(_plural(result.credits_consumed, "credit"))
    if result.is_preview:
        parts.append("offline preview")
    return _SEP.join(parts)


def cancelled_text(seconds: float, *, sent: bool | None = None,
                   refused: int | None = None) -> str:
    """What Cancel leaves in the status line; ``sent=False`` once the client confirms the
    request never went out (``None``: not known yet), or, with ``refused`` (a status code),
    that it went out once, was refused with that status without a charge, and was not sent
    again (`CancelledError.refused`)."""
    if sent is False and refused is not None:
        return (f"Cancelled after {int(seconds)} s, before the request was sent again (it was "
                f"refused with {refused}, not charged): nothing was spent.")
    if sent is False:
        return f"Cancelled after {int(seconds)} s, before the request was sent: nothing was spent."
    return (f"Cancelled after {int(seconds)} s: if the request was already sent, the service "
            "may still charge for it, and its answer, if it comes, goes to the history.")


def late_text(result: Result, seconds: float) -> str:
    """What the status says when a cancelled run's answer arrives anyway (the request had
    gone out, so the service charged it): the paid result is kept in the history."""
    spent = result.credits_consumed
    paid = ("charged" if spent is None
            else f"charged {spent:g} credit{'' if spent == 1 else 's'}")
    return (f"Cancelled, but the request had gone out: its answer came after {int(seconds)} s "
            f"and was {paid}. It is kept in the history (not shown here): pick its card to "
            "see it.")


def earlier_text(result: Result) -> str:
    """What a failed run's status adds while an earlier result stays on the stage:
    ``"The picture shown is the earlier result, of 14:02:11 (Keep and Discard act on it)."``"""
    stamp = time.strftime("%H:%M:%S", time.localtime(result.created))
    return (f"The picture shown is the earlier result, of {stamp} (Keep and Discard act on "
            "it).")


def error_text(exc: BaseException) -> str:
    """One line saying what went wrong and what to do, never a traceback."""
    if isinstance(exc, InputError):
        return f"Not sent: {user_words(_detail(str(exc)))}."
    if isinstance(exc, BudgetExceededError):
        return f"Not sent: {_detail(str(exc))}."
    if isinstance(exc, APIStatusError):
        reason = _detail(exc.message) or "no reason given"
        advice = f" {exc.advice}" if exc.advice else ""
        pause = retry_after_text(exc) if isinstance(exc, RateLimitError) else ""
        return f"Failed ({exc.status_code}): {reason}.{pause}{advice}"
    if isinstance(exc, (APITimeoutError, APIConnectionError)):
        # The client's message is one sentence saying what failed and what to do.
        return f"{_sentence(_detail(str(exc)))}."
    if isinstance(exc, InvalidResponseError):
        return f"The answer was not a usable image: {_detail(str(exc))}."
    detail = _detail(str(exc))
    return f"Something went wrong ({type(exc).__name__}){': ' + detail if detail else ''}."


def notices_of(result: Result) -> tuple[str, ...]:
    """What the client changed before sending (an inverted sketch, a thresholded mask...)."""
    return tuple(str(n) for n in result.notices)
