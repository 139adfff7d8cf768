"""Notices for an answer that is a good image but not the one the endpoint table documents.

A 2xx whose body is not a readable image raises
[`InvalidResponseError`][clipdrop_widgets.InvalidResponseError] (`result_from_answer`); an image
that is readable but of another size or format than documented was paid for and may still be of
use, so it is kept and the difference is said, as for a credit header that cannot be true: a
[`ClipdropNotice`][clipdrop_widgets.ClipdropNotice], also kept on ``Result.notices`` and
``Result.doubts`` (the apps then show the result with a warning, not a plain "Done"). Checked,
all from the endpoint table: the size the documentation states (`Endpoint.stated_answer_size`:
the input's for cleanup, text inpainting, replace and remove background; upscale's target;
uncrop's extended frame), a type label that is not the image's, the type ``format=`` asked
for, and, with no ``format=``, an answer that cannot hold the transparency the documented
default type has (remove background's PNG answered as JPEG).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contract.endpoints import CONTENT_TYPE_FORMATS
from .notices import notify

if TYPE_CHECKING:
    from .client import PreparedCall
    from .result import Result

__all__ = ["answer_notices"]

_WITH_ALPHA = ("image/png", "image/webp")


def _words(content_type: str) -> str:
    return CONTENT_TYPE_FORMATS.get(content_type, content_type).upper()


def answer_notices(call: PreparedCall, result: Result, doubt: str | None, spent: float | None,
                   balance_doubt: str | None = None) -> tuple[str, ...]:
    """What is wrong with ``result`` for ``call`` (plus ``doubt``, the charge header's notice,
    and ``balance_doubt``, the balance header's), each shown as a notice and kept on
    ``result.doubts``; a doubted charge is counted as ``spent`` on the result, a doubted
    balance is not kept on it."""
    ep, found = call.endpoint, []
    if doubt is not None:  # not believed: the result says what was counted
        found.append(doubt)
        result.credits_consumed = spent
    if balance_doubt is not None:
        found.append(balance_doubt)
        result.remaining_credits = None
    found.extend(result.doubts)  # a mislabelled type, found reading the image
    image = call.files.get(ep.image_field.name) if ep.image_field is not None else None
    want = ep.stated_answer_size(call.texts, image.facts.size if image is not None else None)
    if want is not None and result.size != want:
        asked = "of the image sent" if ep.output_size == "input" else "this call asks for"
        found.append(f"{ep.name}: the server answered a {result.size[0]}x{result.size[1]} "
                     f"image, not the {want[0]}x{want[1]} {asked}")
    got = result.content_type
    if call.accept is not None and got != call.accept:
        found.append(f"{ep.name}: the server answered {_words(got)}, not the "
                     f"{_words(call.accept)} asked for with format=")
    elif (call.accept is None and ep.output_content_type in _WITH_ALPHA
          and got not in _WITH_ALPHA):
        found.append(f"{ep.name}: the server answered {_words(got)}, which has no "
                     f"transparency, not the documented {_words(ep.output_content_type)}")
    for message in found:
        notify(message)
    result.doubts = tuple(found)
    return tuple(found)
